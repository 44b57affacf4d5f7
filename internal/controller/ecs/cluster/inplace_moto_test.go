package cluster

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

// TestInPlaceMoto, against moto_server: tags and settings of an existing cluster change in place,
// each with its one call, and a renamed cluster is refused instead of created a second time.
func TestInPlaceMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	r := &Reconciler{ECS: api, Options: managed.Options{}.WithDefaults()}
	ctx := context.Background()
	c := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: "default"},
		Spec: ecsv1alpha1.ClusterSpec{Tags: []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}}}
	sync := func() {
		t.Helper()
		if p := r.Sync(ctx, c); p != nil {
			t.Fatal(p)
		}
	}
	sync()
	steps := []struct {
		name   string
		change func()
		want   map[string]int
	}{
		{"steady", func() {}, map[string]int{ecsapi.OpDescribeClusters: 2}},
		{"tag value", func() { c.Spec.Tags[0].Value = "b" }, map[string]int{ecsapi.OpDescribeClusters: 2, ecsapi.OpTagResource: 1}},
		{"settings", func() {
			c.Spec.Settings = []ecsv1alpha1.ClusterSetting{{Name: "containerInsights", Value: "enabled"}}
		}, map[string]int{ecsapi.OpDescribeClusters: 2, ecsapi.OpUpdateCluster: 1}},
	}
	for _, st := range steps {
		api.Reset()
		st.change()
		sync()
		sync()
		if diff := cmp.Diff(st.want, api.Calls()); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", st.name, diff)
		}
	}
	api.Reset()
	c.Spec.ClusterName = "other"
	p := r.Sync(ctx, c)
	if p == nil || p.Reason != inplace.ReasonRecreateRequired {
		t.Errorf("renaming the cluster: %v, want %s", p, inplace.ReasonRecreateRequired)
	}
	if w := api.Writes(); w != 0 {
		t.Errorf("writes for a refused rename = %d, want 0", w)
	}
}
