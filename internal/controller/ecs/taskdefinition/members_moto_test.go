package taskdefinition

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

// TestMembersMoto: RegisterTaskDefinition carries every member of members_taskdefinition_types.go
// (proxyConfiguration, placementConstraints, repositoryCredentials, firelensConfiguration,
// linuxParameters, ulimits, logConfiguration secretOptions, EFS volumes) as moto_server decodes
// them, and DescribeTaskDefinition gives them back as registered.
func TestMembersMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	td := newTD("members", "registry.example.com/private/app:1")
	td.Spec.ProxyConfiguration = &ecsv1alpha1.ProxyConfiguration{Type: "APPMESH", ContainerName: "envoy",
		Properties: []ecsv1alpha1.KeyValuePair{{Name: "AppPorts", Value: "8080"}, {Name: "IgnoredUID", Value: "1337"}}}
	td.Spec.PlacementConstraints = []ecsv1alpha1.TaskDefinitionPlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.os-type == linux"}}
	td.Spec.Volumes = []ecsv1alpha1.Volume{{Name: "shared", VolumeMembers: ecsv1alpha1.VolumeMembers{EfsVolumeConfiguration: &ecsv1alpha1.EFSVolumeConfiguration{
		FileSystemId: "fs-12345678", RootDirectory: "/", TransitEncryption: "ENABLED",
		AuthorizationConfig: &ecsv1alpha1.EFSAuthorizationConfig{AccessPointId: "fsap-1", IAM: "ENABLED"}}}}}
	app := &td.Spec.ContainerDefinitions[0]
	app.RepositoryCredentials = &ecsv1alpha1.RepositoryCredentials{CredentialsParameter: "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf"}
	app.LinuxParameters = &ecsv1alpha1.LinuxParameters{Capabilities: &ecsv1alpha1.KernelCapabilities{Add: []string{"SYS_PTRACE"}}, InitProcessEnabled: aws.Bool(true)}
	app.Ulimits = []ecsv1alpha1.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 4096}}
	app.SystemControls = []ecsv1alpha1.SystemControl{{Namespace: "net.ipv4.tcp_keepalive_time", Value: "60"}}
	app.EnvironmentFiles = []ecsv1alpha1.EnvironmentFile{{Value: "arn:aws:s3:::bucket/app.env", Type: "s3"}}
	app.RestartPolicy = &ecsv1alpha1.ContainerRestartPolicy{Enabled: true, IgnoredExitCodes: []int32{0}, RestartAttemptPeriod: aws.Int32(60)}
	app.LogConfiguration = &ecsv1alpha1.LogConfiguration{LogDriver: "awsfirelens", Options: map[string]string{"Name": "splunk"},
		SecretOptions: []ecsv1alpha1.Secret{{Name: "splunk_token", ValueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk-AbCdEf"}}}
	td.Spec.ContainerDefinitions = append(td.Spec.ContainerDefinitions, ecsv1alpha1.ContainerDefinition{Name: "log-router", Image: "fluent-bit:1",
		ContainerMembers: ecsv1alpha1.ContainerMembers{FirelensConfiguration: &ecsv1alpha1.FirelensConfiguration{Type: "fluentbit",
			Options: map[string]string{"enable-ecs-log-metadata": "true"}}}})

	in := RegisterInput(td, "h")
	if _, err := api.RegisterTaskDefinition(context.Background(), in); err != nil {
		t.Fatalf("RegisterTaskDefinition with every member: %v", err)
	}
	out, err := api.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td.FamilyName())})
	if err != nil {
		t.Fatal(err)
	}
	got := out.TaskDefinition
	opts := cmp.Options{sdkTypes}
	if diff := cmp.Diff(in.ProxyConfiguration, got.ProxyConfiguration, opts); diff != "" {
		t.Errorf("proxyConfiguration (-sent +described):\n%s", diff)
	}
	if diff := cmp.Diff(in.Volumes, got.Volumes, opts); diff != "" {
		t.Errorf("volumes (-sent +described):\n%s", diff)
	}
	for i, want := range in.ContainerDefinitions {
		g := got.ContainerDefinitions[i]
		for name, pair := range map[string][2]any{
			"repositoryCredentials": {want.RepositoryCredentials, g.RepositoryCredentials},
			"linuxParameters":       {want.LinuxParameters, g.LinuxParameters},
			"ulimits":               {want.Ulimits, g.Ulimits},
			"logConfiguration":      {want.LogConfiguration, g.LogConfiguration},
			"firelensConfiguration": {want.FirelensConfiguration, g.FirelensConfiguration},
			"systemControls":        {want.SystemControls, g.SystemControls},
			"environmentFiles":      {want.EnvironmentFiles, g.EnvironmentFiles},
		} {
			if diff := cmp.Diff(pair[0], pair[1], opts); diff != "" {
				t.Errorf("containerDefinitions[%d].%s (-sent +described):\n%s", i, name, diff)
			}
		}
	}
	if len(got.PlacementConstraints) != 1 || got.PlacementConstraints[0].Type != ecstypes.TaskDefinitionPlacementConstraintTypeMemberOf {
		t.Errorf("placementConstraints described as %+v", got.PlacementConstraints)
	}
}
