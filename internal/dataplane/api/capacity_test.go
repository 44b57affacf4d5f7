package api_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// sdkTypes compares SDK values member by member.
var sdkTypes = cmp.Exporter(func(reflect.Type) bool { return true })

func strategyItem(provider string, weight, base int32) ecstypes.CapacityProviderStrategyItem {
	return ecstypes.CapacityProviderStrategyItem{CapacityProvider: aws.String(provider), Weight: weight, Base: base}
}

// providersOf is the capacityProviderName of each task, "" for none.
func providersOf(tasks []ecstypes.Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, aws.ToString(t.CapacityProviderName))
	}
	return out
}

// TestCapacityProviderStrategy: a capacityProviderStrategy of FARGATE / FARGATE_SPOT places RunTask's
// tasks by base and weight and each task reports its capacityProviderName; the cluster's
// defaultCapacityProviderStrategy (CreateCluster, PutClusterCapacityProviders) applies when a call
// names neither a strategy nor a launch type; a service shows its strategy and changes it in place
// (UpdateService, no new deployment); what ECS refuses is refused by name.
func TestCapacityProviderStrategy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	cl := must[*ecs.CreateClusterOutput](t)(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName: aws.String("spot"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE_SPOT", 1, 0)},
	}))
	if diff := cmp.Diff([]ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE_SPOT", 1, 0)}, cl.Cluster.DefaultCapacityProviderStrategy, sdkTypes); diff != "" {
		t.Errorf("the cluster's defaultCapacityProviderStrategy (-want +got):\n%s", diff)
	}

	t.Run("RunTask capacityProviderStrategy base and weight", func(t *testing.T) {
		out := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("spot"), TaskDefinition: aws.String("web"), Count: aws.Int32(4),
			CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE", 0, 1), strategyItem("FARGATE_SPOT", 1, 0)}}))
		if diff := cmp.Diff([]string{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE_SPOT"}, providersOf(out.Tasks)); diff != "" {
			t.Errorf("capacityProviderName of the tasks (-want +got):\n%s", diff)
		}
	})
	t.Run("the cluster's default strategy, and launchType instead", func(t *testing.T) {
		out := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("spot"), TaskDefinition: aws.String("web")}))
		if diff := cmp.Diff([]string{"FARGATE_SPOT"}, providersOf(out.Tasks)); diff != "" {
			t.Errorf("a task without strategy or launch type in a cluster with a default strategy (-want +got):\n%s", diff)
		}
		out = must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("spot"), TaskDefinition: aws.String("web"), LaunchType: ecstypes.LaunchTypeFargate}))
		if diff := cmp.Diff([]string{""}, providersOf(out.Tasks)); diff != "" || out.Tasks[0].LaunchType != ecstypes.LaunchTypeFargate {
			t.Errorf("a task of launchType FARGATE: providers %v, launchType %s", providersOf(out.Tasks), out.Tasks[0].LaunchType)
		}
	})
	t.Run("CreateService and UpdateService capacityProviderStrategy in place", func(t *testing.T) {
		spot := []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE_SPOT", 3, 0), strategyItem("FARGATE", 1, 1)}
		svc := must[*ecs.CreateServiceOutput](t)(e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("spot"),
			ServiceName: aws.String("s"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), CapacityProviderStrategy: spot})).Service
		if diff := cmp.Diff(spot, svc.CapacityProviderStrategy, sdkTypes); diff != "" || svc.LaunchType != "" {
			t.Errorf("the service's capacityProviderStrategy (-want +got):\n%s\nlaunchType %q, want none", diff, svc.LaunchType)
		}
		if diff := cmp.Diff(spot, svc.Deployments[0].CapacityProviderStrategy, sdkTypes); diff != "" {
			t.Errorf("the deployment's capacityProviderStrategy (-want +got):\n%s", diff)
		}
		onDemand := []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE", 1, 0)}
		up := must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("spot"), Service: aws.String("s"),
			CapacityProviderStrategy: onDemand})).Service
		if diff := cmp.Diff(onDemand, up.CapacityProviderStrategy, sdkTypes); diff != "" || len(up.Deployments) != 1 {
			t.Errorf("after UpdateService: capacityProviderStrategy (-want +got):\n%s\n%d deployments, want 1 (no new deployment)", diff, len(up.Deployments))
		}
		up = must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("spot"), Service: aws.String("s"),
			CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{}})).Service
		if up.CapacityProviderStrategy != nil || up.LaunchType != ecstypes.LaunchTypeFargate {
			t.Errorf("an empty capacityProviderStrategy: strategy %v, launchType %q; want none and FARGATE", up.CapacityProviderStrategy, up.LaunchType)
		}
	})
	t.Run("PutClusterCapacityProviders", func(t *testing.T) {
		must[*ecs.CreateClusterOutput](t)(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("later")}))
		_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("later"), TaskDefinition: aws.String("web"),
			CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE_SPOT", 1, 0)}})
		wantAPIError(t, err, "InvalidParameterException", "capacityProviderStrategy[0].capacityProvider", "not associated with the cluster")
		out := must[*ecs.PutClusterCapacityProvidersOutput](t)(e.ecs.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
			Cluster: aws.String("later"), CapacityProviders: []string{"FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE_SPOT", 1, 0)}}))
		if diff := cmp.Diff([]string{"FARGATE_SPOT"}, out.Cluster.CapacityProviders); diff != "" {
			t.Errorf("capacityProviders after PutClusterCapacityProviders (-want +got):\n%s", diff)
		}
		run := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("later"), TaskDefinition: aws.String("web")}))
		if diff := cmp.Diff([]string{"FARGATE_SPOT"}, providersOf(run.Tasks)); diff != "" {
			t.Errorf("a task after PutClusterCapacityProviders set the default strategy (-want +got):\n%s", diff)
		}
		must[*ecs.CreateServiceOutput](t)(e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("later"),
			ServiceName: aws.String("uses-spot"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0),
			CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE_SPOT", 1, 0)}}))
		_, err = e.ecs.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("later"),
			CapacityProviders: []string{"FARGATE"}, DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{}})
		wantAPIError(t, err, "ResourceInUseException", "FARGATE_SPOT", "uses-spot")
	})
	t.Run("refused by name", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			strategy []ecstypes.CapacityProviderStrategyItem
			lt       ecstypes.LaunchType
			want     []string
		}{
			{"with launchType", []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE", 1, 0)}, ecstypes.LaunchTypeFargate, []string{"capacityProviderStrategy", "launch type"}},
			{"an EC2 provider", []ecstypes.CapacityProviderStrategyItem{strategyItem("my-asg", 1, 0)}, "", []string{"capacityProviderStrategy[0]", "my-asg"}},
			{"two bases", []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE", 1, 1), strategyItem("FARGATE_SPOT", 1, 1)}, "", []string{"capacityProviderStrategy", "base"}},
			{"no weight", []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE", 0, 1)}, "", []string{"capacityProviderStrategy", "weight"}},
			{"twice", []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE", 1, 0), strategyItem("FARGATE", 1, 0)}, "", []string{"capacityProviderStrategy[1]", "twice"}},
		} {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("spot"), TaskDefinition: aws.String("web"), CapacityProviderStrategy: tc.strategy, LaunchType: tc.lt})
			wantAPIError(t, err, "InvalidParameterException", tc.want...)
			_, err = e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("spot"), ServiceName: aws.String("refused"),
				TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), CapacityProviderStrategy: tc.strategy, LaunchType: tc.lt})
			wantAPIError(t, err, "InvalidParameterException", tc.want...)
		}
		_, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bad-default"), CapacityProviders: []string{"FARGATE"},
			DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{strategyItem("FARGATE_SPOT", 1, 0)}})
		wantAPIError(t, err, "InvalidParameterException", "defaultCapacityProviderStrategy[0].capacityProvider", "not associated")
	})
}
