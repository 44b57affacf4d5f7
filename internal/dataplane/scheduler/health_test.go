package scheduler

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/fakeruntime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// ecsWait is ECS's documented wait before a task without container health checks counts as
// healthy, written out here rather than taken from the code under test.
const ecsWait = 40 * time.Second

type fakeTargets map[string]string // task ARN → its target's state: healthy, unhealthy or initial

func (f fakeTargets) TargetHealthy(_ *model.Service, t *model.Task) bool {
	return f[t.TaskArn] == "healthy"
}

func (f fakeTargets) TargetUnhealthy(_ *model.Service, t *model.Task) bool {
	return f[t.TaskArn] == "unhealthy"
}

func TestJudge(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	running := func(since time.Duration, health string) *model.Task {
		return &model.Task{
			TaskArn: "arn:task", LastStatus: model.TaskStatusRunning, DesiredStatus: model.TaskStatusRunning,
			HealthStatus: health, StartedAt: timeOf(now.Add(-since)),
		}
	}
	stopping := running(time.Hour, model.HealthHealthy)
	stopping.DesiredStatus = model.TaskStatusStopped
	pending := running(time.Hour, model.HealthUnknown)
	pending.LastStatus = model.TaskStatusPending
	checked, plain := taskDef("web", 1, true), taskDef("plain", 1, false)
	svc := func(grace int32, lbs int) *model.Service {
		s := &model.Service{HealthCheckGracePeriodSeconds: &grace}
		for range lbs {
			s.LoadBalancers = append(s.LoadBalancers, model.LoadBalancer{ContainerName: ptr("app"), ContainerPort: ptr(int32(8080))})
		}
		return s
	}
	rules := healthRules{afterRunning: ecsWait}
	withTargets := func(healthy bool) healthRules {
		state := "initial"
		if healthy {
			state = "healthy"
		}
		return healthRules{afterRunning: ecsWait, targets: fakeTargets{"arn:task": state}}
	}
	unhealthyTarget := healthRules{afterRunning: ecsWait, targets: fakeTargets{"arn:task": "unhealthy"}}
	for _, tc := range []struct {
		name  string
		rules healthRules
		task  *model.Task
		def   *model.TaskDefinition
		svc   *model.Service
		want  judgement
	}{
		{"no health check, just RUNNING", rules, running(0, model.HealthUnknown), plain, nil, judgement{Recheck: ecsWait}},
		{"no health check, 39 s RUNNING", rules, running(39*time.Second, model.HealthUnknown), plain, nil, judgement{Recheck: time.Second}},
		{"no health check, 40 s RUNNING", rules, running(ecsWait, model.HealthUnknown), plain, nil, judgement{Healthy: true}},
		{"no health check, a shorter local wait", healthRules{afterRunning: 2 * time.Second}, running(2*time.Second, model.HealthUnknown), plain, nil, judgement{Healthy: true}},
		{"unknown definition: no health check", rules, running(ecsWait, model.HealthUnknown), nil, nil, judgement{Healthy: true}},
		{"health check, HEALTHY at once", rules, running(0, model.HealthHealthy), checked, nil, judgement{Healthy: true}},
		{"health check, UNKNOWN for long", rules, running(time.Hour, model.HealthUnknown), checked, nil, judgement{}},
		{"UNHEALTHY, no grace period", rules, running(0, model.HealthUnhealthy), checked, nil, judgement{Unhealthy: true}},
		{"UNHEALTHY within the grace period", rules, running(10*time.Second, model.HealthUnhealthy), checked, svc(60, 0), judgement{Recheck: 50 * time.Second}},
		{"UNHEALTHY after the grace period", rules, running(60*time.Second, model.HealthUnhealthy), checked, svc(60, 0), judgement{Unhealthy: true}},
		{"not RUNNING yet", rules, pending, checked, nil, judgement{}},
		{"being stopped", rules, stopping, checked, nil, judgement{}},
		{"load balancer, no hook: container rules", rules, running(0, model.HealthUnknown), plain, svc(0, 1), judgement{Recheck: ecsWait}},
		{"load balancer, healthy target replaces the 40 s", withTargets(true), running(0, model.HealthUnknown), plain, svc(0, 1), judgement{Healthy: true}},
		{"load balancer, target not healthy yet", withTargets(false), running(time.Hour, model.HealthUnknown), plain, svc(0, 1), judgement{}},
		{"load balancer, unhealthy target within the grace period", unhealthyTarget, running(10*time.Second, model.HealthUnknown), plain, svc(60, 1), judgement{Recheck: 50 * time.Second}},
		{"load balancer, unhealthy target after the grace period", unhealthyTarget, running(60*time.Second, model.HealthUnknown), plain, svc(60, 1), judgement{Unhealthy: true, TargetUnhealthy: true}},
		{"load balancer and health check: both", withTargets(false), running(0, model.HealthHealthy), checked, svc(0, 1), judgement{}},
		{"load balancer and health check, both healthy", withTargets(true), running(0, model.HealthHealthy), checked, svc(0, 1), judgement{Healthy: true}},
		{"no load balancer: the hook is not asked", withTargets(false), running(0, model.HealthHealthy), checked, svc(0, 0), judgement{Healthy: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rules.judge(tc.task, tc.def, tc.svc, now)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(judgement{})); diff != "" {
				t.Errorf("judge (-want +got):\n%s", diff)
			}
		})
	}
}

