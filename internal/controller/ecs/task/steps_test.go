package task

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// runStopAPI starts one task and records the tasks stopped; other calls panic (nil API).
type runStopAPI struct {
	ecsapi.API
	stopped []string
}

func (a *runStopAPI) RunTask(_ context.Context, in *ecs.RunTaskInput, _ ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	return &ecs.RunTaskOutput{Tasks: []ecstypes.Task{{TaskArn: aws.String("arn:t/1"), ClusterArn: in.Cluster, LastStatus: aws.String("PROVISIONING")}}}, nil
}

func (a *runStopAPI) StopTask(_ context.Context, in *ecs.StopTaskInput, _ ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	a.stopped = append(a.stopped, aws.ToString(in.Task))
	return &ecs.StopTaskOutput{}, nil
}

// TestFinalizeStopsTheTaskItStarted: a Task deleted right after RunTask, before its status write
// shows in the cache, still has its task stopped; once forgotten (the object is gone), a new
// object of the same name starts from scratch.
func TestFinalizeStopsTheTaskItStarted(t *testing.T) {
	api := &runStopAPI{}
	r := NewReconciler(nil, api, record.NewFakeRecorder(10), managed.Options{}.WithDefaults())
	obj := &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "ns", UID: "uid-1"},
		Spec: ecsv1alpha1.TaskSpec{Cluster: "c1", TaskDefinition: "job:1"}}
	if p := r.run(context.Background(), obj.DeepCopy()); p != nil {
		t.Fatal(p)
	}
	// The object as the cache still shows it: no taskArn in status.
	if p := r.Finalize(context.Background(), obj); p != nil {
		t.Fatal(p)
	}
	if diff := cmp.Diff([]string{"arn:t/1"}, api.stopped); diff != "" {
		t.Errorf("tasks stopped (-want +got):\n%s", diff)
	}

	r.Forget(keyOf(obj))
	again := obj.DeepCopy()
	again.UID = "uid-2"
	if r.startedBy(obj) != nil || r.startedBy(again) != nil {
		t.Error("the started task outlived Forget")
	}
}
