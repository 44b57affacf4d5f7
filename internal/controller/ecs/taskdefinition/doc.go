// Package taskdefinition reconciles TaskDefinition objects, as the Steps of the reconcile
// skeleton (internal/controller/reconciler): every spec change but tags registers exactly one new
// revision of the family (the hash of the spec without its tags, kept in status and as a tag on the
// revision, makes a restarted controller re-attach instead of registering again); a change of tags
// is applied in place to every ACTIVE revision the object registered (TagResource /
// UntagResource); revisions older than the newest N are deregistered once no Service rollout uses
// them; deleting the object deregisters the revisions it registered (deletion policy delete).
// members_test.go classifies every spec member by the path its change takes.
package taskdefinition
