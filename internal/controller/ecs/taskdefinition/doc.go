// Package taskdefinition reconciles TaskDefinition objects, as the Steps of the reconcile
// skeleton (internal/controller/reconciler): every spec change registers exactly one new revision
// of the family (the spec's hash, kept in status and as a tag on the revision, makes a restarted
// controller re-attach instead of registering again), and revisions older than the newest N are
// deregistered once no Service rollout uses them; deleting the object deregisters the revisions
// it registered (deletion policy delete).
package taskdefinition
