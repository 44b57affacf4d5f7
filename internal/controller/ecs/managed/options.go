package managed

import (
	"time"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// Defaults of Options: the one place they are defined (`nodeless controller`'s flags and the
// controller manager take them from here).
const (
	DefaultDeletionPolicy     = ecsv1alpha1.DeletionPolicyDelete
	DefaultKeepRevisions      = 3
	DefaultPollInterval       = 5 * time.Second
	DefaultStablePollInterval = time.Minute
	DefaultWorkers            = 4
)

// Options tune every ECS controller. The zero value of a field means its default (WithDefaults).
type Options struct {
	// DeletionPolicy applies to objects without the deletion-policy annotation.
	DeletionPolicy ecsv1alpha1.DeletionPolicy
	// KeepRevisions is how many of a TaskDefinition's newest revisions stay registered; older
	// ones are deregistered once no Service rollout uses them.
	KeepRevisions int
	// PollInterval is how often the poller describes services and tasks that are changing
	// (rollout in progress, tasks starting or stopping).
	PollInterval time.Duration
	// StablePollInterval is how often it describes those at rest, and how often a Cluster's
	// counts are read again (a status change of its Services and Tasks reads them at once).
	StablePollInterval time.Duration
	// ReadOnly makes every controller observe ECS and mirror status without writing to ECS.
	ReadOnly bool
	// Workers is how many objects of one kind are reconciled at once.
	Workers int
	// Defaults are the controller's defaults of awsvpc launches (--default-subnets, ...): a
	// Service or Task takes them where neither its spec nor its Cluster's spec.defaults sets them
	// (LaunchNetwork); ExecutionRoleArn and LogGroup apply to TaskDefinitions (which belong to no
	// cluster) that leave them out.
	Defaults fargate.Defaults
}

// WithDefaults returns o with its zero (or negative) fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.DeletionPolicy == "" {
		o.DeletionPolicy = DefaultDeletionPolicy
	}
	if o.KeepRevisions <= 0 {
		o.KeepRevisions = DefaultKeepRevisions
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.StablePollInterval <= 0 {
		o.StablePollInterval = DefaultStablePollInterval
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	return o
}
