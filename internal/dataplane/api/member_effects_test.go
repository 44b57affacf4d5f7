package api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// TestMemberEffects covers the members the member walk (TestEveryInputMemberTakesEffectOrIsRefused)
// found without a test of their own: each is stored and shown, filters, or is refused by name for
// the values the local data plane cannot honour.
func TestMemberEffects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))

	t.Run("CreateCluster capacityProviders", func(t *testing.T) {
		out := must[*ecs.CreateClusterOutput](t)(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{
			ClusterName: aws.String("cp"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"}}))
		if diff := cmp.Diff([]string{"FARGATE", "FARGATE_SPOT"}, out.Cluster.CapacityProviders); diff != "" {
			t.Errorf("capacityProviders (-want +got):\n%s", diff)
		}
		_, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ec2"), CapacityProviders: []string{"my-asg"}})
		wantAPIError(t, err, "InvalidParameterException", "capacityProviders[0]")
	})
	t.Run("CreateService deploymentController", func(t *testing.T) {
		_, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("cd"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0),
			DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy}})
		wantAPIError(t, err, "InvalidParameterException", "deploymentController")
	})
	t.Run("enableExecuteCommand on services", func(t *testing.T) {
		_, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("exec"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0),
			EnableExecuteCommand: true})
		wantAPIError(t, err, "InvalidParameterException", "enableExecuteCommand")
		createWeb(t, e, "plain", 0)
		_, err = e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("plain"), EnableExecuteCommand: aws.Bool(true)})
		wantAPIError(t, err, "InvalidParameterException", "enableExecuteCommand")
	})
	t.Run("ListServices launchType and schedulingStrategy", func(t *testing.T) {
		for _, tc := range []struct {
			in   ecs.ListServicesInput
			want int
		}{
			{ecs.ListServicesInput{LaunchType: ecstypes.LaunchTypeFargate}, 1},
			{ecs.ListServicesInput{SchedulingStrategy: ecstypes.SchedulingStrategyReplica}, 1},
			{ecs.ListServicesInput{SchedulingStrategy: ecstypes.SchedulingStrategyDaemon}, 0},
		} {
			out := must[*ecs.ListServicesOutput](t)(e.ecs.ListServices(ctx, &tc.in))
			if len(out.ServiceArns) != tc.want {
				t.Errorf("ListServices launchType %q schedulingStrategy %q: %v, want %d", tc.in.LaunchType, tc.in.SchedulingStrategy, out.ServiceArns, tc.want)
			}
		}
		_, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{LaunchType: ecstypes.LaunchTypeEc2})
		wantAPIError(t, err, "InvalidParameterException", "launchType")
	})
	t.Run("RegisterTaskDefinition volumesFrom", func(t *testing.T) {
		in := web("vf")
		in.ContainerDefinitions[1].VolumesFrom = []ecstypes.VolumeFrom{{SourceContainer: aws.String("app"), ReadOnly: aws.Bool(true)}}
		_, err := e.ecs.RegisterTaskDefinition(ctx, in)
		wantAPIError(t, err, "InvalidParameterException", "containerDefinitions[1].volumesFrom", "mountPoints")
	})
	t.Run("awsvpcConfiguration securityGroups", func(t *testing.T) {
		out := must[*ecs.CreateServiceOutput](t)(e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("sg"),
			TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
				Subnets: []string{"local"}, SecurityGroups: []string{"sg-1"}}}}))
		got := out.Service.Deployments[0].NetworkConfiguration.AwsvpcConfiguration.SecurityGroups
		if diff := cmp.Diff([]string{"sg-1"}, got); diff != "" {
			t.Errorf("the deployment's securityGroups (-want +got):\n%s", diff)
		}
	})
}
