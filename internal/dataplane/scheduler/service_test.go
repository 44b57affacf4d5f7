package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/fakeruntime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

func (h *harness) waitSteady(name string, desired int) {
	h.t.Helper()
	h.eventually("service "+name+" reaches a steady state", func() bool {
		r := h.service(name)
		p := r.Service.Deployments[0]
		return len(r.Service.Deployments) == 1 && p.RolloutState == model.RolloutCompleted &&
			int(r.Service.RunningCount) == desired && r.Service.PendingCount == 0 && h.hasEvent(name, msgSteady(name))
	})
}

func serviceTaskIDs(h *harness, name string, keep func(*store.TaskRecord) bool) []string {
	var out []string
	for _, r := range h.tasks() {
		if r.ServiceName == name && keep(r) {
			out = append(out, taskID(r.Task.TaskArn))
		}
	}
	return out
}

func TestServiceStartsTasksAndReplacesStoppedOnes(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 3, min: 100, max: 200})
	h.waitSteady("web", 3)
	r := h.service("web")
	dep := r.Service.Deployments[0]
	if dep.RunningCount != 3 || r.Scheduler.LastStableTaskDefinition != testARNs.TaskDefinition("web", 1) {
		t.Errorf("deployment runningCount %d, lastStable %q", dep.RunningCount, r.Scheduler.LastStableTaskDefinition)
	}
	for _, tr := range h.tasks() {
		if deref(tr.Task.StartedBy) != dep.ID || deref(tr.Task.Group) != "service:web" || tr.DeploymentID != dep.ID {
			t.Errorf("task %s: startedBy %q group %q deployment %q", tr.Task.TaskArn, deref(tr.Task.StartedBy), deref(tr.Task.Group), tr.DeploymentID)
		}
	}
	victim := serviceTaskIDs(h, "web", live)[0]
	h.rt.Exit(victim, "app", 1)
	h.eventually("the exited task is replaced", func() bool {
		c := h.census("web")
		return h.task(victim).Task.LastStatus == model.TaskStatusStopped && c.running == 3 && c.notStopped == 3
	})
	if n := len(h.rt.Calls().Start); n != 4 {
		t.Errorf("runtime Start calls = %d, want 4 (3 + 1 replacement)", n)
	}
}

func TestServiceReplacesUnhealthyTask(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 2, min: 100, max: 200})
	h.waitSteady("web", 2)
	victim := serviceTaskIDs(h, "web", live)[0]
	h.rt.SetHealth(victim, "app", model.HealthUnhealthy)
	h.eventually("the unhealthy task is stopped and replaced", func() bool {
		r := h.task(victim)
		c := h.census("web")
		return r.Task.LastStatus == model.TaskStatusStopped && c.healthy == 2 && c.notStopped == 2
	})
	r := h.task(victim)
	if deref(r.Task.StopCode) != model.StopCodeServiceSchedulerInitiated || deref(r.Task.StoppedReason) != reasonUnhealthy {
		t.Errorf("unhealthy task stopped with %s %q", deref(r.Task.StopCode), deref(r.Task.StoppedReason))
	}
	if !h.hasEvent("web", msgUnhealthy("web", victim)) {
		t.Errorf("no health check event for %s", victim)
	}
}

// boundsChecker asserts the rolling-update bounds of a service at every runtime Start and Stop (the
// moments a bound can be broken: the decision is already stored) and whenever check is called.
type boundsChecker struct {
	h                  *harness
	service            string
	minHealthy, maxAll int
	mu                 sync.Mutex
	peak               int
}

func (b *boundsChecker) check(when string) {
	c := b.h.census(b.service)
	b.mu.Lock()
	b.peak = max(b.peak, c.notStopped)
	b.mu.Unlock()
	if c.notStopped > b.maxAll {
		b.h.t.Errorf("%s: %d tasks not STOPPED, above the maximum %d", when, c.notStopped, b.maxAll)
	}
	if c.healthy < b.minHealthy {
		b.h.t.Errorf("%s: %d healthy RUNNING tasks, below the minimum %d", when, c.healthy, b.minHealthy)
	}
}

