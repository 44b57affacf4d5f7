package reconciler

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

func hasFinalizer(obj client.Object, finalizer string) bool {
	return controllerutil.ContainsFinalizer(obj, finalizer)
}

// ensureFinalizer adds the finalizer to obj unless it is there; gone: the object no longer
// exists. obj ends as the API server has it (which may show that its deletion has started).
func (r *Reconciler[T, S]) ensureFinalizer(ctx context.Context, obj T) (gone bool, err error) {
	if hasFinalizer(obj, r.cfg.Finalizer) {
		return false, nil
	}
	return r.patchFinalizers(ctx, obj, func(o T) bool {
		// The API server refuses new finalizers on an object being deleted.
		return o.GetDeletionTimestamp().IsZero() && controllerutil.AddFinalizer(o, r.cfg.Finalizer)
	})
}

// removeFinalizer removes the finalizer from obj; an object already gone is not an error.
func (r *Reconciler[T, S]) removeFinalizer(ctx context.Context, obj T) error {
	_, err := r.patchFinalizers(ctx, obj, func(o T) bool {
		return controllerutil.RemoveFinalizer(o, r.cfg.Finalizer)
	})
	return err
}

// patchFinalizers applies change (which reports whether it changed anything) to obj with a
// merge patch carrying obj's resourceVersion: a merge patch replaces the whole finalizer list,
// and without the lock it could drop a finalizer another controller added meanwhile. On a
// conflict it reads the object again, bypassing the cache, and retries (client-go's
// retry.DefaultRetry: 5 attempts, 10 ms apart with jitter).
func (r *Reconciler[T, S]) patchFinalizers(ctx context.Context, obj T, change func(T) bool) (gone bool, err error) {
	key := client.ObjectKeyFromObject(obj)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		base := deepCopy(obj)
		if !change(obj) {
			return nil
		}
		err := r.cfg.Client.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh := newObject[T]()
		if gerr := r.cfg.Reader.Get(ctx, key, fresh); gerr != nil {
			return gerr
		}
		replace(obj, fresh)
		return err
	})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("updating the finalizers of %s: %w", key, err)
	}
	return false, nil
}

// patchStatus writes obj's status when it differs from orig's (at steady state it writes
// nothing): a merge patch of the status subresource computed against orig and carrying orig's
// resourceVersion, so that a status computed from an object that has changed since (a spec or
// annotation change, a stale cache that missed an earlier status write) is never written over
// the newer one. conflict: the API server refused it for that reason; the caller reconciles
// again and computes the status anew. A deleted object is not an error: there is no status left
// to write.
func (r *Reconciler[T, S]) patchStatus(ctx context.Context, obj, orig T) (conflict bool, err error) {
	if equality.Semantic.DeepEqual(r.cfg.Status.Of(obj), r.cfg.Status.Of(orig)) {
		return false, nil
	}
	err = r.cfg.Client.Status().Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return false, nil
	case apierrors.IsConflict(err):
		return true, nil
	}
	return false, fmt.Errorf("writing the status of %s: %w", client.ObjectKeyFromObject(obj), err)
}
