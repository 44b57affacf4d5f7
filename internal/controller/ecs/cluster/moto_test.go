package cluster

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

// TestClusterMoto: create once, no write at steady state, adoption of a missing cluster refused
// with a clear reason, delete refused while a service runs in it.
func TestClusterMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	r := &Reconciler{ECS: api, Options: managed.Options{}.WithDefaults()}
	ctx := context.Background()
	c := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: "default"}}
	for range 5 {
		if p := r.Sync(ctx, c); p != nil {
			t.Fatal(p)
		}
	}
	want := map[string]int{ecsapi.OpDescribeClusters: 5, ecsapi.OpCreateCluster: 1}
	if diff := cmp.Diff(want, api.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if c.Status.Status != "ACTIVE" || c.Status.ClusterArn == "" {
		t.Errorf("status %+v", c.Status)
	}

	adopted := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default",
		Annotations: map[string]string{ecsv1alpha1.AnnotationAdopt: "nope"}}}
	if p := r.Sync(ctx, adopted); p == nil || p.Reason != managed.ReasonAdoptionNotFound {
		t.Errorf("adopting a missing cluster: %v, want %s", p, managed.ReasonAdoptionNotFound)
	}

	td, err := api.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("i"), Memory: aws.Int32(64)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("s"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	p := r.Finalize(ctx, c)
	if p == nil {
		t.Skip("moto deleted a cluster that still has a service")
	}
	t.Logf("delete refused: %s: %s", p.Reason, p.Message)
}