// TestRollingUpdateStaysWithinBounds rolls a service of 4 with min 50 / max 150 and asserts at every
// step that at least 2 tasks are healthy and RUNNING and at most 6 are not STOPPED. Tasks become
// RUNNING one at a time, only when the test says so, so every intermediate state is visited.
func TestRollingUpdateStaysWithinBounds(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 4, min: 50, max: 150})
	h.waitSteady("web", 4)

	b := &boundsChecker{h: h, service: "web", minHealthy: 2, maxAll: 6}
	h.rt.OnStart = fakeruntime.PendingState
	h.rt.BeforeStart = func(string) { b.check("at Start") }
	h.rt.BeforeStop = func(string) { b.check("at Stop") }
	newDep := h.deploy("web", "web", 2)

	for step := 0; ; step++ {
		h.settle()
		b.check("settled")
		if step > 100 {
			t.Fatal("rollout did not complete in 100 steps")
		}
		r := h.service("web")
		if len(r.Service.Deployments) == 1 && r.Service.Deployments[0].RolloutState == model.RolloutCompleted {
			break
		}
		pending := serviceTaskIDs(h, "web", func(r *store.TaskRecord) bool {
			return live(r) && r.Task.LastStatus != model.TaskStatusRunning && r.Scheduler.RuntimeStarted
		})
		if len(pending) == 0 {
			t.Fatalf("step %d: rollout stuck: no pending task, deployments %+v", step, r.Service.Deployments)
		}
		h.rt.RunAll(pending[0])
	}
	r := h.service("web")
	if r.Service.Deployments[0].ID != newDep || r.Service.TaskDefinition != testARNs.TaskDefinition("web", 2) {
		t.Errorf("PRIMARY %s of %s, want %s of web:2", r.Service.Deployments[0].ID, r.Service.TaskDefinition, newDep)
	}
	c := h.census("web")
	if c.live[testARNs.TaskDefinition("web", 2)] != 4 || c.notStopped != 4 {
		t.Errorf("after the rollout: live %v, not stopped %d; want 4 of web:2", c.live, c.notStopped)
	}
	if b.peak != 6 {
		t.Errorf("peak of tasks not STOPPED = %d, want the rollout to use the whole room up to 6", b.peak)
	}
	if !h.hasEvent("web", msgDeploymentCompleted("web", newDep)) {
		t.Error("no deployment completed event")
	}
}

func TestRollingUpdateMax100Min0(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 1, min: 0, max: 100})
	h.waitSteady("web", 1)
	b := &boundsChecker{h: h, service: "web", minHealthy: 0, maxAll: 1}
	h.rt.BeforeStart = func(string) { b.check("at Start") }
	h.deploy("web", "web", 2)
	h.waitSteady("web", 1)
	if c := h.census("web"); c.live[testARNs.TaskDefinition("web", 2)] != 1 {
		t.Errorf("live after rollout: %v", c.live)
	}
}

