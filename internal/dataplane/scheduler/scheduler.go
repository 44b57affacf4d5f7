package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/secretstore"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

const (
	defaultResyncPeriod     = 10 * time.Second
	defaultWorkers          = 16
	defaultStoppedRetention = time.Hour
)

// Options configures a Scheduler.
type Options struct {
	Store   *store.Store
	Runtime runtime.Runtime
	ARNs    model.ARNs
	// Secrets resolves the containers' secrets[].valueFrom when a task starts (default: the
	// Secrets Manager store over Store, package secretstore).
	Secrets SecretResolver
	// Clock drives the periodic resync and the retention of stopped tasks (default: the real clock).
	Clock  clock.WithTicker
	Logger logr.Logger
	// ResyncPeriod is how often every service and unfinished task is looked at again (default 10 s).
	ResyncPeriod time.Duration
	// Workers is how many tasks and services are worked on at once (default 16).
	Workers int
	// StoppedRetention is how long STOPPED tasks and INACTIVE services stay describable (default 1 h).
	StoppedRetention time.Duration
	// HealthyAfterRunning is how long a task without an essential container health check must be
	// RUNNING before it counts as healthy: toward minimumHealthyPercent, for the rollout to complete,
	// and to reset the circuit breaker (default DefaultHealthyAfterRunning, ECS's 40 s; shorter only
	// for impatient local use). A task with health checks counts once HEALTHY. See health.go.
	HealthyAfterRunning time.Duration
	// TargetHealth is the load balancers' verdict on tasks of services with loadBalancers (default
	// none: the container rules alone apply).
	TargetHealth TargetHealth
	// Targets registers RUNNING service tasks in their load balancers' target groups and
	// deregisters tasks being stopped, which then stay DEACTIVATING while they drain (default
	// none).
	Targets Targets
	// Subnet is the local VPC's subnet: every task gets an address of it, reported as its ENI's
	// privateIPv4Address (default ipam.Default()).
	Subnet ipam.Subnet
}

// SecretResolver resolves the secrets of a task's container definitions when it starts:
// container name → its variables (ContainerSecrets), or its registry credentials (RegistryAuth,
// from repositoryCredentials); the error is the task's stoppedReason. *secretstore.Store
// implements it.
type SecretResolver interface {
	ContainerSecrets(defs []model.ContainerDefinition) (map[string][]model.KeyValuePair, error)
	RegistryAuth(defs []model.ContainerDefinition) (map[string]model.RegistryAuth, error)
}

type keyKind int

const (
	kindTask keyKind = iota
	kindService
)

// key names one unit of work: a task (by ID, unique across clusters) or a service.
type key struct {
	kind    keyKind
	cluster string
	name    string
}

func taskKey(id string) key { return key{kind: kindTask, name: id} }
func serviceKey(cluster, name string) key {
	return key{kind: kindService, cluster: cluster, name: name}
}

// Scheduler runs the task lifecycle and the service scheduler. It implements component.Component.
type Scheduler struct {
	store     *store.Store
	rt        runtime.Runtime
	secrets   SecretResolver
	arns      model.ARNs
	clock     clock.WithTicker
	log       logr.Logger
	resync    time.Duration
	workers   int
	retention time.Duration
	health    healthRules
	targets   Targets
	subnet    ipam.Subnet

	queue workqueue.TypedRateLimitingInterface[key]
	ready chan struct{}

	mu       sync.Mutex
	observed map[string]runtime.TaskState // latest runtime state not yet applied, by task ID
	clusters map[string]string            // task ID → cluster name
	busy     int                          // workers handling a key (for tests)
	// events counts what the runtime and the API told the scheduler (Observe, TaskCreated,
	// TaskStopRequested, ServiceChanged); wake is closed and replaced on each (holdStart).
	events uint64
	wake   chan struct{}
	// startHold bounds holdStart (defaultStartHold; tests make it long, so that only events end it).
	startHold time.Duration
}

