package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// Tag keys nodeless puts on the ECS resources it creates.
const (
	// TagOwner holds the UID of the Kubernetes object that created the resource, so that a
	// restarted controller recognises its own service after a crash before the status write.
	TagOwner = "nodeless.dev/owner-uid"
	// TagSpecHash holds the hash of the spec a task definition revision was registered from.
	TagSpecHash = "nodeless.dev/spec-hash"
)

// DeletionPolicyOf returns the object's deletion policy: its annotation, or def.
func DeletionPolicyOf(obj client.Object, def ecsv1alpha1.DeletionPolicy) ecsv1alpha1.DeletionPolicy {
	switch ecsv1alpha1.DeletionPolicy(strings.ToLower(obj.GetAnnotations()[ecsv1alpha1.AnnotationDeletionPolicy])) {
	case ecsv1alpha1.DeletionPolicyRetain:
		return ecsv1alpha1.DeletionPolicyRetain
	case ecsv1alpha1.DeletionPolicyDelete:
		return ecsv1alpha1.DeletionPolicyDelete
	}
	return def
}

// AdoptName returns the ECS resource named by the adoption annotation, or "".
func AdoptName(obj client.Object) string {
	return strings.TrimSpace(obj.GetAnnotations()[ecsv1alpha1.AnnotationAdopt])
}

// IsReadOnly reports whether the controller must not write to ECS for obj.
func IsReadOnly(obj client.Object, opts Options) bool {
	return opts.ReadOnly || obj.GetAnnotations()[ecsv1alpha1.AnnotationReadOnly] == "true"
}

// ClientToken derives an idempotency token of at most max characters from the object's UID and
// generation: a retried create (after a crash, a timeout, a lost status write) carries the same
// token and ECS returns the original resource instead of creating a second one.
func ClientToken(obj client.Object, max int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", obj.GetUID(), obj.GetGeneration())))
	tok := hex.EncodeToString(sum[:])
	if len(tok) > max {
		tok = tok[:max]
	}
	return tok
}

// Hash is a short, stable content hash of v's JSON encoding.
func Hash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hashing: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:10]), nil
}

// EnsureFinalizer adds the ECS finalizer to obj; it reports whether the object was updated.
func EnsureFinalizer(ctx context.Context, c client.Client, obj client.Object) (bool, error) {
	if controllerutil.ContainsFinalizer(obj, ecsv1alpha1.Finalizer) {
		return false, nil
	}
	controllerutil.AddFinalizer(obj, ecsv1alpha1.Finalizer)
	if err := c.Update(ctx, obj); err != nil {
		return false, fmt.Errorf("adding finalizer: %w", err)
	}
	return true, nil
}

// RemoveFinalizer removes the ECS finalizer from obj.
func RemoveFinalizer(ctx context.Context, c client.Client, obj client.Object) error {
	if !controllerutil.ContainsFinalizer(obj, ecsv1alpha1.Finalizer) {
		return nil
	}
	controllerutil.RemoveFinalizer(obj, ecsv1alpha1.Finalizer)
	if err := c.Update(ctx, obj); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("removing finalizer: %w", err))
	}
	return nil
}

// PatchStatus writes obj's status when it differs from orig's; at steady state it writes nothing.
func PatchStatus(ctx context.Context, c client.Client, obj, orig client.Object, status, origStatus any) error {
	if equality.Semantic.DeepEqual(status, origStatus) {
		return nil
	}
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("writing status: %w", err))
	}
	return nil
}

// SpecOrAnnotationsChanged lets through the updates a reconciler of the object itself cares
// about: a new generation, changed annotations, or the start of deletion. Its own status
// writes do not wake it again.
func SpecOrAnnotationsChanged() predicate.Predicate {
	return predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{},
		predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectNew.GetDeletionTimestamp() != nil
		}})
}
