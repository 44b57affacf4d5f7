package taskdefinition

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/client-go/tools/record"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// TestClusterRevisionsMoto drives the cluster revisions against moto_server through the real
// SDK: a cluster's defaults register one revision, tagged with the cluster, carrying the
// Cluster's execution role and log group where the spec leaves them out (the flags' otherwise);
// it is found again rather than registered twice, also for a second cluster with the same
// defaults; and a controller that lost the status (a restart) finds the object's own newest
// revision past the cluster's, newer, one (revision.NewestOwn) instead of registering it again.
func TestClusterRevisionsMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	flags := fargate.Defaults{ExecutionRoleArn: "arn:aws:iam::123456789012:role/flag", LogGroup: "/flag"}
	r := &Reconciler{ECS: api, Recorder: record.NewFakeRecorder(100), Options: managed.Options{Defaults: flags}.WithDefaults()}
	ctx := context.Background()
	td := newTD("web", "nginx:1")
	td.Spec.ContainerDefinitions[0].LogConfiguration = &ecsv1alpha1.LogConfiguration{LogDriver: "awslogs"}
	if p := r.Sync(ctx, td); p != nil {
		t.Fatal(p)
	}
	base, hash := td.Status.TaskDefinitionArn, td.Status.SpecHash

	d := fargate.Defaults{ExecutionRoleArn: "arn:aws:iam::123456789012:role/prod"}
	cr, p := r.clusterRevision(ctx, td, "prod", d, hash)
	if p != nil {
		t.Fatal(p)
	}
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(cr.TaskDefinitionArn),
		Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	got := [3]string{aws.ToString(out.TaskDefinition.ExecutionRoleArn), out.TaskDefinition.ContainerDefinitions[0].LogConfiguration.Options["awslogs-group"],
		ecscall.TagValue(out.Tags, ecscall.TagCluster)}
	if want := [3]string{d.ExecutionRoleArn, "/flag", "prod"}; got != want || cr.TaskDefinitionArn == base {
		t.Errorf("Cluster prod's revision %s: executionRoleArn, awslogs-group, cluster tag = %q, want %q (and not the newest revision %s)", cr.TaskDefinitionArn, got, want, base)
	}

	api.Reset()
	again, p := r.clusterRevision(ctx, td, "prod", d, hash)
	if p != nil {
		t.Fatal(p)
	}
	other, p := r.clusterRevision(ctx, td, "staging", d, hash)
	if p != nil {
		t.Fatal(p)
	}
	if again.TaskDefinitionArn != cr.TaskDefinitionArn || other.TaskDefinitionArn != cr.TaskDefinitionArn {
		t.Errorf("the same defaults again, and in another cluster: %s and %s, want %s", again.TaskDefinitionArn, other.TaskDefinitionArn, cr.TaskDefinitionArn)
	}

	td.Status = ecsv1alpha1.TaskDefinitionStatus{} // a restart that lost the status
	if p := r.Sync(ctx, td); p != nil {
		t.Fatal(p)
	}
	if td.Status.TaskDefinitionArn != base {
		t.Errorf("after losing the status the newest revision is %s, want %s again", td.Status.TaskDefinitionArn, base)
	}
	if n := api.Count(ecsapi.OpRegisterTaskDefinition); n != 0 {
		t.Errorf("RegisterTaskDefinition called %d times, want 0", n)
	}
}