// New returns a Scheduler; Run starts it.
func New(opts Options) *Scheduler {
	s := &Scheduler{
		store: opts.Store, rt: opts.Runtime, secrets: opts.Secrets, arns: opts.ARNs, clock: opts.Clock, log: opts.Logger,
		resync: opts.ResyncPeriod, workers: opts.Workers, retention: opts.StoppedRetention,
		health: healthRules{afterRunning: opts.HealthyAfterRunning, targets: opts.TargetHealth},
		subnet: opts.Subnet, targets: opts.Targets,
		ready:    make(chan struct{}),
		observed: map[string]runtime.TaskState{},
		clusters: map[string]string{},
		wake:     make(chan struct{}),

		startHold: defaultStartHold,
	}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	if s.secrets == nil {
		s.secrets = secretstore.New(opts.Store, opts.ARNs, s.clock)
	}
	if s.resync <= 0 {
		s.resync = defaultResyncPeriod
	}
	if s.workers <= 0 {
		s.workers = defaultWorkers
	}
	if s.retention <= 0 {
		s.retention = defaultStoppedRetention
	}
	if s.health.afterRunning <= 0 {
		s.health.afterRunning = DefaultHealthyAfterRunning
	}
	if s.subnet.IsZero() {
		s.subnet = ipam.Default()
	}
	s.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[key](100*time.Millisecond, 30*time.Second),
		workqueue.TypedRateLimitingQueueConfig[key]{Name: "", Clock: s.clock},
	)
	return s
}

// Name implements component.Component.
func (s *Scheduler) Name() string { return "scheduler" }

// Ready is closed once recovery is done and the workers run.
func (s *Scheduler) Ready() <-chan struct{} { return s.ready }

// Run recovers from the store (Attach to every task that is not STOPPED and was started, start the
// PROVISIONING tasks that never were), then works until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	defer s.queue.ShutDown()
	if err := s.recover(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // shut down while recovering: the next start recovers again
		}
		return fmt.Errorf("recovering tasks and services from the store: %w", err)
	}
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			for s.processNext(ctx) {
			}
		})
	}
	close(s.ready)
	ticker := s.clock.NewTicker(s.resync)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			s.queue.ShutDown()
			wg.Wait()
			return nil
		case <-ticker.C():
			if err := s.enqueueAll(); err != nil {
				s.log.Error(err, "resync failed")
			}
		}
	}
}

// Observe is the runtime's Observer: it remembers the latest state and queues the task. It never
// blocks.
func (s *Scheduler) Observe(taskID string, st runtime.TaskState) {
	s.mu.Lock()
	s.observed[taskID] = st
	s.eventLocked()
	s.mu.Unlock()
	s.queue.Add(taskKey(taskID))
}

// TaskCreated queues a task the API stored as PROVISIONING (RunTask).
func (s *Scheduler) TaskCreated(cluster, taskID string) {
	s.remember(taskID, cluster)
	s.queue.Add(taskKey(taskID))
}

// TaskStopRequested queues a task whose desiredStatus the API set to STOPPED (StopTask).
func (s *Scheduler) TaskStopRequested(cluster, taskID string) {
	s.remember(taskID, cluster)
	s.queue.Add(taskKey(taskID))
}

// ServiceChanged queues a service the API created, updated or deleted.
func (s *Scheduler) ServiceChanged(cluster, service string) {
	s.mu.Lock()
	s.eventLocked()
	s.mu.Unlock()
	s.queue.Add(serviceKey(cluster, service))
}

func (s *Scheduler) remember(taskID, cluster string) {
	s.mu.Lock()
	s.clusters[taskID] = cluster
	s.eventLocked()
	s.mu.Unlock()
}

// eventLocked counts an event and wakes holdStart. s.mu is held.
func (s *Scheduler) eventLocked() {
	s.events++
	close(s.wake)
	s.wake = make(chan struct{})
}

// takeObservation returns and forgets the latest unapplied runtime state of a task.
func (s *Scheduler) takeObservation(taskID string) (runtime.TaskState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.observed[taskID]
	delete(s.observed, taskID)
	return st, ok
}

// putBackObservation restores an observation that could not be applied, unless a newer one came.
func (s *Scheduler) putBackObservation(taskID string, st runtime.TaskState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, newer := s.observed[taskID]; !newer {
		s.observed[taskID] = st
	}
}

