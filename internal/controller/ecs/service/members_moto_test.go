package service

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestServiceMembersMoto: CreateService carries capacityProviderStrategy, placement,
// serviceRegistries, the deployment controller and deployment alarms as moto_server decodes them;
// the members moto reports back keep a Service at rest (no UpdateService over resyncs); a strategy
// change is one UpdateService.
func TestServiceMembersMoto(t *testing.T) {
	env := startMoto(t, 1)
	r := env.reconciler()
	svc := newService("members", env.arns[0])
	svc.Spec.LaunchType = "" // with a capacity provider strategy, ECS wants no launch type
	svc.Spec.ServiceMembers = ecsv1alpha1.ServiceMembers{
		CapacityProviderStrategy: []ecsv1alpha1.CapacityProviderStrategyItem{
			{CapacityProvider: "FARGATE", Base: aws.Int32(1), Weight: aws.Int32(1)}, {CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(3)}},
		PlacementConstraints: []ecsv1alpha1.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.availability-zone in [us-east-1a]"}},
		PlacementStrategy:    []ecsv1alpha1.PlacementStrategy{{Type: "spread", Field: "attribute:ecs.availability-zone"}},
		ServiceRegistries:    []ecsv1alpha1.ServiceRegistry{{RegistryArn: "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1"}},
		DeploymentController: &ecsv1alpha1.DeploymentController{Type: "ECS"},
	}
	svc.Spec.DeploymentConfiguration = &ecsv1alpha1.DeploymentConfiguration{
		Alarms: &ecsv1alpha1.DeploymentAlarms{AlarmNames: []string{"errors"}, Enable: true, Rollback: true}}

	syncN(t, r, svc, 1)
	if got := env.api.Count(ecsapi.OpCreateService); got != 1 {
		t.Fatalf("CreateService calls = %d, want 1 (%v)", got, env.api.Calls())
	}
	out, err := env.api.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"members"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	got := out.Services[0]
	// moto_server decodes all of them but reports back only serviceRegistries and the deployment
	// controller (no capacityProviderStrategy, placement or deploymentConfiguration): the members
	// it leaves out would be sent again against it, and only against it (ECS reports them).
	if len(got.ServiceRegistries) != 1 {
		t.Errorf("moto reports serviceRegistries %+v", got.ServiceRegistries)
	}
	t.Logf("moto reports capacityProviderStrategy %+v, placementConstraints %+v, placementStrategy %+v, deploymentController %+v, alarms %+v",
		got.CapacityProviderStrategy, got.PlacementConstraints, got.PlacementStrategy, got.DeploymentController, got.DeploymentConfiguration)

	// At rest with the members moto reports back: no write.
	rest := newService("rest", env.arns[0])
	rest.Spec.ServiceMembers = ecsv1alpha1.ServiceMembers{
		ServiceRegistries:    svc.Spec.ServiceRegistries,
		DeploymentController: svc.Spec.DeploymentController,
	}
	syncN(t, r, rest, 1)
	env.api.Reset()
	r = env.reconciler() // an empty poller: the comparison runs against what moto reports
	syncN(t, r, rest, 5)
	if w := env.api.Writes(); w != 0 {
		t.Errorf("at rest: %d writes (%v), want 0: a member moto reports back differs from the spec", w, env.api.Calls())
	}

	env.api.Reset()
	svc.Spec.CapacityProviderStrategy = []ecsv1alpha1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(1)}}
	syncN(t, r, svc, 3)
	if diff := cmp.Diff(map[string]int{ecsapi.OpDescribeServices: 1, ecsapi.OpUpdateService: 1}, env.api.Calls()); diff != "" {
		t.Errorf("calls for a strategy change (-want +got):\n%s", diff)
	}
}
