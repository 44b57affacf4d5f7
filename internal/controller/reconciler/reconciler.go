package reconciler

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Steps is what one kind contributes to the Reconciler. Every method is called with a private
// copy of the object; none of them writes the object to the API server (the Reconciler owns the
// finalizer and the status patch).
type Steps[T client.Object] interface {
	// Sync converges the external resource to obj's spec and mirrors what it observed into obj's
	// status. nil: converged. It must be idempotent: it runs again after a crash, a lost status
	// write or a stale cache.
	Sync(ctx context.Context, obj T) *Problem
	// Readiness derives the Ready condition from obj's status after Sync. exists reports whether
	// an external resource has been observed at all: while it is false, a Problem turns Ready
	// False too. Not called when Status.Conditions is nil.
	Readiness(obj T) (r Readiness, exists bool)
	// Finalize releases the external resource of obj, which is being deleted and still carries
	// the finalizer (kinds that keep the resource on deletion return nil at once). nil: done, the
	// finalizer is removed. It must be idempotent.
	Finalize(ctx context.Context, obj T) *Problem
	// Forget drops whatever the kind remembers in memory about key (poller entries, caches of its
	// own writes). Called when the object is gone (NotFound) and after its finalizer is removed.
	Forget(key types.NamespacedName)
}

// Status reaches the status of objects of type T, a struct of type S.
type Status[T client.Object, S any] struct {
	// Of returns a pointer to obj's status. Required.
	Of func(obj T) *S
	// Conditions returns the Ready/Synced condition list inside the status. nil: the status has
	// no metav1.Condition list (a Pod's) and the kind reports its own conditions in Sync and
	// Finalize.
	Conditions func(s *S) *[]metav1.Condition
	// ObservedGeneration returns the field recording the generation the last clean Sync
	// converged. nil: the status has none.
	ObservedGeneration func(s *S) *int64
}

// Config configures a Reconciler.
type Config[T client.Object, S any] struct {
	// Client reads objects (normally from the manager's cache) and writes them. Required.
	Client client.Client
	// Reader reads objects from the API server itself, bypassing the cache, after a conflict on
	// a finalizer patch. nil: Client (right when Client does not cache).
	Reader client.Reader
	// Finalizer is held on every object whose external resource may need cleaning up. Required
	// unless Release is set, and empty when it is.
	Finalizer string
	// Release, when set, replaces the finalizer for a kind whose objects the API server keeps
	// while they are deleted until a controller completes the deletion itself: a Pod bound to a
	// node keeps its deletionTimestamp until the node, its containers stopped, deletes it with
	// grace period 0 (as the kubelet does; a kubelet holds no finalizer). Finalize then runs for
	// every object being deleted, and once it returns nil Release completes the deletion (an
	// object already gone is no error for it to report). An object removed at once (a force
	// delete) never reaches Finalize: the kind cleans up after it on its own (an orphan sweep).
	Release func(ctx context.Context, obj T) error
	// Status reaches the objects' status. Status.Of is required.
	Status Status[T, S]
	// Prepare, when set, is applied to the object right before Sync and Finalize, after the
	// finalizer patch (whose response replaces the object with what the API server stores): for
	// kinds whose steps read the object differently from how it is stored (the ECS kinds move
	// the aliases of their members into the members, managed.NormalizeAliases). It must only
	// change the spec, never the status.
	Prepare func(obj T)
	// Resync, when > 0, reconciles an object again that long after a clean Sync, for kinds whose
	// external state changes without any event reaching the controller. 0: only events (watches,
	// pollers, the manager's sync period) reconcile it again.
	Resync time.Duration
}

// Reconciler is the reconcile loop of one kind (see the package doc); a reconcile.Reconciler.
type Reconciler[T client.Object, S any] struct {
	steps Steps[T]
	cfg   Config[T, S]

	// finalized remembers the objects (by UID) whose finalizer this Reconciler removed, or whose
	// deletion it completed, for finalizedMemory: until the cache sees the object go, it still
	// holds the object with the finalizer, and a reconcile of that stale copy (a resync, a watch
	// of a related kind) must not run Finalize a second time (a second StopTask, a second
	// DeleteService). Each entry expires after finalizedMemory.
	finalized *cache.Expiring
}

// finalizedMemory is how long a finalized object is remembered: far longer than an informer's
// lag behind the API server (milliseconds; seconds under load). An object the cache still holds
// after that is finalized again, which Finalize's idempotency makes harmless.
const finalizedMemory = 5 * time.Minute

var _ reconcile.Reconciler = (*Reconciler[*metav1.PartialObjectMetadata, metav1.ObjectMeta])(nil)

// New returns the Reconciler of steps. T must be a pointer to a struct (*corev1.Pod); a
// missing required field of cfg is an error naming it.
func New[T client.Object, S any](steps Steps[T], cfg Config[T, S]) (*Reconciler[T, S], error) {
	if t := reflect.TypeFor[T](); t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("reconciler: object type %v must be a pointer to a struct", t)
	}
	switch {
	case steps == nil:
		return nil, errors.New("reconciler: no Steps")
	case cfg.Client == nil:
		return nil, errors.New("reconciler: Config.Client is required")
	case cfg.Finalizer == "" && cfg.Release == nil:
		return nil, errors.New("reconciler: Config.Finalizer is required (or Config.Release)")
	case cfg.Finalizer != "" && cfg.Release != nil:
		return nil, errors.New("reconciler: Config.Finalizer and Config.Release exclude each other")
	case cfg.Status.Of == nil:
		return nil, errors.New("reconciler: Config.Status.Of is required")
	}
	if cfg.Reader == nil {
		cfg.Reader = cfg.Client
	}
	return &Reconciler[T, S]{steps: steps, cfg: cfg, finalized: cache.NewExpiring()}, nil
}