// ecsCensus counts a service's tasks the way ECS documents it, independently of the code under
// test: healthy is RUNNING, still wanted, and HEALTHY with an essential container health check or
// RUNNING for 40 s without one.
type ecsCensus struct {
	notStopped, running, healthy int
	live                         map[string][]string // task definition ARN → live task IDs
}

func (h *harness) ecsCensus(service string) ecsCensus {
	c := ecsCensus{live: map[string][]string{}}
	now := h.clock.Now()
	err := h.store.View(func(tx *store.Tx) error {
		for _, r := range h.tasksTx(tx) {
			if r.ServiceName != service {
				continue
			}
			t := &r.Task
			def, _ := taskDefinition(tx, t.TaskDefinitionArn)
			if t.LastStatus != model.TaskStatusStopped {
				c.notStopped++
			}
			if live(r) {
				c.live[t.TaskDefinitionArn] = append(c.live[t.TaskDefinitionArn], taskID(t.TaskArn))
			}
			if t.LastStatus != model.TaskStatusRunning || t.DesiredStatus != model.TaskStatusRunning {
				continue
			}
			c.running++
			if healthChecked(def) && t.HealthStatus == model.HealthHealthy ||
				!healthChecked(def) && t.StartedAt != nil && !now.Before(t.StartedAt.Add(ecsWait)) {
				c.healthy++
			}
		}
		return nil
	})
	if err != nil {
		h.t.Errorf("counting tasks: %v", err)
	}
	return c
}

// sampler asserts the rolling-update bounds of a service, counted as ECS documents them, at every
// runtime Start and Stop (the decision is stored by then) and whenever sample is called. Workers
// call Start and Stop concurrently: mu guards the counts.
type sampler struct {
	h                      *harness
	service                string
	minHealthy, maxTotal   int
	mu                     sync.Mutex
	samples, lowestHealthy int
}

func (s *sampler) sample(when string) {
	c := s.h.ecsCensus(s.service)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples++
	if s.samples == 1 || c.healthy < s.lowestHealthy {
		s.lowestHealthy = c.healthy
	}
	if c.notStopped > s.maxTotal {
		s.h.t.Errorf("%s: %d tasks not STOPPED, above maximumPercent's %d", when, c.notStopped, s.maxTotal)
	}
	if c.healthy < s.minHealthy {
		s.h.t.Errorf("%s: %d healthy tasks (RUNNING %d), below minimumHealthyPercent's %d", when, c.healthy, c.running, s.minHealthy)
	}
}

// crashAfterStart makes the RUNNING tasks of family exit (essential container, code 1) once they
// have run for after on the fake clock; it returns how many it made exit.
func (h *harness) crashAfterStart(family string, after time.Duration) int {
	n := 0
	for _, r := range h.tasks() {
		t := &r.Task
		if t.LastStatus != model.TaskStatusRunning || t.StartedAt == nil || h.clock.Now().Before(t.StartedAt.Add(after)) {
			continue
		}
		if task, ok := h.rt.Task(taskID(t.TaskArn)); ok && task.Spec.Definition.Family == family {
			h.rt.Exit(taskID(t.TaskArn), "app", 1)
			n++
		}
	}
	return n
}

