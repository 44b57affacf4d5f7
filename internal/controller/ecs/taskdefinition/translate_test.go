package taskdefinition

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

var sdkTypes = cmp.Exporter(func(reflect.Type) bool { return true })

func TestRegisterInput(t *testing.T) {
	hashTag := ecstypes.Tag{Key: aws.String(ecscall.TagSpecHash), Value: aws.String("h")}
	tests := []struct {
		name string
		td   *ecsv1alpha1.TaskDefinition
		want *ecs.RegisterTaskDefinitionInput
	}{
		{
			name: "minimal: family from the name, essential by default",
			td: &ecsv1alpha1.TaskDefinition{
				ObjectMeta: metav1.ObjectMeta{Name: "web"},
				Spec: ecsv1alpha1.TaskDefinitionSpec{
					ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "app", Image: "nginx"}},
				},
			},
			want: &ecs.RegisterTaskDefinitionInput{
				Family: aws.String("web"),
				ContainerDefinitions: []ecstypes.ContainerDefinition{{
					Name: aws.String("app"), Image: aws.String("nginx"), Essential: aws.Bool(true),
				}},
				Tags: []ecstypes.Tag{hashTag},
			},
		},
		{
			name: "full",
			td: &ecsv1alpha1.TaskDefinition{
				ObjectMeta: metav1.ObjectMeta{Name: "web"},
				Spec: ecsv1alpha1.TaskDefinitionSpec{
					Family: "web-family", Cpu: "512", Memory: "1024", NetworkMode: "awsvpc",
					RequiresCompatibilities: []string{"FARGATE"}, ExecutionRoleArn: "arn:exec", TaskRoleArn: "arn:task",
					RuntimePlatform:  &ecsv1alpha1.RuntimePlatform{CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX"},
					EphemeralStorage: &ecsv1alpha1.EphemeralStorage{SizeInGiB: 30},
					Volumes:          []ecsv1alpha1.Volume{{Name: "scratch"}},
					Tags:             []ecsv1alpha1.Tag{{Key: "team", Value: "a"}},
					ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{
						Name: "app", Image: "nginx", Cpu: 256, Memory: aws.Int32(512), Essential: aws.Bool(false),
						EntryPoint: []string{"/bin/sh"}, Command: []string{"-c", "run"}, WorkingDirectory: "/srv",
						Environment:      []ecsv1alpha1.KeyValuePair{{Name: "A", Value: "1"}},
						Secrets:          []ecsv1alpha1.Secret{{Name: "S", ValueFrom: "arn:secret"}},
						PortMappings:     []ecsv1alpha1.PortMapping{{ContainerPort: 80, Protocol: "tcp", Name: "http", AppProtocol: "http"}},
						HealthCheck:      &ecsv1alpha1.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(10)},
						DependsOn:        []ecsv1alpha1.ContainerDependency{{ContainerName: "init", Condition: "SUCCESS"}},
						MountPoints:      []ecsv1alpha1.MountPoint{{SourceVolume: "scratch", ContainerPath: "/tmp"}},
						LogConfiguration: &ecsv1alpha1.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-group": "g"}},
						StopTimeout:      aws.Int32(30),
					}},
				},
			},
			want: &ecs.RegisterTaskDefinitionInput{
				Family: aws.String("web-family"), Cpu: aws.String("512"), Memory: aws.String("1024"),
				NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
				ExecutionRoleArn: aws.String("arn:exec"), TaskRoleArn: aws.String("arn:task"),
				RuntimePlatform:  &ecstypes.RuntimePlatform{CpuArchitecture: ecstypes.CPUArchitectureArm64, OperatingSystemFamily: ecstypes.OSFamilyLinux},
				EphemeralStorage: &ecstypes.EphemeralStorage{SizeInGiB: 30},
				Volumes:          []ecstypes.Volume{{Name: aws.String("scratch")}},
				Tags:             []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}, hashTag},
				ContainerDefinitions: []ecstypes.ContainerDefinition{{
					Name: aws.String("app"), Image: aws.String("nginx"), Cpu: 256, Memory: aws.Int32(512), Essential: aws.Bool(false),
					EntryPoint: []string{"/bin/sh"}, Command: []string{"-c", "run"}, WorkingDirectory: aws.String("/srv"),
					Environment: []ecstypes.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}},
					Secrets:     []ecstypes.Secret{{Name: aws.String("S"), ValueFrom: aws.String("arn:secret")}},
					PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(80), Protocol: ecstypes.TransportProtocolTcp,
						Name: aws.String("http"), AppProtocol: ecstypes.ApplicationProtocolHttp}},
					HealthCheck:      &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(10)},
					DependsOn:        []ecstypes.ContainerDependency{{ContainerName: aws.String("init"), Condition: ecstypes.ContainerConditionSuccess}},
					MountPoints:      []ecstypes.MountPoint{{SourceVolume: aws.String("scratch"), ContainerPath: aws.String("/tmp")}},
					LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g"}},
					StopTimeout:      aws.Int32(30),
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, RegisterInput(tt.td, "h"), sdkTypes); diff != "" {
				t.Errorf("RegisterInput (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpecHashStable(t *testing.T) {
	a := newTD("web", "nginx:1")
	b := newTD("web", "nginx:1")
	b.Status.Revision = 7
	b.Labels = map[string]string{"x": "y"}
	ha, _ := SpecHash(&a.Spec)
	hb, _ := SpecHash(&b.Spec)
	if ha != hb {
		t.Errorf("hash depends on more than the spec: %s != %s", ha, hb)
	}
	b.Spec.Tags = []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}
	if ht, _ := SpecHash(&b.Spec); ht != ha {
		t.Error("hash changed with the tags, which ECS changes in place")
	}
	if hl, _ := legacySpecHash(&a.Spec); hl != ha {
		t.Error("without tags, the legacy hash differs from the current one: every revision would be re-keyed")
	}
	b.Spec.ContainerDefinitions[0].Image = "nginx:2"
	if hc, _ := SpecHash(&b.Spec); hc == ha {
		t.Error("hash did not change with the image")
	}
}
