package spectest

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/nodeless-dev/nodeless/config/crd"
)

// RefusedByCRD reports whether the CRD of kind (as config/crd embeds it) has a validation rule
// whose message says that member "cannot change": the API server refuses the change before any
// controller sees it.
func RefusedByCRD(t testing.TB, kind, member string) bool {
	t.Helper()
	for _, msg := range ruleMessages(t, kind) {
		if strings.Contains(msg, member) && strings.Contains(msg, "cannot change") {
			return true
		}
	}
	return false
}

// ruleMessages returns the message of every CEL rule of kind's CRD, at any depth of its schema.
func ruleMessages(t testing.TB, kind string) []string {
	t.Helper()
	crds, err := crd.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range crds {
		if c.Spec.Names.Kind != kind {
			continue
		}
		for _, v := range c.Spec.Versions {
			if v.Schema != nil {
				collectRules(v.Schema.OpenAPIV3Schema, &out)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no CRD of kind %s with validation rules", kind)
	}
	return out
}

func collectRules(s *apiextensionsv1.JSONSchemaProps, out *[]string) {
	if s == nil {
		return
	}
	for _, r := range s.XValidations {
		*out = append(*out, r.Message)
	}
	for _, p := range s.Properties {
		collectRules(&p, out)
	}
	if s.Items != nil {
		collectRules(s.Items.Schema, out)
	}
}