// rollCrashing rolls service web (desired 2, min 100, max 200, no health checks) from plain:1 to
// bad:1, whose container exits a second after it starts, and samples the bounds at every Start and
// Stop and every 250 ms of the fake clock for the given time. It returns the sampler and the IDs
// of the tasks of plain:1 before the rollout.
func rollCrashing(t *testing.T, h *harness, breaker *model.DeploymentCircuitBreaker, d time.Duration) (*sampler, string, []string) {
	h.start()
	h.createService("web", "plain", 1, serviceOpts{desired: 2, min: 100, max: 200, breaker: breaker})
	h.settle()
	if c := h.ecsCensus("web"); c.running != 2 || c.healthy != 0 {
		t.Fatalf("just started: %d RUNNING, %d healthy; want 2 RUNNING not healthy yet", c.running, c.healthy)
	}
	h.clock.Step(ecsWait)
	h.waitSteady("web", 2)
	old := h.ecsCensus("web").live[testARNs.TaskDefinition("plain", 1)]

	s := &sampler{h: h, service: "web", minHealthy: 2, maxTotal: 4}
	h.rt.BeforeStart = func(string) { s.sample("at Start") }
	h.rt.BeforeStop = func(string) { s.sample("at Stop") }
	failed := h.deploy("web", "bad", 1)
	crashes := 0
	for elapsed := time.Duration(0); elapsed < d; elapsed += 250 * time.Millisecond {
		h.settle()
		s.sample(fmt.Sprintf("after %s", elapsed))
		crashes += h.crashAfterStart("bad", time.Second)
		h.clock.Step(250 * time.Millisecond)
	}
	h.settle()
	s.sample("at the end")
	if crashes < 3 {
		t.Errorf("%d tasks of bad:1 crashed after they started, want at least 3", crashes)
	}
	return s, failed, old
}

// TestCrashAfterStartRolloutKeepsMinimum is the rollout of the issue: a revision whose container
// exits a second after it starts never counts as healthy (no health check: 40 s after RUNNING), so
// the old tasks keep serving: 2 of 2 healthy at every sample, never more than 4 tasks.
func TestCrashAfterStartRolloutKeepsMinimum(t *testing.T) {
	h := newHarness(t)
	s, failed, old := rollCrashing(t, h, nil, 3*time.Minute)
	if s.lowestHealthy != 2 {
		t.Errorf("lowest healthy count %d, want 2", s.lowestHealthy)
	}
	if diff := cmp.Diff(old, h.ecsCensus("web").live[testARNs.TaskDefinition("plain", 1)]); diff != "" {
		t.Errorf("the old tasks were replaced (-before +after):\n%s", diff)
	}
	d := h.service("web").Service.Deployments[0]
	if d.ID != failed || d.RolloutState != model.RolloutInProgress || d.FailedTasks < 3 {
		t.Errorf("crash-looping deployment %s: %s, failedTasks %d; want %s IN_PROGRESS with at least 3", d.ID, d.RolloutState, d.FailedTasks, failed)
	}
}

// TestCrashAfterStartTripsBreakerKeepsMinimum: with the circuit breaker, the same rollout fails
// after 3 crashes and rolls back; the old tasks keep serving until the rollback's tasks count as
// healthy, so the minimum holds throughout (the issue saw 0 RUNNING for 2.4 s).
func TestCrashAfterStartTripsBreakerKeepsMinimum(t *testing.T) {
	h := newHarness(t)
	s, failed, _ := rollCrashing(t, h, &model.DeploymentCircuitBreaker{Enable: true, Rollback: true}, 2*time.Minute)
	if s.lowestHealthy != 2 {
		t.Errorf("lowest healthy count %d, want 2", s.lowestHealthy)
	}
	if !h.hasEvent("web", msgDeploymentFailed("web", failed)) {
		t.Errorf("no deployment failed event for %s", failed)
	}
	r := h.service("web")
	if len(r.Service.Deployments) != 1 || r.Service.Deployments[0].RolloutState != model.RolloutCompleted ||
		r.Service.TaskDefinition != testARNs.TaskDefinition("plain", 1) {
		t.Errorf("after the rollback: %s, deployments %+v", r.Service.TaskDefinition, r.Service.Deployments)
	}
}

