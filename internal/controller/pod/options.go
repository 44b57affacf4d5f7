package pod

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nodeless-dev/nodeless/internal/agentimage"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/podstart"
	"github.com/nodeless-dev/nodeless/internal/prober"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Defaults of Options.
const (
	// DefaultCluster is the ECS cluster the Pods' tasks run in.
	DefaultCluster = "nodeless"
	// DefaultSweepInterval: how often orphan tasks are looked for, unused revisions collected and
	// mirror entries of deleted objects removed. At rest a sweep costs one ListTasks per 100 tasks
	// and one ListSecrets per 100 entries.
	DefaultSweepInterval = 10 * time.Minute
	// DefaultWorkers: Pods reconciled at once.
	DefaultWorkers = 8
	// DefaultFirstPollInterval: how soon a task that was just run (or seen changing) is described
	// again; the interval doubles while it does not change, up to PollInterval. A local task
	// runs ~250 ms after RunTask; polling only every PollInterval (5 s) made a Pod take 4.5 s
	// to become Ready (bench/README.md, "Pods on nodeless up").
	DefaultFirstPollInterval = 100 * time.Millisecond
	// DefaultStablePollInterval: how often running tasks are described (in batches of 100), so
	// how late at most a container's exit is seen: a Job's next Pod waits for it. 10 s costs one
	// DescribeTasks per 100 tasks per 10 s (0.06 reads per Pod per minute with 100 Pods); the
	// ECS controllers' minute made every Job completion wait up to a minute.
	DefaultStablePollInterval = 10 * time.Second
	// DefaultDrainTimeout bounds how long a deleted Pod's StopTask waits for Options.Drained: the
	// EndpointSlice controller and the load balancer take milliseconds; a load balancer that is
	// down must not hold every deletion for long.
	DefaultDrainTimeout = 5 * time.Second
	// drainPoll is how often a Pod waiting for Options.Drained is reconciled again.
	drainPoll = 100 * time.Millisecond
)

// Options configure the Pod controller of one virtual node. The zero value of a field means its
// default (WithDefaults); Mirror is required.
type Options struct {
	// NodeName is the virtual node: the controller runs the Pods whose spec.nodeName is it
	// (translate.DefaultNodeName, "nodeless", by default). Only those Pods are cached.
	NodeName string
	// Cluster is the ECS cluster of the Pods' tasks (DefaultCluster); created at start when
	// missing. It also scopes the mirror's entries (secretsapi.MirrorOptions.ClusterName).
	Cluster string
	// Subnets, SecurityGroups and AssignPublicIP are RunTask's awsvpcConfiguration. No subnet:
	// no networkConfiguration is sent (the local data plane gives every task an address of its
	// VPC; on AWS RunTask needs subnets).
	Subnets, SecurityGroups []string
	AssignPublicIP          bool
	// PlatformVersion is RunTask's Fargate platformVersion ("": ECS's LATEST).
	PlatformVersion string
	// Arch, FamilyPrefix and EnableExecuteCommand are the translation's (translate.Options).
	Arch, FamilyPrefix   string
	EnableExecuteCommand bool
	// NoStdin is the translation's (translate.Options.NoStdin): Pods with stdin or tty fail at
	// once, naming the field, where the data plane keeps no standard input open.
	NoStdin bool
	// ExecutionRoleArn and Logs are the translation's (translate.Options): the task execution
	// role of every task definition, and CloudWatch Logs (awslogs) for every container (nil: none,
	// the local data plane's log files). Logs needs ExecutionRoleArn.
	ExecutionRoleArn string
	Logs             *translate.AWSLogs
	// HostIP is what status.hostIP says ("": the Pod's own address, as the task is its host).
	HostIP string
	// AgentImage is the nodeless agent image of the files container
	// (agentimage.LocalRef("dev") by default, what the local data plane makes).
	AgentImage string
	// KeepRevisions is how many of a family's newest revisions stay registered when no Pod uses
	// them (managed.DefaultKeepRevisions), so that `kubectl rollout undo` finds its revision.
	KeepRevisions int
	// PollInterval and StablePollInterval: how often tasks that are changing, and tasks at rest
	// (DefaultStablePollInterval),
	// are described (in batches of 100 per cluster); 5 s (managed's) and 10 s.
	PollInterval, StablePollInterval time.Duration
	// FirstPollInterval: DefaultFirstPollInterval (poller.Config.FirstInterval).
	FirstPollInterval time.Duration
	// SweepInterval: DefaultSweepInterval.
	SweepInterval time.Duration
	// Workers: DefaultWorkers.
	Workers int
	// Backoff is the restart back-off (DefaultBackoff, the kubelet's).
	Backoff Backoff

	// Mirror keeps Secrets, ConfigMaps used as files and Secret-derived variables in Secrets
	// Manager (a *secretsapi.Mirror). Required.
	Mirror Mirror
	// Host reaches where tasks run: to keep files volumes current, to run the probes (dial the
	// task, exec in it) and to kill a container whose liveness or startup probe failed (Signal).
	// nil: files stay as they were at start, no probe runs (a running container counts as ready
	// and started, as one without probes does), and nothing is killed.
	Host taskhost.Host
	// Probes runs readiness, liveness and startup probes. nil (the usual case): Register makes a
	// *prober.Manager on Host (recording the kubelet's Unhealthy and ProbeWarning Events with
	// the controller's recorder) and adds it to the manager; without a Host none runs. When set,
	// the caller runs it (a *prober.Manager must be added to the manager by the caller).
	Probes Probes
	// Hooks runs lifecycle hooks (nil: preStop hooks are not run before StopTask).
	Hooks Hooks
	// Withdrawers are what send a Pod's Services traffic to its task: the VPC's DNS names
	// (servicedns.Server) and the load balancers (serviceproxy.Proxy). Before the task is stopped
	// (and, for a Pod being deleted, before its preStop hooks run) each is told to withdraw the
	// Pod's address, without waiting for kube-controller-manager to mark the endpoint
	// terminating; then StopTask of a Pod being deleted waits until each says it is drained, or
	// DrainTimeout passed since the deletion began, so that the task gets SIGTERM only once no new
	// connection reaches it (docs/adr/0010-service-names.md, docs/adr/0011-load-balancing.md).
	Withdrawers []Withdrawer
	// DrainTimeout bounds the wait for Withdrawers to drain (DefaultDrainTimeout), and never goes
	// past the Pod's grace period.
	DrainTimeout time.Duration
}

