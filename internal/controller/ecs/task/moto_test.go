package task

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

// TestTaskMoto runs a task, mirrors it without further calls, and stops it, against moto_server.
func TestTaskMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	ctx := context.Background()
	if _, err := api.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	out, err := api.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("job"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	api.Reset()
	r := NewReconciler(nil, api, record.NewFakeRecorder(10), managed.Options{}.WithDefaults())
	task := &ecsv1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "default", UID: "0d4a3c1e-5a9b-4b8e-9a55-2d0c7f1e7f3a"},
		Spec:       ecsv1alpha1.TaskSpec{Cluster: "c1", TaskDefinition: aws.ToString(out.TaskDefinition.TaskDefinitionArn), LaunchType: "FARGATE"},
	}
	for range 5 {
		if p := r.Sync(ctx, task); p != nil {
			if p.Reason == managed.ReasonRunTaskFailed {
				t.Skipf("moto cannot place the task: %s", p.Message)
			}
			if strings.Contains(p.Message, "deserialization failed") {
				// moto 5 answers RunTask with a number where the model wants a string.
				t.Skipf("moto_server's RunTask answer does not decode with the SDK: %s", p.Message)
			}
			t.Fatalf("sync: %v", p)
		}
	}
	if diff := cmp.Diff(map[string]int{ecsapi.OpRunTask: 1}, api.Calls()); diff != "" {
		t.Errorf("calls to run and mirror a task (-want +got):\n%s", diff)
	}
	if task.Status.TaskArn == "" || task.Status.LastStatus == "" {
		t.Fatalf("status not mirrored: %+v", task.Status)
	}
	api.Reset()
	r.Poller.Invalidate(keyOf(task))
	r.Poller.Poll(ctx)
	if diff := cmp.Diff(map[string]int{ecsapi.OpDescribeTasks: 1}, api.Calls()); diff != "" {
		t.Errorf("calls to poll (-want +got):\n%s", diff)
	}
	if _, err := api.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(task.Status.ClusterArn), Task: aws.String(task.Status.TaskArn)}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	r.Poller.Invalidate(keyOf(task))
	if p := r.Sync(ctx, task); p != nil {
		t.Fatal(p)
	}
	ok, reason, msg := Readiness(&task.Status)
	t.Logf("after StopTask: %s %s (%v %s: %s)", task.Status.LastStatus, task.Status.DesiredStatus, ok, reason, msg)
}

func keyOf(t *ecsv1alpha1.Task) types.NamespacedName {
	return types.NamespacedName{Namespace: t.Namespace, Name: t.Name}
}