func TestCircuitBreakerTripsAndRollsBack(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 4, min: 50, max: 150,
		breaker: &model.DeploymentCircuitBreaker{Enable: true, Rollback: true}})
	h.waitSteady("web", 4)
	h.rt.OnStart = exitAtOnce("bad")
	b := &boundsChecker{h: h, service: "web", minHealthy: 2, maxAll: 6}
	h.rt.BeforeStart = func(string) { b.check("at Start") }
	failed := h.deploy("web", "bad", 1)

	h.eventually("the rollback completes", func() bool {
		h.clock.Step(100 * time.Millisecond) // launches back off after failures
		r := h.service("web")
		p := r.Service.Deployments[0]
		return len(r.Service.Deployments) == 1 && p.ID != failed && p.RolloutState == model.RolloutCompleted &&
			r.Service.RunningCount == 4
	})
	r := h.service("web")
	if r.Service.TaskDefinition != testARNs.TaskDefinition("web", 1) || r.Service.Deployments[0].TaskDefinition != testARNs.TaskDefinition("web", 1) {
		t.Errorf("after rollback the service runs %s", r.Service.TaskDefinition)
	}
	if !h.hasEvent("web", msgDeploymentFailed("web", failed)) {
		t.Error("no deployment failed event")
	}
	badStarts := 0
	for _, tr := range h.tasks() {
		if tr.DeploymentID == failed {
			badStarts++
		}
	}
	// Launches stop at the threshold (3), plus what was already in flight: up to desiredCount-1.
	if badStarts < 3 || badStarts > 3+4-1 {
		t.Errorf("%d tasks of the failed deployment were launched, want 3..6", badStarts)
	}
	rolledBack := false
	for _, e := range r.Service.Events {
		rolledBack = rolledBack || len(e.Message) > 0 && e.Message[:len("(service web) rolling back to deployment")] == "(service web) rolling back to deployment"
	}
	if !rolledBack {
		t.Error("no rolling back event")
	}
	if c := h.census("web"); c.notStopped != 4 || c.live[testARNs.TaskDefinition("web", 1)] != 4 {
		t.Errorf("after rollback: %+v", c)
	}
}

func TestCircuitBreakerWithoutRollbackStopsLaunching(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 2, min: 100, max: 200,
		breaker: &model.DeploymentCircuitBreaker{Enable: true}})
	h.waitSteady("web", 2)
	h.rt.OnStart = exitAtOnce("bad")
	failed := h.deploy("web", "bad", 1)
	h.eventually("the deployment fails", func() bool {
		h.clock.Step(100 * time.Millisecond)
		d := h.service("web").Service.Deployments[0]
		return d.ID == failed && d.RolloutState == model.RolloutFailed
	})
	h.settle()
	starts := len(h.rt.Calls().Start)
	h.clock.Step(defaultResyncPeriod)
	h.settle()
	h.clock.Step(defaultResyncPeriod)
	h.settle()
	if got := len(h.rt.Calls().Start); got != starts {
		t.Errorf("launches after the failure: %d more", got-starts)
	}
	d := h.service("web").Service.Deployments[0]
	if d.FailedTasks < 3 || deref(d.RolloutStateReason) != reasonBreakerFailed {
		t.Errorf("failed deployment: failedTasks %d reason %q", d.FailedTasks, deref(d.RolloutStateReason))
	}
	if c := h.census("web"); c.live[testARNs.TaskDefinition("web", 1)] != 2 {
		t.Errorf("the old tasks must keep running: %+v", c)
	}
}

func TestDeletedServiceDrainsThenInactive(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 2, min: 100, max: 200})
	h.waitSteady("web", 2)
	h.update(func(tx *store.Tx) error {
		r, err := tx.GetService(testCluster, "web")
		if err != nil {
			return err
		}
		r.Service.Status, r.Service.DesiredCount = model.StatusDraining, 0
		return tx.PutService(testCluster, r)
	})
	h.s.ServiceChanged(testCluster, "web")
	h.eventually("the service becomes INACTIVE", func() bool { return h.service("web").Service.Status == model.StatusInactive })
	if c := h.census("web"); c.notStopped != 0 {
		t.Errorf("%d tasks left after draining", c.notStopped)
	}
	h.clock.Step(defaultStoppedRetention)
	h.eventually("the INACTIVE service is forgotten after an hour", func() bool {
		h.clock.Step(time.Second)
		var err error
		_ = h.store.View(func(tx *store.Tx) error { _, err = tx.GetService(testCluster, "web"); return nil })
		return isNotFound(err)
	})
}

