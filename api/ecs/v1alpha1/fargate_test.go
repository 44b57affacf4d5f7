package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/nodeless-dev/nodeless/config/crd"
	"github.com/nodeless-dev/nodeless/internal/tasksize"
)

// fargateRuleMessage starts the message of TaskDefinitionSpec's rule on cpu/memory pairs.
const fargateRuleMessage = "cpu/memory is not a Fargate size"

// TestFargateRuleMatchesTable evaluates the CEL rules of the generated TaskDefinition CRD (as the
// API server would, with the apiextensions-apiserver validator) over a grid of cpu/memory pairs,
// and holds the set it accepts equal to the data plane's Fargate table (package tasksize): the
// rule and the table are two encodings of one ECS rule, and must not drift apart.
func TestFargateRuleMatchesTable(t *testing.T) {
	validator, structural := specValidator(t)
	cpus, memories := grid()
	checked := 0
	for _, cpu := range cpus {
		for _, mem := range memories {
			spec := map[string]any{"cpu": fmt.Sprint(cpu), "memory": fmt.Sprint(mem), "requiresCompatibilities": []any{"FARGATE"}}
			errs, _ := validator.Validate(context.Background(), field.NewPath("spec"), structural, spec, nil, celconfig.RuntimeCELCostBudget)
			accepted := true
			for _, e := range errs {
				if !strings.Contains(e.Error(), fargateRuleMessage) {
					t.Fatalf("cpu %d memory %d: an unexpected error from the CRD's rules: %v", cpu, mem, e)
				}
				accepted = false
			}
			if want := tasksize.IsFargate(cpu, mem); accepted != want {
				t.Errorf("cpu %d memory %d: the CRD's CEL rule accepts it: %v; the Fargate table: %v", cpu, mem, accepted, want)
			}
			checked++
		}
	}
	t.Logf("%d cpu/memory pairs checked", checked)
}

// TestFargateRuleOnlyForFargate: without FARGATE in requiresCompatibilities any size is accepted.
func TestFargateRuleOnlyForFargate(t *testing.T) {
	validator, structural := specValidator(t)
	spec := map[string]any{"cpu": "300", "memory": "700", "requiresCompatibilities": []any{"EC2"}}
	if errs, _ := validator.Validate(context.Background(), field.NewPath("spec"), structural, spec, nil, celconfig.RuntimeCELCostBudget); len(errs) > 0 {
		t.Errorf("a task definition without FARGATE was refused: %v", errs)
	}
}

// grid is the cpu and memory values worth asking about: every Fargate cpu value and its neighbours
// (±1, ±128 units), a sweep of vCPU multiples beyond the largest; every multiple of 512 MiB up to
// beyond the largest size, and every Fargate memory value's neighbours (±1 MiB).
func grid() (cpus, memories []int) {
	cpuSet, memSet := map[int]bool{128: true}, map[int]bool{}
	for c := 1024; c <= 20480; c += 1024 {
		cpuSet[c] = true
	}
	for m := 512; m <= 131072; m += 512 {
		memSet[m] = true
	}
	for _, c := range tasksize.FargateCPUs() {
		for _, d := range []int{-128, -1, 0, 1, 128} {
			cpuSet[c+d] = true
		}
		for _, m := range tasksize.FargateMemories(c) {
			memSet[m-1], memSet[m+1] = true, true
		}
	}
	for c := range cpuSet {
		cpus = append(cpus, c)
	}
	for m := range memSet {
		memories = append(memories, m)
	}
	return cpus, memories
}

// specValidator compiles the CRD's rule on Fargate sizes as the generated TaskDefinition CRD holds
// it, over the members it reads (the other rules and members are left out: evaluating them 60,000
// times would only slow the test).
func specValidator(t *testing.T) (*cel.Validator, *schema.Structural) {
	t.Helper()
	crds, err := crd.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range crds {
		if c.Spec.Names.Kind != "TaskDefinition" {
			continue
		}
		spec, ok := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
		if !ok {
			t.Fatal("the TaskDefinition CRD has no spec schema")
		}
		spec = fargateRuleOnly(t, spec)
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&spec, &internal, nil); err != nil {
			t.Fatal(err)
		}
		structural, err := schema.NewStructural(&internal)
		if err != nil {
			t.Fatal(err)
		}
		v := cel.NewValidator(structural, false, celconfig.PerCallLimit)
		if v == nil {
			t.Fatal("the TaskDefinition spec schema has no CEL rules")
		}
		return v, structural
	}
	t.Fatal("no TaskDefinition CRD among the generated CRDs")
	return nil, nil
}

// fargateRuleOnly keeps, of the spec schema, the Fargate size rule and the members it reads.
func fargateRuleOnly(t *testing.T, spec apiextensionsv1.JSONSchemaProps) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	out := spec
	out.XValidations = nil
	for _, rule := range spec.XValidations {
		if strings.HasPrefix(rule.Message, fargateRuleMessage) {
			out.XValidations = append(out.XValidations, rule)
		}
	}
	if len(out.XValidations) != 1 {
		t.Fatalf("the TaskDefinition spec has %d rules with message %q, want 1", len(out.XValidations), fargateRuleMessage)
	}
	out.Required = nil
	out.Properties = map[string]apiextensionsv1.JSONSchemaProps{}
	for _, member := range []string{"cpu", "memory", "requiresCompatibilities"} {
		p, ok := spec.Properties[member]
		if !ok {
			t.Fatalf("the TaskDefinition spec has no member %s", member)
		}
		out.Properties[member] = p
	}
	return out
}
