package scheduler

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/fakeruntime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

const testCluster = "default"

var testARNs = model.ARNs{Region: "us-east-1", Account: "000000000000"}

// harness runs a Scheduler over a real store, the fake runtime and a fake clock.
type harness struct {
	t      testing.TB
	store  *store.Store
	rt     *fakeruntime.Runtime
	clock  *clocktesting.FakeClock
	s      *Scheduler
	cancel context.CancelFunc
	done   chan error
	// subnet is the VPC's subnet of the schedulers that start runs (the default when zero).
	subnet ipam.Subnet
	// startHold replaces the schedulers' defaultStartHold when set.
	startHold time.Duration
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, store: st, rt: fakeruntime.New(), clock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	h.seed()
	return h
}

// start runs a new Scheduler (as a new process would) on the harness's store and runtime.
func (h *harness) start() { h.startWith(nil) }

// startWith is start with options changed by opt (when not nil).
func (h *harness) startWith(opt func(*Options)) {
	h.t.Helper()
	opts := Options{Store: h.store, Runtime: h.rt, ARNs: testARNs, Clock: h.clock, Logger: logr.Discard(), Workers: 4, Subnet: h.subnet}
	if opt != nil {
		opt(&opts)
	}
	h.s = New(opts)
	if h.startHold > 0 {
		h.s.startHold = h.startHold
	}
	h.rt.SetObserver(h.s.Observe)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.s.Run(ctx) }()
	select {
	case <-h.s.Ready():
	case err := <-h.done:
		h.t.Fatalf("scheduler stopped before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		h.t.Fatal("scheduler not ready after 10s")
	}
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("scheduler Run: %v", err)
	}
	h.cancel = nil
}

// settle waits until the scheduler has nothing queued or under way.
func (h *harness) settle() {
	h.t.Helper()
	h.eventually("the scheduler settles", func() bool {
		if !h.s.idle() {
			return false
		}
		time.Sleep(2 * time.Millisecond)
		return h.s.idle()
	})
}

