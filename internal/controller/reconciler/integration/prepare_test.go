package integration

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// prepareSteps records the clusterName Finalize is given.
type prepareSteps struct {
	*steps
	finalizeSaw []string
}

func (s *prepareSteps) Finalize(ctx context.Context, obj *ecsv1alpha1.Cluster) *reconciler.Problem {
	s.finalizeSaw = append(s.finalizeSaw, obj.Spec.ClusterName)
	return s.steps.Finalize(ctx, obj)
}

// TestPrepareBeforeSteps: Config.Prepare has been applied to the object Sync and Finalize are
// given — in the reconcile that adds the finalizer too, whose patch response replaces the object
// with what the API server stores — and what it changed is never written.
func TestPrepareBeforeSteps(t *testing.T) {
	e := start(t)
	c := e.cluster("prepared")
	st := &prepareSteps{steps: &steps{status: "ACTIVE", exists: true}}
	var syncSaw []string
	st.duringSync = func(obj *ecsv1alpha1.Cluster) { syncSaw = append(syncSaw, obj.Spec.ClusterName) }
	r, err := reconciler.New[*ecsv1alpha1.Cluster](st, reconciler.Config[*ecsv1alpha1.Cluster, ecsv1alpha1.ClusterStatus]{
		Client: e.rc, Reader: e.direct, Finalizer: finalizer, Status: clusterStatus(),
		Prepare: func(obj *ecsv1alpha1.Cluster) { obj.Spec.ClusterName = "as-prepared" },
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.reconcile(r, c); err != nil {
			t.Fatal(err)
		}
	}
	e.fetch(c)
	if c.Spec.ClusterName != "" {
		t.Errorf("stored spec.clusterName = %q: what Prepare changed was written", c.Spec.ClusterName)
	}
	if err := e.direct.Delete(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reconcile(r, c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"as-prepared", "as-prepared"}, syncSaw); diff != "" {
		t.Errorf("clusterName Sync saw in the first two reconciles (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"as-prepared"}, st.finalizeSaw); diff != "" {
		t.Errorf("clusterName Finalize saw (-want +got):\n%s", diff)
	}
}
