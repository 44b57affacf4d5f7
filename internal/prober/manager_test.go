package prober

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/testwait"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// eventually waits until cond holds (testwait.For, polling every millisecond for up to 30 s).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 30*time.Second, time.Millisecond, what, func() (bool, string) { return cond(), "" })
}

// running is a started Manager with a started Source feeding q.
type running struct {
	*harness
	q    workqueue.TypedRateLimitingInterface[reconcile.Request]
	stop func()
}

func startHarness(t *testing.T, h *harness) *running {
	t.Helper()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.m.Source().Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- h.m.Start(ctx) }()
	r := &running{harness: h, q: q}
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
		q.ShutDown()
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			r.stop()
		}
	})
	return r
}

// woken takes the wake-ups queued so far.
func (r *running) woken() []types.NamespacedName {
	var out []types.NamespacedName
	for r.q.Len() > 0 {
		req, _ := r.q.Get()
		r.q.Done(req)
		r.q.Forget(req)
		out = append(out, req.NamespacedName)
	}
	return out
}

// stepWhileWaiting moves the fake clock by a second whenever a worker waits on it, until cond.
func stepWhileWaiting(t *testing.T, clk *clocktesting.FakeClock, what string, cond func() bool) {
	t.Helper()
	eventually(t, what, func() bool {
		if cond() {
			return true
		}
		if clk.HasWaiters() {
			clk.Step(time.Second)
		}
		return false
	})
}

func readinessPlan(probes ...translate.ContainerNode) translate.NodePlan {
	return translate.NodePlan{RestartPolicy: corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: 30, Containers: probes}
}

func TestManagerWakesThePodWhenAResultChanges(t *testing.T) {
	h := newHarness(t)
	h.m.jitter = func() float64 { return 0.5 }
	// Ensure before Start: the probes start with the Manager
	h.m.Ensure(testKey, testUID, testTask, readinessPlan(translate.ContainerNode{Name: "app",
		Readiness: execProbe("r"), Liveness: execProbe("l", thresholds(1, 1))}), map[string]time.Time{"app": epoch})
	h.runner.push("r", ok())
	h.runner.push("l", fail("gone"))
	r := startHarness(t, h)

	stepWhileWaiting(t, h.clock, "the probes to conclude", func() bool {
		return h.runner.called("r") == 1 && h.runner.called("l") == 1 && h.kills.count() == 1
	})
	eventually(t, "a wake-up", func() bool { return r.q.Len() > 0 })
	if diff := cmp.Diff([]types.NamespacedName{testKey}, r.woken()); diff != "" {
		t.Errorf("wake-ups (-want +got):\n%s", diff)
	}
	want := map[string]Result{"app": {Ready: yes, Started: yes, Message: "Liveness probe failed: gone",
		Kill: &Kill{Reason: "LivenessProbe", Message: "Container app failed liveness probe, will be restarted", GracePeriodSeconds: 30}}}
	if diff := cmp.Diff(want, h.m.Results(testKey)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"app: Container app failed liveness probe, will be restarted"}, h.kills.take()); diff != "" {
		t.Errorf("OnLivenessFailure (-want +got):\n%s", diff)
	}
}