// exitAtOnce makes the tasks of family exit at once (essential container, exit code 1).
func exitAtOnce(family string) func(spec runtime.TaskSpec) runtime.TaskState {
	return func(spec runtime.TaskSpec) runtime.TaskState {
		st := fakeruntime.DefaultState(spec)
		if spec.Definition.Family == family {
			code := int32(1)
			st.Containers[0].Status = model.TaskStatusStopped
			st.Containers[0].ExitCode = &code
		}
		return st
	}
}

// TestCircuitBreakerCountsTasksThatRunThenExit: containers without health checks that run for a
// moment and exit are failures (not successes that reset the count), and their revision never
// becomes the rollback target.
func TestCircuitBreakerCountsTasksThatRunThenExit(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "plain", 1, serviceOpts{desired: 2, min: 100, max: 200,
		breaker: &model.DeploymentCircuitBreaker{Enable: true, Rollback: true}})
	h.settle()
	if r := h.service("web"); r.Service.Deployments[0].RolloutState != model.RolloutInProgress {
		t.Fatalf("rollout %s before its tasks counted as healthy, want IN_PROGRESS", r.Service.Deployments[0].RolloutState)
	}
	h.clock.Step(DefaultHealthyAfterRunning)
	h.waitSteady("web", 2)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h.rt.AfterStart = func(r *fakeruntime.Runtime, id string) {
		if task, _ := r.Task(id); task.Spec.Definition.Family != "bad" {
			return
		}
		go func() { // exit once the scheduler has seen the task RUNNING (give up when the test is over)
			for ctx.Err() == nil {
				var last string
				_ = h.store.View(func(tx *store.Tx) error {
					tr, err := tx.GetTask(testCluster, id)
					if err == nil {
						last = tr.Task.LastStatus
					}
					return nil
				})
				switch last {
				case model.TaskStatusRunning:
					r.Exit(id, "app", 1)
					return
				case "", model.TaskStatusStopped:
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	failed := h.deploy("web", "bad", 1)
	h.eventually("the deployment fails and rolls back", func() bool {
		h.clock.Step(100 * time.Millisecond)
		r := h.service("web")
		return h.hasEvent("web", msgDeploymentFailed("web", failed)) && r.Service.TaskDefinition == testARNs.TaskDefinition("plain", 1)
	})
	h.settle()
	h.clock.Step(DefaultHealthyAfterRunning)
	h.waitSteady("web", 2)
	if r := h.service("web"); r.Scheduler.LastStableTaskDefinition != testARNs.TaskDefinition("plain", 1) {
		t.Errorf("last stable = %s, want plain:1", r.Scheduler.LastStableTaskDefinition)
	}
}

// TestCrashLoopBacksOff: without a circuit breaker a deployment whose tasks keep failing is
// relaunched, but ever more slowly; a success resets the backoff.
func TestCrashLoopBacksOff(t *testing.T) {
	h := newHarness(t)
	h.rt.OnStart = exitAtOnce("bad")
	h.start()
	h.createService("web", "bad", 1, serviceOpts{desired: 1, min: 100, max: 200})
	h.eventually("the first launch", func() bool { return len(h.rt.Calls().Start) >= 1 })
	h.settle()
	// One failure: the next launch waits launchDelay(1) = 1 s on the scheduler's clock.
	h.clock.Step(launchDelay(1))
	h.eventually("two launches failed", func() bool { return len(h.rt.Calls().Start) >= 2 })
	h.settle()
	before := len(h.rt.Calls().Start)
	h.clock.Step(defaultResyncPeriod / 10) // less than the 2 s backoff after 2 failures
	h.settle()
	if got := len(h.rt.Calls().Start); got != before {
		t.Errorf("%d launches within the backoff", got-before)
	}
	if !h.hasEvent("web", msgThrottled("web")) {
		t.Error("no event saying the service cannot start tasks consistently")
	}
	h.clock.Step(5 * time.Minute)
	h.eventually("a launch after the backoff", func() bool { return len(h.rt.Calls().Start) > before })
}
