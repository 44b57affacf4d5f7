package api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// TestLinuxParametersAndAlarms: linuxParameters are checked as Fargate checks them (only
// SYS_PTRACE added, package fargate's rule; capability names ECS knows), stored and shown; an init
// process, which the local data plane cannot run, is refused by name, and the LinuxParameters
// members Fargate does not support with Fargate's ClientException; deployment alarms are stored and shown turned off and refused turned on (no
// CloudWatch locally).
func TestLinuxParametersAndAlarms(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	withLinux := func(family string, lp *ecstypes.LinuxParameters) *ecs.RegisterTaskDefinitionInput {
		in := web(family)
		in.ContainerDefinitions[0].LinuxParameters = lp
		return in
	}
	t.Run("linuxParameters capabilities", func(t *testing.T) {
		lp := &ecstypes.LinuxParameters{Capabilities: &ecstypes.KernelCapabilities{Add: []string{"SYS_PTRACE"}, Drop: []string{"NET_RAW"}}, InitProcessEnabled: aws.Bool(false)}
		out := must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, withLinux("caps", lp)))
		if diff := cmp.Diff(lp, out.TaskDefinition.ContainerDefinitions[0].LinuxParameters, sdkTypes); diff != "" {
			t.Errorf("linuxParameters as shown (-want +got):\n%s", diff)
		}
		for _, tc := range []struct {
			lp   *ecstypes.LinuxParameters
			code string
			want []string
		}{
			{&ecstypes.LinuxParameters{Capabilities: &ecstypes.KernelCapabilities{Add: []string{"NET_ADMIN"}}}, "ClientException",
				[]string{"containerDefinitions[0].linuxParameters.capabilities.add[0]", "SYS_PTRACE"}},
			{&ecstypes.LinuxParameters{Capabilities: &ecstypes.KernelCapabilities{Drop: []string{"NET_FOO"}}}, "InvalidParameterException",
				[]string{"containerDefinitions[0].linuxParameters.capabilities.drop[0]", "not a Linux capability"}},
			{&ecstypes.LinuxParameters{InitProcessEnabled: aws.Bool(true)}, "InvalidParameterException",
				[]string{"containerDefinitions[0].linuxParameters.initProcessEnabled", "not supported"}},
			{&ecstypes.LinuxParameters{SharedMemorySize: aws.Int32(64)}, "ClientException",
				[]string{"containerDefinitions[0].linuxParameters.sharedMemorySize", "do not support"}},
		} {
			_, err := e.ecs.RegisterTaskDefinition(ctx, withLinux("refused", tc.lp))
			wantAPIError(t, err, tc.code, tc.want...)
		}
	})
	t.Run("deploymentConfiguration alarms", func(t *testing.T) {
		must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
		off := &ecstypes.DeploymentAlarms{AlarmNames: []string{"errors"}}
		svc := must[*ecs.CreateServiceOutput](t)(e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("alarms"), TaskDefinition: aws.String("web"),
			DesiredCount: aws.Int32(0), DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Alarms: off}})).Service
		if diff := cmp.Diff(off, svc.DeploymentConfiguration.Alarms, sdkTypes); diff != "" {
			t.Errorf("alarms as shown (-want +got):\n%s", diff)
		}
		_, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("alarms"),
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"errors"}, Enable: true, Rollback: true}}})
		wantAPIError(t, err, "InvalidParameterException", "deploymentConfiguration.alarms", "CloudWatch")
	})
}

// TestRefusedMembersSayWhy: the members users bring from Fargate that the local data plane
// cannot honour are refused naming them and saying why.
func TestRefusedMembersSayWhy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	efs := web("efs")
	efs.Volumes = []ecstypes.Volume{{Name: aws.String("shared"), EfsVolumeConfiguration: &ecstypes.EFSVolumeConfiguration{FileSystemId: aws.String("fs-1")}}}
	_, err := e.ecs.RegisterTaskDefinition(ctx, efs)
	wantAPIError(t, err, "InvalidParameterException", "volumes[0].efsVolumeConfiguration: not supported", "no Amazon EFS locally")
	firelens := web("firelens")
	firelens.ContainerDefinitions[1].FirelensConfiguration = &ecstypes.FirelensConfiguration{Type: ecstypes.FirelensConfigurationTypeFluentbit}
	_, err = e.ecs.RegisterTaskDefinition(ctx, firelens)
	wantAPIError(t, err, "InvalidParameterException", "containerDefinitions[1].firelensConfiguration: not supported", "FireLens")
	_, err = e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("sd"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0),
		ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1")}}})
	wantAPIError(t, err, "InvalidParameterException", "serviceRegistries[0].registryArn", "is not a Cloud Map service of the local data plane")
	_, err = e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), PlacementStrategy: []ecstypes.PlacementStrategy{{Type: ecstypes.PlacementStrategyTypeSpread}}})
	wantAPIError(t, err, "InvalidParameterException", "placementStrategy: not supported", "Fargate")
}