func TestSourceDeliversWakeUpsFromBeforeItStarted(t *testing.T) {
	h := newHarness(t)
	plan := readinessPlan(translate.ContainerNode{Name: "app", Readiness: execProbe("r")})
	h.m.Ensure(testKey, testUID, testTask, plan, map[string]time.Time{"app": epoch})
	h.runner.push("r", ok())
	h.step(t, "app", readiness)

	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	if err := h.m.Source().Start(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if q.Len() != 1 {
		t.Fatalf("%d wake-ups queued, want 1", q.Len())
	}
	if req, _ := q.Get(); req.NamespacedName != testKey {
		t.Errorf("woke %v, want %v", req.NamespacedName, testKey)
	}
}

// TestWorkersAreBoundedAndNothingLeaks: one goroutine per probe while probes are in flight, and
// none left after Remove or after Start returns.
func TestWorkersAreBoundedAndNothingLeaks(t *testing.T) {
	h := newHarness(t)
	h.m.jitter = func() float64 { return 0 }
	h.runner.block = true
	base := runtime.NumGoroutine()
	r := startHarness(t, h)

	const pods, containers = 20, 2
	plan := readinessPlan()
	for c := range containers {
		plan.Containers = append(plan.Containers, translate.ContainerNode{Name: fmt.Sprint("c", c),
			Readiness: execProbe("r"), Liveness: execProbe("l"), Startup: nil})
	}
	started := map[string]time.Time{"c0": epoch, "c1": epoch}
	keys := make([]types.NamespacedName, pods)
	for i := range keys {
		keys[i] = types.NamespacedName{Namespace: "shop", Name: fmt.Sprint("web-", i)}
		h.m.Ensure(keys[i], types.UID(fmt.Sprint("uid-", i)), testTask, plan, started)
		h.m.Ensure(keys[i], types.UID(fmt.Sprint("uid-", i)), testTask, plan, started) // idempotent
	}
	const workers = pods * containers * 2
	inFlight := func() int {
		h.runner.mu.Lock()
		defer h.runner.mu.Unlock()
		return h.runner.inFlight
	}
	eventually(t, "every probe in flight", func() bool { return inFlight() == workers })
	// the Start goroutine, and the workqueue's
	const slack = 5
	if n := runtime.NumGoroutine(); n > base+workers+slack {
		t.Errorf("%d goroutines for %d probes in flight, want at most %d", n, workers, base+workers+slack)
	}

	for _, k := range keys[:pods/2] {
		h.m.Remove(k)
		if got := h.m.Results(k); got != nil {
			t.Errorf("Results(%v) after Remove = %v, want nil", k, got)
		}
	}
	eventually(t, "the removed Pods' probes to end", func() bool { return inFlight() == workers/2 })
	eventually(t, "their goroutines to end", func() bool { return runtime.NumGoroutine() <= base+workers/2+slack })

	r.stop() // ends the rest
	if n := inFlight(); n != 0 {
		t.Errorf("%d probes still in flight after Start returned", n)
	}
	eventually(t, "every goroutine to end", func() bool { return runtime.NumGoroutine() <= base })
	if len(h.kills.take()) != 0 || len(h.rec.take()) != 0 {
		t.Error("probes ended by Remove or Start's end had effects")
	}
}

// TestRealProbesLeakNothing runs HTTP, TCP and gRPC probes against real servers for a while, then
// removes the Pod: every goroutine the probes made ends.
func TestRealProbesLeakNothing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	_, httpPort := hostPort(t, srv.URL)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	grpcPort, _ := grpcServer(t, hs)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tcpPort := int32(l.Addr().(*net.TCPAddr).Port)

	clk := clocktesting.NewFakeClock(epoch)
	var kills atomic.Int32
	m := New(Options{Host: &netHost{}, Clock: clk, OnLivenessFailure: func(types.NamespacedName, string, string) { kills.Add(1) }})
	m.jitter = func() float64 { return 0 }
	base := runtime.NumGoroutine()
	r := startHarness(t, &harness{m: m, clock: clk})
	probe := func(h translate.Handler) *translate.Probe {
		return &translate.Probe{Handler: h, TimeoutSeconds: 1, PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1}
	}
	plan := readinessPlan(translate.ContainerNode{Name: "app",
		Readiness: probe(translate.Handler{HTTPGet: &translate.HTTPGet{Scheme: corev1.URISchemeHTTP, Port: httpPort, Path: "/"}}),
		Liveness:  probe(translate.Handler{GRPC: &translate.GRPC{Port: grpcPort}}),
	}, translate.ContainerNode{Name: "db", Readiness: probe(translate.Handler{TCPSocket: &translate.TCPSocket{Port: tcpPort}})})
	task := taskhost.Task{TaskArn: "arn:t", IP: "127.0.0.1"}
	m.Ensure(testKey, testUID, task, plan, map[string]time.Time{"app": epoch, "db": epoch})

	ready := func() bool {
		res := m.Results(testKey)
		return isTrue(res["app"].Ready) && isTrue(res["db"].Ready)
	}
	stepWhileWaiting(t, clk, "both containers ready", ready)
	// a few more periods of every probe
	for range 5 {
		eventually(t, "the workers to wait", func() bool { return clk.Waiters() == 3 })
		clk.Step(time.Second)
	}
	eventually(t, "the workers to wait", func() bool { return clk.Waiters() == 3 })
	m.Remove(testKey)
	eventually(t, "every probe goroutine to end", func() bool { return runtime.NumGoroutine() <= base+2 })
	r.stop()
	if kills.Load() != 0 {
		t.Errorf("%d liveness failures against a SERVING health server", kills.Load())
	}
}

