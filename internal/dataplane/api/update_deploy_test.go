package api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestUpdateServiceDeployments: an UpdateService that changes one member starts a new deployment
// exactly when the ECS model documents that member as one that "triggers a new service deployment"
// (UpdateServiceRequest, service-2.json of botocore 1.43.11; loadBalancers: "Amazon ECS starts new
// tasks"), and otherwise changes the service in place. Tags are not an UpdateService member:
// TagResource changes them in place (TestTagsInPlace).
func TestUpdateServiceDeployments(t *testing.T) {
	tests := []struct {
		member  string
		in      func(*ecs.UpdateServiceInput)
		deploys bool
	}{
		{"desiredCount", func(in *ecs.UpdateServiceInput) { in.DesiredCount = aws.Int32(2) }, false},
		{"deploymentConfiguration", func(in *ecs.UpdateServiceInput) {
			in.DeploymentConfiguration = &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(50)}
		}, false},
		{"healthCheckGracePeriodSeconds", func(in *ecs.UpdateServiceInput) { in.HealthCheckGracePeriodSeconds = aws.Int32(30) }, false},
		{"enableECSManagedTags", func(in *ecs.UpdateServiceInput) { in.EnableECSManagedTags = aws.Bool(true) }, false},
		{"propagateTags", func(in *ecs.UpdateServiceInput) { in.PropagateTags = ecstypes.PropagateTagsService }, false},
		{"taskDefinition", func(in *ecs.UpdateServiceInput) { in.TaskDefinition = aws.String("web:2") }, true},
		{"platformVersion", func(in *ecs.UpdateServiceInput) { in.PlatformVersion = aws.String("1.4.0") }, true},
		{"networkConfiguration", func(in *ecs.UpdateServiceInput) {
			in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"other"}}}
		}, true},
		{"loadBalancers", func(in *ecs.UpdateServiceInput) {
			in.LoadBalancers = []ecstypes.LoadBalancer{{ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080), TargetGroupArn: aws.String(testTargetGroupARN)}}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.member, func(t *testing.T) {
			e := newEnv(t)
			putTargetGroup(t, e.store)
			ctx := context.Background()
			must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
			svc := createWeb(t, e, "api", 1)
			must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
			// Unchanged values are no change: the same platform version, as ECS reports it.
			same := &ecs.UpdateServiceInput{Service: svc.ServiceArn, PlatformVersion: svc.PlatformVersion, PropagateTags: svc.PropagateTags}
			if out := must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, same)); len(out.Service.Deployments) != 1 {
				t.Fatalf("an update that changes nothing started a deployment: %d deployments", len(out.Service.Deployments))
			}
			in := &ecs.UpdateServiceInput{Service: svc.ServiceArn}
			tt.in(in)
			out := must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, in))
			want := 1
			if tt.deploys {
				want = 2
			}
			if got := len(out.Service.Deployments); got != want {
				t.Errorf("a change of %s: %d deployments, want %d (%s)", tt.member, got, want, map[bool]string{true: "ECS documents it as triggering a new deployment", false: "ECS changes it in place"}[tt.deploys])
			}
			if !tt.deploys && aws.ToString(out.Service.Deployments[0].Id) != aws.ToString(svc.Deployments[0].Id) {
				t.Errorf("a change of %s replaced the deployment", tt.member)
			}
		})
	}
}