// TestSuccessIsTheHealthyRule: the circuit breaker, the rollout and the rollback target use the
// same rule as the minimum: a task that exits 39 s after RUNNING (no health check) is a failure,
// one that exits after 41 s succeeded first.
func TestSuccessIsTheHealthyRule(t *testing.T) {
	for _, tc := range []struct {
		runFor     time.Duration
		wantFailed bool
	}{
		{runFor: 39 * time.Second, wantFailed: true},
		{runFor: 41 * time.Second, wantFailed: false},
	} {
		t.Run(tc.runFor.String(), func(t *testing.T) {
			h := newHarness(t)
			h.start()
			h.createService("web", "plain", 1, serviceOpts{desired: 1, min: 100, max: 200,
				breaker: &model.DeploymentCircuitBreaker{Enable: true, Rollback: true}})
			h.settle()
			h.clock.Step(ecsWait)
			h.waitSteady("web", 1)
			dep := h.deploy("web", "bad", 1)
			for elapsed := time.Duration(0); elapsed < 10*time.Minute; elapsed += time.Second {
				h.settle()
				h.crashAfterStart("bad", tc.runFor)
				if h.hasEvent("web", msgDeploymentFailed("web", dep)) {
					break
				}
				h.clock.Step(time.Second)
			}
			h.settle()
			failed := h.hasEvent("web", msgDeploymentFailed("web", dep))
			if failed != tc.wantFailed {
				t.Errorf("deployment failed: %v, want %v", failed, tc.wantFailed)
			}
			stable := h.service("web").Scheduler.LastStableTaskDefinition
			if wantStable := testARNs.TaskDefinition("bad", 1); !tc.wantFailed && stable != wantStable {
				t.Errorf("last stable %s, want %s: its tasks succeeded", stable, wantStable)
			}
		})
	}
}

// TestHealthCheckGracePeriod: a task that fails its health checks within the service's
// healthCheckGracePeriodSeconds after it started is left alone; after it, it is replaced, and it is
// stopped only once its replacement is healthy (maximumPercent leaves room; ECS: "start
// replacement tasks first ... as the replacement tasks launch and become healthy, the unhealthy
// tasks will gradually be stopped").
func TestHealthCheckGracePeriod(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 2, min: 100, max: 200})
	h.waitSteady("web", 2)
	h.update(func(tx *store.Tx) error {
		r, err := tx.GetService(testCluster, "web")
		if err != nil {
			return err
		}
		r.Service.HealthCheckGracePeriodSeconds = ptr(int32(60))
		return tx.PutService(testCluster, r)
	})
	victim := serviceTaskIDs(h, "web", live)[0]
	started := h.task(victim).Task.StartedAt.Time
	h.rt.SetHealth(victim, "app", model.HealthUnhealthy)
	h.rt.BeforeStop = func(id string) {
		if c := h.ecsCensus("web"); id == victim && c.healthy < 2 {
			t.Errorf("the unhealthy task is stopped while %d other tasks are healthy, want its replacement healthy first (2)", c.healthy)
		}
	}
	for h.clock.Now().Before(started.Add(59 * time.Second)) {
		h.clock.Step(time.Second)
		h.settle()
		if r := h.task(victim); r.Task.DesiredStatus != model.TaskStatusRunning {
			t.Fatalf("%s after it started: the task is stopped within the grace period", h.clock.Now().Sub(started))
		}
	}
	h.clock.Step(time.Second)
	h.eventually("the unhealthy task is replaced after the grace period", func() bool {
		return h.task(victim).Task.LastStatus == model.TaskStatusStopped && h.ecsCensus("web").healthy == 2
	})
	if r := h.task(victim); deref(r.Task.StoppedReason) != reasonUnhealthy {
		t.Errorf("stopped with %q", deref(r.Task.StoppedReason))
	}
}

// TestUnhealthyStoppedOneByOneWithoutRoom: with maximumPercent 100 there is no room for a
// replacement, so unhealthy tasks are stopped one at a time to make room.
func TestUnhealthyStoppedOneByOneWithoutRoom(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 3, min: 0, max: 100})
	h.waitSteady("web", 3)
	h.rt.OnStart = fakeruntime.PendingState // replacements stay PENDING
	stoppingUnhealthy := func() int {
		n := 0
		for _, r := range h.tasks() {
			if notStopped(r) && deref(r.Task.StoppedReason) == reasonUnhealthy && r.Task.DesiredStatus == model.TaskStatusStopped {
				n++
			}
		}
		return n
	}
	h.rt.BeforeStop = func(string) {
		if n := stoppingUnhealthy(); n > 1 {
			t.Errorf("%d unhealthy tasks being stopped at once, want one at a time", n)
		}
		if c := h.ecsCensus("web"); c.notStopped > 3 {
			t.Errorf("%d tasks not STOPPED, above maximumPercent's 3", c.notStopped)
		}
	}
	for _, id := range serviceTaskIDs(h, "web", live) {
		h.rt.SetHealth(id, "app", model.HealthUnhealthy)
	}
	h.eventually("every unhealthy task is replaced", func() bool {
		for _, r := range h.tasks() {
			if r.Task.HealthStatus == model.HealthUnhealthy && notStopped(r) {
				return false
			}
		}
		return len(serviceTaskIDs(h, "web", live)) == 3
	})
}
