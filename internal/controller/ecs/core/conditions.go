package core

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// Condition reasons, reused as Event reasons.
const (
	ReasonSynced               = "Synced"
	ReasonInvalidSpec          = "InvalidSpec"
	ReasonThrottled            = "Throttled"
	ReasonConflict             = "Conflict"
	ReasonECSError             = "ECSError"
	ReasonNotFound             = "NotFound"
	ReasonClusterNotFound      = "ClusterNotFound"
	ReasonClusterNotReady      = "ClusterNotReady"
	ReasonTaskDefNotFound      = "TaskDefinitionNotFound"
	ReasonTaskDefNotReady      = "TaskDefinitionNotReady"
	ReasonNameTaken            = "NameTaken"
	ReasonAdoptionNotFound     = "AdoptedResourceNotFound"
	ReasonActive               = "Active"
	ReasonNotActive            = "NotActive"
	ReasonRegistered           = "Registered"
	ReasonRolloutComplete      = "RolloutComplete"
	ReasonRolloutInProgress    = "RolloutInProgress"
	ReasonRolloutFailed        = "RolloutFailed"
	ReasonRunning              = "Running"
	ReasonStarting             = "Starting"
	ReasonCompleted            = "Completed"
	ReasonStopped              = "Stopped"
	ReasonRunTaskFailed        = "RunTaskFailed"
	ReasonDeleting             = "Deleting"
	ReasonReadOnly             = "ReadOnly"
	ReasonServiceEvent         = "ServiceEvent"
	ReasonRevisionRegistered   = "RevisionRegistered"
	ReasonRevisionDeregistered = "RevisionDeregistered"
	ReasonRolledOut            = "RollingOut"
)

// SetCondition sets a condition of the given type on conds, stamped with generation.
func SetCondition(conds *[]metav1.Condition, generation int64, typ string, ok bool, reason, message string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: generation,
	})
}

// SetSynced records a successful reconciliation.
func SetSynced(s *ecsv1alpha1.CommonStatus, generation int64) {
	SetCondition(&s.Conditions, generation, ecsv1alpha1.ConditionSynced, true, ReasonSynced, "")
	s.ObservedGeneration = generation
}

// SetReady sets the Ready condition.
func SetReady(s *ecsv1alpha1.CommonStatus, generation int64, ok bool, reason, message string) {
	SetCondition(&s.Conditions, generation, ecsv1alpha1.ConditionReady, ok, reason, message)
}

// SetNotSynced records a failed reconciliation; Ready turns False with the same reason unless
// keepReady is true (the ECS resource may still be fine).
func SetNotSynced(s *ecsv1alpha1.CommonStatus, generation int64, reason, message string) {
	SetCondition(&s.Conditions, generation, ecsv1alpha1.ConditionSynced, false, reason, message)
}

// IsReady reports whether the Ready condition is True.
func IsReady(s *ecsv1alpha1.CommonStatus) bool {
	return meta.IsStatusConditionTrue(s.Conditions, ecsv1alpha1.ConditionReady)
}
