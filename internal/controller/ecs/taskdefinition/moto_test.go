package taskdefinition

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

func newTD(name, image string) *ecsv1alpha1.TaskDefinition {
	return &ecsv1alpha1.TaskDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + "td"},
		Spec: ecsv1alpha1.TaskDefinitionSpec{
			Cpu: "256", Memory: "512", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
			ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "app", Image: image}},
		},
	}
}

// TestRevisionLifecycleMoto drives the ECS side of the reconciler against moto_server through
// the real SDK: exactly one RegisterTaskDefinition per spec change, none when nothing changed or
// after a restart that lost the status, and old revisions deregistered beyond KeepRevisions.
func TestRevisionLifecycleMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	used := map[string]bool{}
	r := &Reconciler{
		ECS: api, Recorder: record.NewFakeRecorder(100), Options: managed.Options{KeepRevisions: 2}.WithDefaults(),
		InUse: func(context.Context, *ecsv1alpha1.TaskDefinition) (map[string]bool, error) { return used, nil },
	}
	ctx := context.Background()
	td := newTD("web", "nginx:1")

	mustSync := func() {
		t.Helper()
		if p := r.Sync(ctx, td); p != nil {
			t.Fatalf("sync: %v", p)
		}
	}
	mustSync()
	if got := api.Count(ecsapi.OpRegisterTaskDefinition); got != 1 {
		t.Fatalf("RegisterTaskDefinition calls after create = %d, want 1", got)
	}
	if td.Status.Revision != 1 || td.Status.SpecHash == "" {
		t.Fatalf("status after create: %+v", td.Status)
	}

	// Ten resyncs at steady state: no call at all.
	api.Reset()
	for range 10 {
		mustSync()
	}
	if diff := cmp.Diff(map[string]int{}, api.Calls()); diff != "" {
		t.Errorf("calls over 10 resyncs (-want +got):\n%s", diff)
	}

	// A restart that lost the status: re-attach to revision 1 through its hash tag, no register.
	td.Status = ecsv1alpha1.TaskDefinitionStatus{}
	mustSync()
	if got := api.Writes(); got != 0 {
		t.Errorf("writes after a restart without status = %d, want 0 (calls %v)", got, api.Calls())
	}
	if td.Status.Revision != 1 {
		t.Errorf("revision after re-attach = %d, want 1", td.Status.Revision)
	}

	// Three spec changes: three revisions, one register each; revision 1 is deregistered
	// (keep 2) unless a Service still uses it.
	used[td.Status.TaskDefinitionArn] = true
	for i, image := range []string{"nginx:2", "nginx:3", "nginx:4"} {
		api.Reset()
		td.Generation++
		td.Spec.ContainerDefinitions[0].Image = image
		mustSync()
		mustSync()
		if got := api.Count(ecsapi.OpRegisterTaskDefinition); got != 1 {
			t.Errorf("change %d: RegisterTaskDefinition calls = %d, want 1", i, got)
		}
	}
	if td.Status.Revision != 4 {
		t.Fatalf("revision = %d, want 4", td.Status.Revision)
	}
	revs := func() []int32 {
		var out []int32
		for _, r := range td.Status.ActiveRevisions {
			out = append(out, r.Revision)
		}
		return out
	}
	if diff := cmp.Diff([]int32{1, 3, 4}, revs()); diff != "" {
		t.Errorf("active revisions while revision 1 is in use (-want +got):\n%s", diff)
	}
	clear(used)
	api.Reset()
	mustSync()
	if diff := cmp.Diff([]int32{3, 4}, revs()); diff != "" {
		t.Errorf("active revisions once revision 1 is unused (-want +got):\n%s", diff)
	}
	if got := api.Count(ecsapi.OpDeregisterTaskDefinition); got != 1 {
		t.Errorf("DeregisterTaskDefinition calls = %d, want 1", got)
	}
}
