package managed

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// Condition reasons of the ECS kinds (reused as Event reasons); the reasons of ECS errors are
// in ecscall, Synced and Deleting in reconciler.
const (
	ReasonClusterNotFound      = "ClusterNotFound"
	ReasonClusterNotReady      = "ClusterNotReady"
	ReasonTaskDefNotFound      = "TaskDefinitionNotFound"
	ReasonTaskDefNotReady      = "TaskDefinitionNotReady"
	ReasonNameTaken            = "NameTaken"
	ReasonAdoptionNotFound     = "AdoptedResourceNotFound"
	ReasonReadOnly             = "ReadOnly"
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
	ReasonServiceEvent         = "ServiceEvent"
	ReasonRevisionRegistered   = "RevisionRegistered"
	ReasonRevisionDeregistered = "RevisionDeregistered"
	// ReasonRollingOut is the Event of an UpdateService that starts a rollout to a new revision.
	ReasonRollingOut = "RollingOut"
)

// StatusOf returns the reconcile skeleton's accessors of an ECS kind's status S, whose
// CommonStatus common returns.
func StatusOf[T client.Object, S any](of func(T) *S, common func(*S) *ecsv1alpha1.CommonStatus) reconciler.Status[T, S] {
	return reconciler.Status[T, S]{
		Of:                 of,
		Conditions:         func(s *S) *[]metav1.Condition { return &common(s).Conditions },
		ObservedGeneration: func(s *S) *int64 { return &common(s).ObservedGeneration },
	}
}

// Config returns the reconcile skeleton's configuration of an ECS kind registered with mgr:
// the manager's cached client, its uncached reader for conflicts, the ECS finalizer, the status
// accessors of S, whose CommonStatus common returns, and NormalizeAliases before every step.
func Config[T client.Object, S any](mgr ctrl.Manager, of func(T) *S, common func(*S) *ecsv1alpha1.CommonStatus) reconciler.Config[T, S] {
	return reconciler.Config[T, S]{
		Client:    mgr.GetClient(),
		Reader:    mgr.GetAPIReader(),
		Finalizer: ecsv1alpha1.Finalizer,
		Status:    StatusOf(of, common),
		Prepare:   func(obj T) { _, _ = NormalizeAliases(obj) },
	}
}

// ReadOnlyDrift is the Problem of a read-only object whose spec differs from its ECS resource
// (difference says how, e.g. "desiredCount differs from ECS service web"); the status still
// mirrors ECS, and nothing is written until the read-only annotation (or --read-only) goes.
func ReadOnlyDrift(difference string) *reconciler.Problem {
	return reconciler.Waiting(ReasonReadOnly, fmt.Sprintf(
		"%s, but the object is read-only: remove annotation %s (or the controller's --read-only) to apply the spec",
		difference, ecsv1alpha1.AnnotationReadOnly))
}
