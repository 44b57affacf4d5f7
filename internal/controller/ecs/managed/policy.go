package managed

import (
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// DeletionPolicyOf returns the object's deletion policy: its annotation (delete or retain, any
// case; nodeless's, or the one of AWS's controllers for Kubernetes, AnnotationACKDeletionPolicy,
// with retain winning where they disagree), or def.
func DeletionPolicyOf(obj client.Object, def ecsv1alpha1.DeletionPolicy) ecsv1alpha1.DeletionPolicy {
	var policies []ecsv1alpha1.DeletionPolicy
	for _, key := range []string{ecsv1alpha1.AnnotationDeletionPolicy, ecsv1alpha1.AnnotationACKDeletionPolicy} {
		policies = append(policies, ecsv1alpha1.DeletionPolicy(strings.ToLower(obj.GetAnnotations()[key])))
	}
	switch {
	case slices.Contains(policies, ecsv1alpha1.DeletionPolicyRetain):
		return ecsv1alpha1.DeletionPolicyRetain
	case slices.Contains(policies, ecsv1alpha1.DeletionPolicyDelete):
		return ecsv1alpha1.DeletionPolicyDelete
	}
	return def
}

// DeletesECSResource reports whether deleting obj must delete (or stop) its ECS resource: its
// deletion policy is delete and neither obj nor the controller is read-only. Every ECS kind's
// Finalize returns at once when it does not.
func DeletesECSResource(obj client.Object, opts Options) bool {
	return DeletionPolicyOf(obj, opts.DeletionPolicy) == ecsv1alpha1.DeletionPolicyDelete && !IsReadOnly(obj, opts)
}

// AdoptName returns the ECS resource named by the adoption annotation, or "".
func AdoptName(obj client.Object) string {
	return strings.TrimSpace(obj.GetAnnotations()[ecsv1alpha1.AnnotationAdopt])
}

// IsReadOnly reports whether the controller must not write to ECS for obj.
func IsReadOnly(obj client.Object, opts Options) bool {
	return opts.ReadOnly || obj.GetAnnotations()[ecsv1alpha1.AnnotationReadOnly] == "true"
}
