package scheduler

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// fakeBalancer is a load balancer as the scheduler sees it: it records registrations, says healthy
// for the tasks the test marks, and drains a deregistered task for delay from the first call.
type fakeBalancer struct {
	mu         sync.Mutex
	now        func() time.Time
	delay      time.Duration
	registered []string
	healthy    map[string]bool
	unhealthy  map[string]bool
	drainFrom  map[string]time.Time
}

func (f *fakeBalancer) TargetHealthy(_ *model.Service, t *model.Task) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.healthy[taskID(t.TaskArn)]
}

func (f *fakeBalancer) TargetUnhealthy(_ *model.Service, t *model.Task) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unhealthy[taskID(t.TaskArn)]
}

func (f *fakeBalancer) RegisterTask(_ string, svc *model.Service, t *model.Task) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id := taskID(t.TaskArn); len(svc.LoadBalancers) > 0 && !slices.Contains(f.registered, id) {
		f.registered = append(f.registered, id)
	}
	return nil
}

func (f *fakeBalancer) DeregisterTask(t *model.Task) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := taskID(t.TaskArn)
	if !slices.Contains(f.registered, id) {
		return 0, nil
	}
	from, ok := f.drainFrom[id]
	if !ok {
		from = f.now()
		f.drainFrom[id] = from
	}
	return max(0, from.Add(f.delay).Sub(f.now())), nil
}

func (f *fakeBalancer) state() ([]string, map[string]time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.registered), f.drainFrom
}

// TestServiceBehindTargetGroup: a RUNNING task of a service with loadBalancers is registered; it
// counts as healthy only once its target is (no 40 s wait); stopped, it stays DEACTIVATING and
// its containers run until the deregistration delay has passed, and only then it is stopped.
func TestServiceBehindTargetGroup(t *testing.T) {
	h := newHarness(t)
	lb, id := behindTargetGroup(h, 30*time.Second, 0)
	h.settle()
	if h.task(id).Scheduler.EverHealthy {
		t.Fatal("the task counted as healthy before its target was")
	}
	lb.mu.Lock()
	lb.healthy[id] = true
	lb.mu.Unlock()
	h.s.TargetChanged(testCluster, id)
	h.eventually("the task counts as healthy once its target is", func() bool { return h.task(id).Scheduler.EverHealthy })

	h.stopTaskAPI(id)
	h.settle()
	if got := h.task(id).Task.LastStatus; got != model.TaskStatusDeactivating {
		t.Errorf("a stopped task behind a target group is %s while it drains, want DEACTIVATING", got)
	}
	if slices.Contains(h.rt.Calls().Stop, id) {
		t.Error("the task's containers were stopped before the deregistration delay passed")
	}
	h.clock.Step(31 * time.Second)
	h.eventually("the task stops once drained", func() bool { return h.task(id).Task.LastStatus == model.TaskStatusStopped })
	if _, drains := lb.state(); len(drains) != 1 {
		t.Errorf("deregistrations %v, want one for the task", drains)
	}
}

// behindTargetGroup starts the scheduler with a fake balancer (deregistration delay delay) and a
// service "web" of one task behind target group arn:tg with the grace period grace; it returns the
// balancer and the task once registered.
func behindTargetGroup(h *harness, delay time.Duration, grace int32) (*fakeBalancer, string) {
	h.t.Helper()
	lb := &fakeBalancer{now: h.clock.Now, delay: delay, healthy: map[string]bool{}, unhealthy: map[string]bool{}, drainFrom: map[string]time.Time{}}
	h.startWith(func(o *Options) { o.TargetHealth, o.Targets = lb, lb })
	// The load balancer is there from the start, as CreateService stores it: the task registers
	// when it reaches RUNNING.
	h.createService("web", "plain", 1, serviceOpts{
		desired: 1, min: 100, max: 200, grace: ptr(grace),
		loadBalancers: []model.LoadBalancer{{TargetGroupArn: ptr("arn:tg"), ContainerName: ptr("app"), ContainerPort: ptr(int32(8080))}},
	})
	var id string
	h.eventually("the service's task is registered", func() bool {
		reg, _ := lb.state()
		if len(reg) == 1 {
			id = reg[0]
		}
		return len(reg) == 1
	})
	return lb, id
}

// TestUnhealthyTargetReplaced: a task whose target the load balancer finds unhealthy is left alone
// within healthCheckGracePeriodSeconds after it started, then replaced, stopped with ECS's reason
// naming the target group.
func TestUnhealthyTargetReplaced(t *testing.T) {
	h := newHarness(t)
	lb, id := behindTargetGroup(h, 0, 60)
	h.settle()
	started := h.task(id).Task.StartedAt.Time
	lb.mu.Lock()
	lb.unhealthy[id] = true
	lb.mu.Unlock()
	h.s.TargetChanged(testCluster, id)
	for h.clock.Now().Before(started.Add(59 * time.Second)) {
		h.clock.Step(time.Second)
		h.settle()
	}
	if got := h.task(id).Task.DesiredStatus; got != model.TaskStatusRunning {
		t.Fatalf("the task with an unhealthy target was stopped within the grace period (desired %s)", got)
	}
	h.clock.Step(2 * time.Second)
	h.eventually("the task is replaced after the grace period", func() bool {
		return h.task(id).Task.DesiredStatus == model.TaskStatusStopped
	})
	if got, want := deref(h.task(id).Task.StoppedReason), "Task failed ELB health checks in (target-group arn:tg)"; got != want {
		t.Errorf("stopped reason %q, want %q", got, want)
	}
	if !h.hasEvent("web", msgUnhealthyTarget("web", id, "arn:tg")) {
		t.Error("no service event names the unhealthy target group")
	}
}
