package core

import (
	"time"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// Options tune every ECS controller. The zero value is completed by Defaults.
type Options struct {
	// DeletionPolicy applies to objects without the deletion-policy annotation.
	DeletionPolicy ecsv1alpha1.DeletionPolicy
	// KeepRevisions is how many of a TaskDefinition's newest revisions stay registered; older
	// ones are deregistered once no Service rollout uses them.
	KeepRevisions int
	// PollInterval is how often the poller describes services and tasks that are changing
	// (rollout in progress, tasks starting or stopping).
	PollInterval time.Duration
	// StablePollInterval is how often it describes those at rest.
	StablePollInterval time.Duration
	// ReadOnly makes every controller observe ECS and mirror status without writing to ECS.
	ReadOnly bool
	// Workers is how many objects of one kind are reconciled at once.
	Workers int
}

// Defaults returns o with zero fields set to their defaults.
func (o Options) Defaults() Options {
	if o.DeletionPolicy == "" {
		o.DeletionPolicy = ecsv1alpha1.DeletionPolicyDelete
	}
	if o.KeepRevisions <= 0 {
		o.KeepRevisions = 3
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.StablePollInterval <= 0 {
		o.StablePollInterval = time.Minute
	}
	return o
}