func TestTerminatingStopsLivenessAndStartup(t *testing.T) {
	h := newHarness(t)
	plan := readinessPlan(translate.ContainerNode{Name: "app", Readiness: execProbe("r"), Liveness: execProbe("l", thresholds(1, 1))})
	started := map[string]time.Time{"app": epoch}
	h.m.Ensure(testKey, testUID, testTask, plan, started)
	h.runner.push("l", fail("x"))
	h.step(t, "app", liveness)
	if h.m.Results(testKey)["app"].Kill == nil {
		t.Fatal("no Kill after the liveness probe failed")
	}
	h.m.Terminating(testKey)
	h.m.Ensure(testKey, testUID, testTask, plan, started)
	h.m.mu.Lock()
	var types []probeType
	for wk := range h.m.pods[testKey].workers {
		types = append(types, wk.typ)
	}
	h.m.mu.Unlock()
	if diff := cmp.Diff([]probeType{readiness}, types); diff != "" {
		t.Errorf("probe workers of a terminating Pod (-want +got):\n%s", diff)
	}
	if k := h.m.Results(testKey)["app"].Kill; k != nil {
		t.Errorf("Kill %+v on a terminating Pod", k)
	}
	h.runner.push("r", ok())
	h.step(t, "app", readiness)
	if !isTrue(h.m.Results(testKey)["app"].Ready) {
		t.Error("readiness of a terminating Pod stopped")
	}
}

func TestEnsureFollowsThePlanAndTheUID(t *testing.T) {
	h := newHarness(t)
	started := map[string]time.Time{"app": epoch, "side": epoch}
	plan := readinessPlan(translate.ContainerNode{Name: "app", Readiness: execProbe("r")},
		translate.ContainerNode{Name: "side", Readiness: execProbe("s")})
	h.m.Ensure(testKey, testUID, testTask, plan, started)
	h.runner.push("r", ok())
	h.step(t, "app", readiness)

	// a changed probe starts anew: its result resets
	changed := readinessPlan(translate.ContainerNode{Name: "app", Readiness: execProbe("r", thresholds(2, 3))})
	h.m.Ensure(testKey, testUID, testTask, changed, started)
	if diff := cmp.Diff(map[string]Result{"app": {Ready: no, Started: yes}}, h.m.Results(testKey)); diff != "" {
		t.Errorf("after the probe changed and a container left the plan (-want +got):\n%s", diff)
	}
	h.runner.push("r", ok(), ok())
	h.step(t, "app", readiness)
	h.step(t, "app", readiness)
	if !isTrue(h.m.Results(testKey)["app"].Ready) {
		t.Error("not ready after two successes of the new probe")
	}

	// the same name with another UID is another Pod
	h.m.Ensure(testKey, "uid-2", testTask, changed, started)
	if diff := cmp.Diff(map[string]Result{"app": {Ready: no, Started: yes}}, h.m.Results(testKey)); diff != "" {
		t.Errorf("after the UID changed (-want +got):\n%s", diff)
	}

	// a probe that leaves the plan stops; the container is ready without it
	h.m.Ensure(testKey, "uid-2", testTask, readinessPlan(translate.ContainerNode{Name: "app"}), started)
	h.m.mu.Lock()
	n := len(h.m.pods[testKey].workers)
	h.m.mu.Unlock()
	if n != 0 {
		t.Errorf("%d workers after every probe left the plan", n)
	}
	if diff := cmp.Diff(map[string]Result{"app": {Ready: yes, Started: yes}}, h.m.Results(testKey)); diff != "" {
		t.Errorf("without probes (-want +got):\n%s", diff)
	}
}

// TestJitter: the first probe waits a random part of the period only while the Manager started
// less than a period ago.
func TestJitter(t *testing.T) {
	h := newHarness(t)
	h.m.jitter = func() float64 { return 0.25 }
	h.m.started = h.clock.Now()
	w := &worker{m: h.m, spec: *execProbe("r")}
	if got := w.firstWait(); got != 2500*time.Millisecond {
		t.Errorf("first wait just after the start: %v, want 2.5s", got)
	}
	h.clock.Step(10 * time.Second)
	if got := w.firstWait(); got != 0 {
		t.Errorf("first wait a period after the start: %v, want 0", got)
	}
}

// The shape the Pod controller programs against, and the controller-runtime interfaces the
// Manager is added to the manager as.
var (
	_ interface {
		Ensure(key types.NamespacedName, uid types.UID, task taskhost.Task, plan translate.NodePlan, started map[string]time.Time)
		Terminating(key types.NamespacedName)
		Remove(key types.NamespacedName)
		Results(key types.NamespacedName) map[string]Result
		Source() source.Source
	} = (*Manager)(nil)
	_ manager.Runnable               = (*Manager)(nil)
	_ manager.LeaderElectionRunnable = (*Manager)(nil)
)
