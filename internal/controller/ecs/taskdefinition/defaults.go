package taskdefinition

import (
	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// awslogsGroup is the awslogs driver's option naming the CloudWatch Logs group.
const awslogsGroup = "awslogs-group"

// withDefaults is td as it is registered: its spec with the controller's defaults where it leaves
// them out (managed.Options.Defaults, from --default-execution-role-arn and --default-log-group):
// executionRoleArn, and the awslogs-group option of every container that logs with awslogs
// without naming a group. A task definition belongs to no cluster in ECS, so a Cluster's defaults
// do not apply to it. The revision's spec hash is taken of this spec, so a change of the defaults
// registers one new revision. td itself is not changed.
func withDefaults(td *ecsv1alpha1.TaskDefinition, d fargate.Defaults) *ecsv1alpha1.TaskDefinition {
	if d.ExecutionRoleArn == "" && d.LogGroup == "" {
		return td
	}
	eff := *td
	eff.Spec = *td.Spec.DeepCopy()
	if eff.Spec.ExecutionRoleArn == "" {
		eff.Spec.ExecutionRoleArn = d.ExecutionRoleArn
	}
	if d.LogGroup == "" {
		return &eff
	}
	for i := range eff.Spec.ContainerDefinitions {
		lc := eff.Spec.ContainerDefinitions[i].LogConfiguration
		if lc == nil || lc.LogDriver != "awslogs" || lc.Options[awslogsGroup] != "" {
			continue
		}
		if lc.Options == nil {
			lc.Options = map[string]string{}
		}
		lc.Options[awslogsGroup] = d.LogGroup
	}
	return &eff
}
