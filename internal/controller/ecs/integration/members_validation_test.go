package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// TestInvalidMembersRefused: the rules of members_*_types.go are the API server's: a capacity
// provider strategy with a launch type, two bases or no weight, a capability spelled with CAP_,
// an unknown ulimit, refused with a message naming the member.
func TestInvalidMembersRefused(t *testing.T) {
	c, env := kube(t)
	ctx := context.Background()
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: env.Namespace} }
	item := func(p string, weight, base int32) ecsv1alpha1.CapacityProviderStrategyItem {
		return ecsv1alpha1.CapacityProviderStrategyItem{CapacityProvider: p, Weight: aws.Int32(weight), Base: aws.Int32(base)}
	}
	service := func(name, lt string, items ...ecsv1alpha1.CapacityProviderStrategyItem) *ecsv1alpha1.Service {
		return &ecsv1alpha1.Service{ObjectMeta: meta(name), Spec: ecsv1alpha1.ServiceSpec{TaskDefinition: "web", LaunchType: lt,
			ServiceMembers: ecsv1alpha1.ServiceMembers{CapacityProviderStrategy: items}}}
	}
	td := func(name string, cd ecsv1alpha1.ContainerMembers) *ecsv1alpha1.TaskDefinition {
		return &ecsv1alpha1.TaskDefinition{ObjectMeta: meta(name), Spec: ecsv1alpha1.TaskDefinitionSpec{
			ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "app", Image: "nginx", ContainerMembers: cd}}}}
	}
	for _, tc := range []struct {
		name  string
		obj   client.Object
		parts []string
	}{
		{"strategy and launch type", service("both", "FARGATE", item("FARGATE", 1, 0)), []string{"launchType and capacityProviderStrategy"}},
		{"two bases", service("bases", "", item("FARGATE", 1, 1), item("FARGATE_SPOT", 1, 1)), []string{"only one capacity provider can have a base"}},
		{"no weight", service("weightless", "", item("FARGATE", 0, 1)), []string{"weight greater than 0"}},
		{"task strategy and launch type", &ecsv1alpha1.Task{ObjectMeta: meta("task-both"), Spec: ecsv1alpha1.TaskSpec{TaskDefinition: "web", LaunchType: "FARGATE",
			TaskMembers: ecsv1alpha1.TaskMembers{CapacityProviderStrategy: []ecsv1alpha1.CapacityProviderStrategyItem{item("FARGATE_SPOT", 1, 0)}}}},
			[]string{"launchType and capacityProviderStrategy"}},
		{"weight out of range", service("heavy", "", item("FARGATE", 1001, 0)), []string{"capacityProviderStrategy[0].weight"}},
		{"capability with CAP_", td("cap", ecsv1alpha1.ContainerMembers{LinuxParameters: &ecsv1alpha1.LinuxParameters{
			Capabilities: &ecsv1alpha1.KernelCapabilities{Add: []string{"CAP_SYS_PTRACE"}}}}), []string{"linuxParameters.capabilities.add[0]"}},
		{"unknown ulimit", td("ulimit", ecsv1alpha1.ContainerMembers{Ulimits: []ecsv1alpha1.Ulimit{{Name: "files", SoftLimit: 1, HardLimit: 1}}}),
			[]string{"ulimits[0].name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Create(ctx, tc.obj)
			if err == nil {
				t.Fatalf("created; want it refused naming %v", tc.parts)
			}
			for _, p := range tc.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("the refusal %q does not say %q", err, p)
				}
			}
		})
	}
}