// Reconcile runs the loop once for req.
func (r *Reconciler[T, S]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := newObject[T]()
	if err := r.cfg.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.steps.Forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting %s: %w", req.NamespacedName, err)
	}
	if obj.GetDeletionTimestamp().IsZero() && r.cfg.Release == nil {
		gone, err := r.ensureFinalizer(ctx, obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		if gone {
			r.steps.Forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return r.delete(ctx, obj)
	}
	r.prepare(obj)
	orig := deepCopy(obj)
	p := r.steps.Sync(ctx, obj)
	r.report(obj, p)
	if conflict, err := r.patchStatus(ctx, obj, orig); conflict || err != nil {
		return ctrl.Result{RequeueAfter: r.onConflict(conflict)}, err
	}
	if p == nil && r.cfg.Resync > 0 {
		return ctrl.Result{RequeueAfter: r.cfg.Resync}, nil
	}
	return p.Result()
}

func (r *Reconciler[T, S]) prepare(obj T) {
	if r.cfg.Prepare != nil {
		r.cfg.Prepare(obj)
	}
}

// delete finalizes obj, which is being deleted.
func (r *Reconciler[T, S]) delete(ctx context.Context, obj T) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(obj)
	if r.cfg.Release == nil && !hasFinalizer(obj, r.cfg.Finalizer) {
		// Finalized already (another finalizer keeps the object), or never ours.
		r.steps.Forget(key)
		return ctrl.Result{}, nil
	}
	if r.wasFinalized(obj.GetUID()) {
		// The cache has not seen our removal (or Release) yet: its delete event comes next.
		return ctrl.Result{}, nil
	}
	r.prepare(obj)
	orig := deepCopy(obj)
	if p := r.steps.Finalize(ctx, obj); p != nil {
		r.reportDeleting(obj, p)
		if conflict, err := r.patchStatus(ctx, obj, orig); conflict || err != nil {
			return ctrl.Result{RequeueAfter: r.onConflict(conflict)}, err
		}
		return p.Result()
	}
	if r.cfg.Release != nil {
		if conflict, err := r.patchStatus(ctx, obj, orig); conflict || err != nil {
			return ctrl.Result{RequeueAfter: r.onConflict(conflict)}, err
		}
		if err := r.cfg.Release(ctx, obj); err != nil {
			return ctrl.Result{}, fmt.Errorf("completing the deletion of %s: %w", key, err)
		}
	} else if err := r.removeFinalizer(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	r.rememberFinalized(obj.GetUID())
	r.steps.Forget(key)
	return ctrl.Result{}, nil
}

// rememberFinalized records that uid's finalization completed, for finalizedMemory (the
// cache drops older records as it takes new ones).
func (r *Reconciler[T, S]) rememberFinalized(uid types.UID) {
	r.finalized.Set(uid, struct{}{}, finalizedMemory)
}

// wasFinalized reports whether uid's finalization completed within finalizedMemory.
func (r *Reconciler[T, S]) wasFinalized(uid types.UID) bool {
	_, ok := r.finalized.Get(uid)
	return ok
}

// ConflictRequeue is how soon an object whose status patch met a conflict is reconciled again:
// long enough for the cache to receive the change that caused it (informers lag the API server
// by milliseconds), short enough not to delay the status.
const ConflictRequeue = 200 * time.Millisecond

// onConflict is the requeue delay after a status patch: ConflictRequeue after a conflict.
func (r *Reconciler[T, S]) onConflict(conflict bool) time.Duration {
	if conflict {
		return ConflictRequeue
	}
	return 0
}

// report writes the conditions of a Sync that ended with p (nil: clean).
func (r *Reconciler[T, S]) report(obj T, p *Problem) {
	if r.cfg.Status.Conditions == nil {
		return
	}
	st := r.cfg.Status.Of(obj)
	conds := r.cfg.Status.Conditions(st)
	gen := obj.GetGeneration()
	ready, exists := r.steps.Readiness(obj)
	if p == nil {
		SetCondition(conds, gen, ConditionSynced, true, ReasonSynced, "")
		SetCondition(conds, gen, ConditionReady, ready.Ready, ready.Reason, ready.Message)
		if og := r.cfg.Status.ObservedGeneration; og != nil {
			*og(st) = gen
		}
		return
	}
	SetCondition(conds, gen, ConditionSynced, false, p.Reason, p.Message)
	if !exists {
		SetCondition(conds, gen, ConditionReady, false, p.Reason, p.Message)
	}
}

// reportDeleting writes the conditions of a Finalize that ended with p.
func (r *Reconciler[T, S]) reportDeleting(obj T, p *Problem) {
	if r.cfg.Status.Conditions == nil {
		return
	}
	conds := r.cfg.Status.Conditions(r.cfg.Status.Of(obj))
	gen := obj.GetGeneration()
	SetCondition(conds, gen, ConditionSynced, false, p.Reason, p.Message)
	SetCondition(conds, gen, ConditionReady, false, ReasonDeleting, p.Message)
}

// newObject returns a new empty object of type T (a pointer to a struct, checked by New).
func newObject[T client.Object]() T {
	return reflect.New(reflect.TypeFor[T]().Elem()).Interface().(T)
}

func deepCopy[T client.Object](obj T) T {
	return obj.DeepCopyObject().(T)
}

// replace makes dst a copy of src (both pointers to the same struct type).
func replace[T client.Object](dst, src T) {
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src).Elem())
}
