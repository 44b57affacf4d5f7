package v1alpha1

import "cmp"

// The status members that nodeless spelled taskARN, clusterARN, ... before they took ECS's
// spelling (taskArn, clusterArn, ...). They stay in the schema, deprecated, so that the API server
// keeps them on objects stored before (it prunes members the schema does not name): the ARN of a
// Task's task is what keeps the Task from running it again, and RunTask's clientToken no longer
// does once ECS has forgotten it. docs/adr/0006-in-place-changes.md says when they can go.
//
// Only Task and Cluster carry them: a Service finds its ECS service again by name and owner tag, a
// TaskDefinition its revisions' ARNs from its family (see the Service and TaskDefinition
// controllers), with nothing lost either way.

// MoveDeprecatedMembers moves the ARNs stored under the deprecated spellings into taskArn,
// clusterArn and taskDefinitionArn (a member already set keeps its value) and clears the
// deprecated ones; changed reports whether any was set. The controller calls it before anything
// reads the ARNs, so the status write that follows sets the new members and clears the old ones
// at once.
func (s *TaskStatus) MoveDeprecatedMembers() (changed bool) {
	changed = s.DeprecatedTaskARN != "" || s.DeprecatedClusterARN != "" || s.DeprecatedTaskDefinitionARN != ""
	s.TaskArn = cmp.Or(s.TaskArn, s.DeprecatedTaskARN)
	s.ClusterArn = cmp.Or(s.ClusterArn, s.DeprecatedClusterARN)
	s.TaskDefinitionArn = cmp.Or(s.TaskDefinitionArn, s.DeprecatedTaskDefinitionARN)
	s.DeprecatedTaskARN, s.DeprecatedClusterARN, s.DeprecatedTaskDefinitionARN = "", "", ""
	return changed
}

// MoveDeprecatedMembers moves the ARN stored as clusterARN into clusterArn (unless that is set)
// and clears clusterARN; changed reports whether it was set. See TaskStatus.MoveDeprecatedMembers.
func (s *ClusterStatus) MoveDeprecatedMembers() (changed bool) {
	changed = s.DeprecatedClusterARN != ""
	s.ClusterArn = cmp.Or(s.ClusterArn, s.DeprecatedClusterARN)
	s.DeprecatedClusterARN = ""
	return changed
}
