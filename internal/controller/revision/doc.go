// Package revision is the content-addressed task definition logic that the TaskDefinition
// controller (internal/controller/ecs/taskdefinition) and the Pod controller
// (internal/controller/pod) share, so that neither keeps a copy of it.
//
// A revision is known by its family and by the hash of what registered it, carried as the
// nodeless.dev/spec-hash tag (ecscall.TagSpecHash; translate.TagSpecHash spells it the same). A
// controller reuses a revision carrying the hash and registers only when none does: a spec is
// registered once however often it is applied, and a controller restarted between
// RegisterTaskDefinition and its status write re-attaches instead of registering again (ADR 0003,
// ADR 0005).
//
// Which revision may be reused is the one thing the two differ in (Match):
//   - Newest: a TaskDefinition object's newest revision is its spec, so only the family's newest
//     ACTIVE revision is reused; a spec changed back to an older one registers again, and the
//     Services that follow the object move to it.
//   - AnyActive: the Pods of one template share a revision, and `kubectl rollout undo` returns to
//     an older one, so any ACTIVE revision of the family with the hash is reused.
//
// Registry adds what the Pod path needs on top: it remembers the revision of each family and hash
// (a Pod start costs no ECS call once its template is known), serialises the calls for one
// family (two Pods of one ReplicaSet started at once register once), and deregisters the
// revisions of a family that no Pod uses beyond the newest N (Collect).
package revision