// Withdrawer sends a Pod's Services traffic to its task, and can stop. Neither method may block.
type Withdrawer interface {
	// Withdraw stops sending new traffic to the Pod uid at address ip at once. It is called again
	// for the same Pod when its stop is retried.
	Withdraw(uid types.UID, ip string)
	// Drained reports whether nothing this Withdrawer gave out can still bring the Pod new
	// traffic (no load balancer takes it, no cached answer names it).
	Drained(pod *corev1.Pod) bool
}

// WithDefaults returns o with its zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.StablePollInterval <= 0 {
		o.StablePollInterval = DefaultStablePollInterval
	}
	m := managed.Options{KeepRevisions: o.KeepRevisions, PollInterval: o.PollInterval, StablePollInterval: o.StablePollInterval}.WithDefaults()
	o.KeepRevisions, o.PollInterval, o.StablePollInterval = m.KeepRevisions, m.PollInterval, m.StablePollInterval
	if o.NodeName == "" {
		o.NodeName = translate.DefaultNodeName
	}
	if o.Cluster == "" {
		o.Cluster = DefaultCluster
	}
	if o.AgentImage == "" {
		o.AgentImage = agentimage.LocalRef("dev")
	}
	if o.FirstPollInterval <= 0 {
		o.FirstPollInterval = DefaultFirstPollInterval
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.Backoff == (Backoff{}) {
		o.Backoff = DefaultBackoff()
	}
	return o
}

func (o Options) validate() error {
	if o.Mirror == nil {
		return errors.New("pod controller: Options.Mirror is required (a *secretsapi.Mirror)")
	}
	to := o.translate()
	if to.Logs != nil && to.ExecutionRoleArn == "" {
		// The role may come from the Cluster object (needsExecutionRole); check the rest.
		to.ExecutionRoleArn = "arn:aws:iam::000000000000:role/checked-per-pod"
	}
	_, err := translate.Translate(&corev1.Pod{}, to)
	var bad *translate.RefusedError
	if err != nil && !errors.As(err, &bad) {
		return err
	}
	return nil
}

func (o Options) translate() translate.Options {
	return translate.Options{NodeName: o.NodeName, Arch: o.Arch, FamilyPrefix: o.FamilyPrefix, EnableExecuteCommand: o.EnableExecuteCommand, NoStdin: o.NoStdin,
		ExecutionRoleArn: o.ExecutionRoleArn, Logs: o.Logs}
}

// Mirror is what the controller needs of *secretsapi.Mirror: podstart's calls at start, the
// deletion of a deleted ConfigMap's or Secret's entry (DeleteOf), and the collection of entries
// whose object is gone.
type Mirror interface {
	podstart.Mirror
	DeleteOf(ctx context.Context, owner secretsapi.Owner) (bool, error)
	Orphans(ctx context.Context, alive func(context.Context, secretsapi.Owner) (bool, error)) ([]secretsapi.Owned, error)
	DeleteOwned(ctx context.Context, owned []secretsapi.Owned) error
}

var _ Mirror = (*secretsapi.Mirror)(nil)

// Probes runs the readiness, liveness and startup probes of the Pods' running tasks: the shape
// of *prober.Manager (internal/prober, whose doc says what each call means). The controller calls
// Ensure on every reconcile of a Pod whose task has not stopped (with the start time of each
// running container's run), Terminating when the Pod is being deleted, Remove when its task
// stopped or the Pod is gone, and reads Results when it writes the Pod's status; Source wakes the
// Pod whose results changed. When a Result carries Kill, the controller kills that container
// (taskhost.Host.Signal: SIGTERM, SIGKILL after Kill.GracePeriodSeconds; StopTask where the Host
// cannot signal) and records the kubelet's Killing Event; the task then stops and the controller
// runs the Pod again under its restart policy (ADR 0005, "Restarts").
type Probes interface {
	Ensure(key types.NamespacedName, uid types.UID, task taskhost.Task, plan translate.NodePlan, started map[string]time.Time)
	Terminating(key types.NamespacedName)
	Remove(key types.NamespacedName)
	Results(key types.NamespacedName) map[string]prober.Result
	Source() source.Source
}

var _ Probes = (*prober.Manager)(nil)

// Hooks runs lifecycle hooks. PreStop starts the preStop hooks of the Pod's running task once
// (per uid) and reports whether they have finished; the controller calls it until they have,
// or until the Pod's grace period is over, before it stops the task. It must not block.
type Hooks interface {
	PreStop(key types.NamespacedName, uid types.UID, task taskhost.Task, plan *translate.NodePlan) (done bool)
}
