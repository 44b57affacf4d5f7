package reconciler

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types the Reconciler maintains.
const (
	// ConditionReady is True when the external resource exists and has converged to the spec.
	ConditionReady = "Ready"
	// ConditionSynced is True when the last reconciliation reached the external API without a
	// Problem.
	ConditionSynced = "Synced"
)

// Reasons the Reconciler itself sets.
const (
	// ReasonSynced: the last reconciliation completed.
	ReasonSynced = "Synced"
	// ReasonDeleting: the object is being deleted and its external resource is not released yet.
	ReasonDeleting = "Deleting"
)

// Readiness is the Ready condition a kind derives from the status it mirrored.
type Readiness struct {
	Ready   bool
	Reason  string
	Message string
}

// SetCondition sets the condition typ on conds, stamped with generation; its
// lastTransitionTime changes only when its status does (meta.SetStatusCondition).
func SetCondition(conds *[]metav1.Condition, generation int64, typ string, ok bool, reason, message string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: generation,
	})
}

// IsReady reports whether conds hold a Ready condition that is True.
func IsReady(conds []metav1.Condition) bool {
	return meta.IsStatusConditionTrue(conds, ConditionReady)
}