func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) seed() {
	h.t.Helper()
	err := h.store.Update(func(tx *store.Tx) error {
		if err := tx.PutCluster(&store.ClusterRecord{Cluster: model.Cluster{
			ClusterArn: testARNs.Cluster(testCluster), ClusterName: testCluster, Status: model.StatusActive,
		}}); err != nil {
			return err
		}
		for _, td := range []*model.TaskDefinition{
			taskDef("web", 1, true), taskDef("web", 2, true), taskDef("bad", 1, false), taskDef("plain", 1, false),
		} {
			if err := tx.PutTaskDefinition(&store.TaskDefinitionRecord{TaskDefinition: *td}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.t.Fatalf("seeding store: %v", err)
	}
}

// taskDef is an essential "app" container with a port mapping (and a health check when checked)
// and a non-essential "sidecar".
func taskDef(family string, rev int32, checked bool) *model.TaskDefinition {
	app := model.ContainerDefinition{
		Name: ptr("app"), Image: ptr(fmt.Sprintf("%s:%d", family, rev)), Essential: ptr(true),
		PortMappings: []model.PortMapping{{ContainerPort: ptr(int32(8080))}},
	}
	if checked {
		app.HealthCheck = &model.HealthCheck{Command: []string{"CMD", "true"}}
	}
	side := model.ContainerDefinition{Name: ptr("sidecar"), Image: ptr("sidecar:1"), Essential: ptr(false)}
	return &model.TaskDefinition{
		TaskDefinitionArn: testARNs.TaskDefinition(family, rev), Family: family, Revision: rev,
		Status: model.StatusActive, ContainerDefinitions: []model.ContainerDefinition{app, side},
		Cpu: ptr("256"), Memory: ptr("512"),
	}
}

// runTask stores a PROVISIONING standalone task as RunTask does (with its VPC address, in the same
// transaction: PrepareTask) and tells the scheduler.
func (h *harness) runTask(family string, rev int32) string {
	h.t.Helper()
	return h.storeTask(family, rev, true)
}

// storeTask is runTask, without the address when prepare is false (as an older data plane's
// RunTask stored a task).
func (h *harness) storeTask(family string, rev int32, prepare bool) string {
	h.t.Helper()
	id := model.NewTaskID()
	t := model.NewTask(testARNs, model.NewTaskInput{
		Cluster: testCluster, ID: id, Definition: taskDef(family, rev, true), CreatedAt: h.clock.Now(),
	})
	h.update(func(tx *store.Tx) error {
		if err := tx.PutTask(testCluster, id, &store.TaskRecord{Task: t}); err != nil || !prepare {
			return err
		}
		return h.s.PrepareTask(tx, testCluster, id)
	})
	h.s.TaskCreated(testCluster, id)
	return id
}

// stopTaskAPI does what StopTask does.
func (h *harness) stopTaskAPI(id string) {
	h.t.Helper()
	h.update(func(tx *store.Tx) error {
		r, err := tx.GetTask(testCluster, id)
		if err != nil {
			return err
		}
		r.Task.DesiredStatus = model.TaskStatusStopped
		r.Task.StopCode = ptr(model.StopCodeUserInitiated)
		r.Task.StoppedReason = ptr("Task stopped by user")
		r.Task.StoppingAt = timeOf(h.clock.Now())
		r.Task.Version++
		return tx.PutTask(testCluster, id, r)
	})
	h.s.TaskStopRequested(testCluster, id)
}

type serviceOpts struct {
	desired, min, max int32
	breaker           *model.DeploymentCircuitBreaker
	strategy          []model.CapacityProviderStrategyItem
	// loadBalancers and grace are the service's loadBalancers and healthCheckGracePeriodSeconds,
	// set at creation as CreateService sets them (added later, a task may already be RUNNING
	// unregistered).
	loadBalancers []model.LoadBalancer
	grace         *int32
}

// createService stores a service as CreateService does and tells the scheduler.
func (h *harness) createService(name, family string, rev int32, o serviceOpts) {
	h.t.Helper()
	dep := model.Deployment{
		ID: model.NewDeploymentID(), Status: model.DeploymentPrimary, TaskDefinition: testARNs.TaskDefinition(family, rev),
		DesiredCount: o.desired, CreatedAt: timeOf(h.clock.Now()), UpdatedAt: timeOf(h.clock.Now()),
		LaunchType: model.LaunchTypeFargate, RolloutState: model.RolloutInProgress, CapacityProviderStrategy: o.strategy,
	}
	svc := model.Service{
		ServiceArn: testARNs.Service(testCluster, name), ServiceName: name, ClusterArn: testARNs.Cluster(testCluster),
		Status: model.StatusActive, DesiredCount: o.desired, LaunchType: model.LaunchTypeFargate,
		TaskDefinition: dep.TaskDefinition, Deployments: []model.Deployment{dep}, Events: []model.ServiceEvent{},
		DeploymentConfiguration: &model.DeploymentConfiguration{
			MinimumHealthyPercent: ptr(o.min), MaximumPercent: ptr(o.max), DeploymentCircuitBreaker: o.breaker,
		},
		LoadBalancers: o.loadBalancers, HealthCheckGracePeriodSeconds: o.grace,
	}
	h.update(func(tx *store.Tx) error { return tx.PutService(testCluster, &store.ServiceRecord{Service: svc}) })
	h.s.ServiceChanged(testCluster, name)
}

// deploy does what UpdateService with a new task definition does.
func (h *harness) deploy(name, family string, rev int32) string {
	h.t.Helper()
	id := model.NewDeploymentID()
	h.update(func(tx *store.Tx) error {
		r, err := tx.GetService(testCluster, name)
		if err != nil {
			return err
		}
		for i := range r.Service.Deployments {
			if r.Service.Deployments[i].Status == model.DeploymentPrimary {
				r.Service.Deployments[i].Status = model.DeploymentActive
			}
		}
		dep := model.Deployment{
			ID: id, Status: model.DeploymentPrimary, TaskDefinition: testARNs.TaskDefinition(family, rev),
			DesiredCount: r.Service.DesiredCount, CreatedAt: timeOf(h.clock.Now()), UpdatedAt: timeOf(h.clock.Now()),
			LaunchType: model.LaunchTypeFargate, RolloutState: model.RolloutInProgress,
		}
		r.Service.TaskDefinition = dep.TaskDefinition
		r.Service.Deployments = append([]model.Deployment{dep}, r.Service.Deployments...)
		return tx.PutService(testCluster, r)
	})
	h.s.ServiceChanged(testCluster, name)
	return id
}

func (h *harness) update(fn func(tx *store.Tx) error) {
	h.t.Helper()
	if err := h.store.Update(fn); err != nil {
		h.t.Fatalf("store update: %v", err)
	}
}

func (h *harness) task(id string) *store.TaskRecord {
	h.t.Helper()
	var r *store.TaskRecord
	err := h.store.View(func(tx *store.Tx) error {
		var err error
		r, err = tx.GetTask(testCluster, id)
		return err
	})
	if err != nil {
		h.t.Fatalf("reading task %s: %v", id, err)
	}
	return r
}

func (h *harness) service(name string) *store.ServiceRecord {
	h.t.Helper()
	var r *store.ServiceRecord
	err := h.store.View(func(tx *store.Tx) error {
		var err error
		r, err = tx.GetService(testCluster, name)
		return err
	})
	if err != nil {
		h.t.Fatalf("reading service %s: %v", name, err)
	}
	return r
}

func (h *harness) tasksTx(tx *store.Tx) []*store.TaskRecord {
	out, err := tx.Tasks(testCluster)
	if err != nil {
		h.t.Errorf("listing tasks: %v", err)
	}
	return out
}

func (h *harness) tasks() []*store.TaskRecord {
	var out []*store.TaskRecord
	err := h.store.View(func(tx *store.Tx) error {
		var err error
		out, err = tx.Tasks(testCluster)
		return err
	})
	if err != nil {
		h.t.Errorf("listing tasks: %v", err)
	}
	return out
}

// census counts a service's tasks: not STOPPED (the upper bound), healthy (the lower bound),
// RUNNING by lastStatus, and live (not STOPPED, still wanted) per task definition.
type census struct {
	notStopped, healthy, running int
	live                         map[string]int
}

// Healthy is judged by the scheduler's own rules (health.go) at the fake clock's time.
func (h *harness) census(service string) census {
	c := census{live: map[string]int{}}
	var svc *model.Service
	defs := map[string]*model.TaskDefinition{}
	err := h.store.View(func(tx *store.Tx) error {
		if r, err := tx.GetService(testCluster, service); err == nil {
			svc = &r.Service
		}
		for _, r := range h.tasksTx(tx) {
			if _, ok := defs[r.Task.TaskDefinitionArn]; !ok {
				defs[r.Task.TaskDefinitionArn], _ = taskDefinition(tx, r.Task.TaskDefinitionArn)
			}
		}
		return nil
	})
	if err != nil {
		h.t.Errorf("reading the service and task definitions: %v", err)
	}
	for _, r := range h.tasks() {
		if r.ServiceName != service {
			continue
		}
		t := &r.Task
		if t.LastStatus != model.TaskStatusStopped {
			c.notStopped++
		}
		if t.LastStatus == model.TaskStatusRunning {
			c.running++
		}
		if h.s.health.judge(t, defs[t.TaskDefinitionArn], svc, h.clock.Now()).Healthy {
			c.healthy++
		}
		if live(r) {
			c.live[t.TaskDefinitionArn]++
		}
	}
	return c
}

func (h *harness) hasEvent(service, msg string) bool {
	for _, e := range h.service(service).Service.Events {
		if e.Message == msg {
			return true
		}
	}
	return false
}
