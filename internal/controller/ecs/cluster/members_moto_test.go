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

// TestClusterMembersMoto: CreateCluster carries the capacity providers, the default strategy, the
// configuration and serviceConnectDefaults as moto_server decodes them; at rest nothing is
// written; a change of the default strategy is one PutClusterCapacityProviders, a change of the
// configuration one UpdateCluster.
func TestClusterMembersMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	r := &Reconciler{ECS: api, Options: managed.Options{}.WithDefaults()}
	ctx := context.Background()
	c := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "spot", Namespace: "default"}, Spec: ecsv1alpha1.ClusterSpec{
		ClusterMembers: ecsv1alpha1.ClusterMembers{
			CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []ecsv1alpha1.CapacityProviderStrategyItem{
				{CapacityProvider: "FARGATE", Base: aws.Int32(1), Weight: aws.Int32(1)}, {CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(3)}},
			Configuration: &ecsv1alpha1.ClusterConfiguration{ExecuteCommandConfiguration: &ecsv1alpha1.ExecuteCommandConfiguration{
				Logging: "OVERRIDE", LogConfiguration: &ecsv1alpha1.ExecuteCommandLogConfiguration{CloudWatchLogGroupName: "/exec"}}},
		},
	}}
	for range 3 {
		if p := r.Sync(ctx, c); p != nil {
			t.Fatal(p)
		}
	}
	if diff := cmp.Diff(map[string]int{ecsapi.OpDescribeClusters: 3, ecsapi.OpCreateCluster: 1}, api.Calls()); diff != "" {
		t.Errorf("calls to create and keep the cluster (-want +got):\n%s", diff)
	}
	out, err := api.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"spot"}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldConfigurations}})
	if err != nil || len(out.Clusters) != 1 {
		t.Fatalf("DescribeClusters: %v %+v", err, out)
	}
	got := out.Clusters[0]
	if diff := cmp.Diff([]string{"FARGATE", "FARGATE_SPOT"}, got.CapacityProviders); diff != "" {
		t.Errorf("capacityProviders as moto reports them (-want +got):\n%s", diff)
	}
	if len(got.DefaultCapacityProviderStrategy) != 2 || got.Configuration == nil || got.Configuration.ExecuteCommandConfiguration == nil {
		t.Errorf("moto reports defaultCapacityProviderStrategy %+v, configuration %+v", got.DefaultCapacityProviderStrategy, got.Configuration)
	}

	api.Reset()
	c.Spec.DefaultCapacityProviderStrategy = []ecsv1alpha1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(1)}}
	c.Spec.Configuration.ExecuteCommandConfiguration.Logging = "DEFAULT"
	c.Spec.Configuration.ExecuteCommandConfiguration.LogConfiguration = nil
	for range 2 {
		if p := r.Sync(ctx, c); p != nil {
			t.Fatal(p)
		}
	}
	want := map[string]int{ecsapi.OpDescribeClusters: 2, ecsapi.OpUpdateCluster: 1, ecsapi.OpPutClusterCapacityProviders: 1}
	if diff := cmp.Diff(want, api.Calls()); diff != "" {
		t.Errorf("calls to change the default strategy and the configuration in place (-want +got):\n%s", diff)
	}
}
