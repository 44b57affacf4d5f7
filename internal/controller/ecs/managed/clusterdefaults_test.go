package managed

import (
	"testing"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

func TestClusterRevision(t *testing.T) {
	td := &ecsv1alpha1.TaskDefinition{Status: ecsv1alpha1.TaskDefinitionStatus{SpecHash: "h2", ClusterRevisions: []ecsv1alpha1.TaskDefinitionClusterRevision{
		{Cluster: "prod", ExecutionRoleArn: "role-a", ForSpecHash: "h2", TaskDefinitionArn: "arn:prod"},
		{Cluster: "old", ExecutionRoleArn: "role-a", ForSpecHash: "h1", TaskDefinitionArn: "arn:old"},
		{Cluster: "logs", LogGroup: "/g", ForSpecHash: "h2", TaskDefinitionArn: "arn:logs"},
	}}}
	tests := []struct {
		name, cluster string
		d             fargate.Defaults
		want          string
	}{
		{"the cluster's, for the current spec and defaults", "prod", fargate.Defaults{ExecutionRoleArn: "role-a"}, "arn:prod"},
		{"the Cluster's defaults changed since", "prod", fargate.Defaults{ExecutionRoleArn: "role-b"}, ""},
		{"registered for an older spec", "old", fargate.Defaults{ExecutionRoleArn: "role-a"}, ""},
		{"another cluster's", "staging", fargate.Defaults{ExecutionRoleArn: "role-a"}, ""},
		{"log group only", "logs", fargate.Defaults{LogGroup: "/g"}, "arn:logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if cr := ClusterRevision(td, tt.cluster, tt.d); cr != nil {
				got = cr.TaskDefinitionArn
			}
			if got != tt.want {
				t.Errorf("ClusterRevision(%s, %+v) = %q, want %q", tt.cluster, tt.d, got, tt.want)
			}
		})
	}
}

func TestTaskDefinitionDefaults(t *testing.T) {
	for _, tt := range []struct {
		name string
		cl   *ecsv1alpha1.Cluster
		want fargate.Defaults
	}{
		{"no Cluster", nil, fargate.Defaults{}},
		{"no defaults", &ecsv1alpha1.Cluster{}, fargate.Defaults{}},
		{"network only: nothing for a task definition", &ecsv1alpha1.Cluster{Spec: ecsv1alpha1.ClusterSpec{Defaults: &ecsv1alpha1.ClusterDefaults{
			NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{Subnets: []string{"subnet-a"}}}}}},
			fargate.Defaults{}},
		{"role and log group", &ecsv1alpha1.Cluster{Spec: ecsv1alpha1.ClusterSpec{Defaults: &ecsv1alpha1.ClusterDefaults{ExecutionRoleArn: "role", LogGroup: "/g"}}},
			fargate.Defaults{ExecutionRoleArn: "role", LogGroup: "/g"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := TaskDefinitionDefaults(tt.cl); got.ExecutionRoleArn != tt.want.ExecutionRoleArn || got.LogGroup != tt.want.LogGroup || !got.IsZero() != !tt.want.IsZero() {
				t.Errorf("TaskDefinitionDefaults = %+v, want %+v", got, tt.want)
			}
		})
	}
}
