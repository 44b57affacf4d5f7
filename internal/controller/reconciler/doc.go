// Package reconciler is the one reconcile loop every nodeless controller runs, and the
// kind-agnostic machinery around it: Problems (what went wrong, the condition reason and message
// that say what to do about it, and when to try again), Ready/Synced conditions, finalizers, and
// the status patch.
//
// # The loop
//
// Reconciler[T, S] reconciles objects of type T (a pointer to a Kubernetes object, such as
// *ecsv1alpha1.Service or *corev1.Pod) whose status is of type S. For every request it:
//
//  1. gets the object; NotFound means it is gone: Steps.Forget drops what the kind remembers of it;
//  2. when the object is being deleted and carries the finalizer: Steps.Finalize; only when that
//     succeeds is the finalizer removed (and Forget called). A failed Finalize writes Ready False
//     (reason Deleting) and Synced False (the Problem's reason) and is retried as the Problem says.
//     Finalize runs once per successful deletion: a stale cached copy of an object whose
//     finalizer this Reconciler removed already (the cache has not seen the removal; a resync or
//     a related object's event reconciles it) is left alone until its delete event arrives;
//  3. otherwise adds the finalizer (once; before anything external is created, so nothing leaks);
//     a kind configured with Release instead (Pods) holds no finalizer: the API server keeps its
//     objects through their deletion until the controller completes it, so step 2 runs for every
//     object being deleted, and Release (a delete with grace period 0) replaces the removal of the
//     finalizer; the status Finalize wrote is patched first;
//  4. Steps.Sync: converge the external resource and mirror what was observed into the status;
//  5. conditions: Synced True (reason Synced) and Ready from Steps.Readiness, or Synced False with
//     the Problem's reason and message (Ready False too while no external resource exists yet;
//     otherwise Ready keeps what it last said, since the resource may still be fine);
//  6. patches the status: a JSON merge patch of the status subresource only, skipped when the
//     status did not change (0 writes at steady state), sent with the object's resourceVersion.
//     A conflict (the object changed since it was read, or the cache had not seen an earlier
//     status write yet) means the status was computed from an outdated object: it is dropped,
//     never written over the newer one, and the object is reconciled again after
//     ConflictRequeue, which computes it anew (as karpenter and crossplane-runtime do). Sync is
//     idempotent and what it observed is in ECS and in the kind's memory, so nothing is lost;
//     writing the stale status instead could move a status back (a TaskDefinition's newest
//     revision, and with it the Service that follows it);
//  7. requeues from the outcome: a Problem's RequeueAfter, backoff for a Problem carrying an Err,
//     nothing for a Problem resolved by an event (a spec change, a referenced object becoming
//     ready); after a clean sync, Config.Resync for kinds whose external state changes without
//     any event reaching the controller, else nothing.
//
// # Why this shape
//
// Two models were read: crossplane-runtime's managed reconciler (pkg/reconciler/managed: one
// Reconciler over a per-kind ExternalClient with Observe/Create/Update/Delete, plus
// external-create-pending annotations written between Observe and Create so that a crash cannot
// leak a resource) and karpenter's lifecycle controllers (one typed Reconcile over a list of
// sub-reconcilers, each a reconcile.TypedReconciler on the object, the status patched once
// after all of them; finalizers patched with an optimistic lock).
//
// nodeless takes karpenter's shape for the per-kind part and crossplane's for the frame around
// it: the loop (get, finalizer, conditions, status patch, requeue) is owned here as in crossplane,
// while a kind contributes one Sync and one Finalize step as in karpenter, rather than
// Observe/Create/Update/Delete, because:
//
//   - the kinds are not uniform CRUD: a TaskDefinition registers immutable revisions and
//     deregisters old ones, a Task (and a Pod) is run once and then only observed, a Service
//     re-attaches by owner tag; Observe/Create/Update would be forced on them or left empty;
//   - crossplane splits Observe from Create so that it can persist critical annotations in
//     between; ECS makes creates idempotent instead (clientToken, owner tags, spec-hash tags,
//     see internal/controller/ecscall), so nothing has to be written between the two;
//   - observation mostly comes from a batched poller (internal/controller/poller), not from a
//     per-object Observe call.
//
// A kind with several concerns composes them inside Sync (karpenter's sub-reconcilers), and
// returns the first Problem.
//
// The status type parameter and its accessors (Status) keep the loop generic: a Pod controller
// uses Reconciler[*corev1.Pod, corev1.PodStatus] with Status.Conditions nil (a Pod's conditions
// are not metav1.Conditions) and writes its Pod conditions itself in Sync.
//
// Finalizers are added and removed with a merge patch carrying the resourceVersion too (a merge
// patch replaces the whole list, and could otherwise drop another controller's finalizer); a
// conflict there is retried at once on the object read again bypassing the cache, since adding
// or removing one finalizer does not depend on anything else the object says.
package reconciler
