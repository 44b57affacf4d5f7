package cluster

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// TestMembersMatchWhatECSReports: capacity providers in another order, a default strategy with
// weight and base filled in, a Service Connect namespace reported as its ARN are no change; a real
// difference is one in-place call naming the member, and PutClusterCapacityProviders keeps what
// the spec leaves out.
func TestMembersMatchWhatECSReports(t *testing.T) {
	item := func(p string, w, b int32) ecstypes.CapacityProviderStrategyItem {
		return ecstypes.CapacityProviderStrategyItem{CapacityProvider: aws.String(p), Weight: w, Base: b}
	}
	observed := &ecstypes.Cluster{
		ClusterArn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/prod"), CapacityProviders: []string{"FARGATE_SPOT", "FARGATE"},
		DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{item("FARGATE_SPOT", 1, 0)},
		ServiceConnectDefaults:          &ecstypes.ClusterServiceConnectDefaults{Namespace: aws.String("arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1")},
	}
	for _, tc := range []struct {
		name              string
		spec              ecsv1alpha1.ClusterMembers
		wantUpdate, wantP []string
	}{
		{"as reported", ecsv1alpha1.ClusterMembers{CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []ecsv1alpha1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(1)}},
			ServiceConnectDefaults:          &ecsv1alpha1.ClusterServiceConnectDefaults{Namespace: "prod"}}, nil, nil},
		{"nothing set", ecsv1alpha1.ClusterMembers{}, nil, nil},
		{"default strategy changed", ecsv1alpha1.ClusterMembers{
			DefaultCapacityProviderStrategy: []ecsv1alpha1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: aws.Int32(1)}}},
			nil, []string{"defaultCapacityProviderStrategy"}},
		{"namespace ARN changed", ecsv1alpha1.ClusterMembers{ServiceConnectDefaults: &ecsv1alpha1.ClusterServiceConnectDefaults{
			Namespace: "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-2"}}, []string{"serviceConnectDefaults"}, nil},
		{"configuration set", ecsv1alpha1.ClusterMembers{Configuration: &ecsv1alpha1.ClusterConfiguration{
			ExecuteCommandConfiguration: &ecsv1alpha1.ExecuteCommandConfiguration{Logging: "DEFAULT"}}}, []string{"configuration"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &ecsv1alpha1.ClusterSpec{ClusterMembers: tc.spec}
			_, update := UpdateMembers(spec, observed)
			put, changed := CapacityProvidersChange(spec, observed)
			if diff := cmp.Diff(tc.wantUpdate, update); diff != "" {
				t.Errorf("UpdateCluster members (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantP, changed); diff != "" {
				t.Errorf("PutClusterCapacityProviders members (-want +got):\n%s", diff)
			}
			if put != nil && !cmp.Equal(put.CapacityProviders, observed.CapacityProviders) {
				t.Errorf("PutClusterCapacityProviders drops the providers ECS has: %v", put.CapacityProviders)
			}
		})
	}
}