func (s *Scheduler) processNext(ctx context.Context) bool {
	k, shutdown := s.queue.Get()
	if shutdown {
		return false
	}
	s.setBusy(1)
	defer s.setBusy(-1)
	defer s.queue.Done(k)
	var err error
	switch k.kind {
	case kindTask:
		err = s.syncTask(ctx, k.name)
	case kindService:
		err = s.syncService(ctx, k.cluster, k.name)
	}
	if err == nil || ctx.Err() != nil {
		s.queue.Forget(k)
		return true
	}
	s.log.Error(err, "scheduler work failed, retrying", "kind", k.kind, "cluster", k.cluster, "name", k.name)
	s.queue.AddRateLimited(k)
	return true
}

func (s *Scheduler) setBusy(d int) {
	s.mu.Lock()
	s.busy += d
	s.mu.Unlock()
}

// idle reports whether no work is queued or under way (tests use it to take a consistent look).
func (s *Scheduler) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy == 0 && s.queue.Len() == 0 && len(s.observed) == 0
}

// enqueueAll queues every service and every task that still needs something done.
func (s *Scheduler) enqueueAll() error {
	now := s.clock.Now()
	var services []key
	var tasks []string
	err := s.store.View(func(tx *store.Tx) error {
		svcs, err := tx.Services("")
		if err != nil {
			return err
		}
		for _, r := range svcs {
			cluster := clusterName(r.Service.ClusterArn)
			services = append(services, serviceKey(cluster, r.Service.ServiceName))
		}
		recs, err := tx.Tasks("")
		if err != nil {
			return err
		}
		for _, r := range recs {
			id := taskID(r.Task.TaskArn)
			s.remember(id, clusterName(r.Task.ClusterArn))
			if s.taskNeedsWork(r, now) {
				tasks = append(tasks, id)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing services and tasks: %w", err)
	}
	for _, k := range services {
		s.queue.Add(k)
	}
	for _, id := range tasks {
		s.queue.Add(taskKey(id))
	}
	return nil
}

// taskNeedsWork reports whether a task is not finished: not STOPPED, not cleaned up, or due for
// deletion.
func (s *Scheduler) taskNeedsWork(r *store.TaskRecord, now time.Time) bool {
	t := &r.Task
	if t.LastStatus != model.TaskStatusStopped {
		return true
	}
	return !r.Scheduler.RuntimeRemoved || expired(t.StoppedAt, now, s.retention)
}

func expired(at *model.Time, now time.Time, retention time.Duration) bool {
	return at == nil || !now.Before(at.Add(retention))
}

// clusterOf finds the cluster of a task: from memory, else from the store.
func (s *Scheduler) clusterOf(id string) (string, error) {
	s.mu.Lock()
	c, ok := s.clusters[id]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	var found string
	err := s.store.View(func(tx *store.Tx) error {
		recs, err := tx.Tasks("")
		if err != nil {
			return err
		}
		for _, r := range recs {
			if taskID(r.Task.TaskArn) == id {
				found = clusterName(r.Task.ClusterArn)
				return nil
			}
		}
		return store.ErrNotFound
	})
	if err != nil {
		return "", err
	}
	s.remember(id, found)
	return found, nil
}

// clusterName is the name in a cluster ARN (or the name itself).
func clusterName(arn string) string {
	if r, ok := model.ParseARN(arn); ok && r.Type == "cluster" && len(r.Parts) > 0 {
		return r.Parts[0]
	}
	return arn
}

// taskID is the last part of a task ARN.
func taskID(arn string) string {
	if r, ok := model.ParseARN(arn); ok && len(r.Parts) > 0 {
		return r.Parts[len(r.Parts)-1]
	}
	return arn
}

// taskDefinition resolves a task definition ARN (or family:revision) in the store.
func taskDefinition(tx *store.Tx, ref string) (*model.TaskDefinition, error) {
	name := ref
	if r, ok := model.ParseARN(ref); ok && r.Type == "task-definition" && len(r.Parts) > 0 {
		name = r.Parts[0]
	}
	family, rev, err := model.ParseFamilyRevision(name)
	if err != nil {
		return nil, fmt.Errorf("task definition %s: %w", ref, err)
	}
	rec, err := tx.GetTaskDefinition(family, rev)
	if err != nil {
		return nil, fmt.Errorf("task definition %s: %w", ref, err)
	}
	return &rec.TaskDefinition, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
