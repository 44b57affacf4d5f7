package prober

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/probe"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// epoch is the fake clock's start; containers in the tests start at it or later.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var testKey = types.NamespacedName{Namespace: "shop", Name: "web-0"}

const testUID = types.UID("uid-1")

// outcome is what a fake probe returns; during, when set, runs while the probe is in flight.
type outcome struct {
	res    probe.Result
	out    string
	err    error
	during func()
}

// fakeRunner returns the outcomes queued for each probe; a probe is named by its exec command's
// first word (the tests give each probe its own). Probes nobody queued for fail the test.
type fakeRunner struct {
	t     *testing.T
	mu    sync.Mutex
	queue map[string][]outcome
	calls map[string]int
	// block, when set, makes every probe wait for ctx (Remove, Start's end) and count itself in
	// inFlight.
	block    bool
	inFlight int
}

func newFakeRunner(t *testing.T) *fakeRunner {
	return &fakeRunner{t: t, queue: map[string][]outcome{}, calls: map[string]int{}}
}

func (f *fakeRunner) push(name string, o ...outcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue[name] = append(f.queue[name], o...)
}

func (f *fakeRunner) called(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeRunner) run(ctx context.Context, _ taskhost.Task, _ string, h *translate.Handler, _ time.Duration) (probe.Result, string, error) {
	name := h.Exec[0]
	f.mu.Lock()
	f.calls[name]++
	if f.block {
		f.inFlight++
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
		return probe.Unknown, "", ctx.Err()
	}
	q := f.queue[name]
	if len(q) == 0 {
		f.mu.Unlock()
		f.t.Errorf("probe %s ran, but no outcome was queued for it", name)
		return probe.Unknown, "", fmt.Errorf("no outcome for %s", name)
	}
	o := q[0]
	f.queue[name] = q[1:]
	f.mu.Unlock()
	if o.during != nil {
		o.during()
	}
	return o.res, o.out, o.err
}

// event is one recorded event.
type event struct {
	FieldPath, Type, Reason, Message string
}

// recorder is a record.EventRecorder that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) Event(obj runtime.Object, typ, reason, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, _ := obj.(*corev1.ObjectReference)
	if ref == nil || ref.Kind != "Pod" || ref.Name != testKey.Name || ref.Namespace != testKey.Namespace || ref.UID != testUID {
		panic(fmt.Sprintf("event on %#v", obj))
	}
	r.events = append(r.events, event{ref.FieldPath, typ, reason, message})
}

func (r *recorder) Eventf(obj runtime.Object, typ, reason, format string, args ...any) {
	r.Event(obj, typ, reason, fmt.Sprintf(format, args...))
}

func (r *recorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, typ, reason, format string, args ...any) {
	r.Eventf(obj, typ, reason, format, args...)
}

func (r *recorder) take() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// kills records OnLivenessFailure calls as "container: message".
type kills struct {
	mu    sync.Mutex
	calls []string
}

func (k *kills) on(key types.NamespacedName, container, message string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key != testKey {
		panic(fmt.Sprintf("OnLivenessFailure for %v", key))
	}
	k.calls = append(k.calls, container+": "+message)
}

func (k *kills) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.calls)
}

func (k *kills) take() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.calls
	k.calls = nil
	return out
}

// harness is a Manager that is not started (no goroutines): tests step its workers by hand.
type harness struct {
	m      *Manager
	clock  *clocktesting.FakeClock
	runner *fakeRunner
	rec    *recorder
	kills  *kills
}

func newHarness(t *testing.T) *harness {
	h := &harness{clock: clocktesting.NewFakeClock(epoch), runner: newFakeRunner(t), rec: &recorder{}, kills: &kills{}}
	h.m = New(Options{Recorder: h.rec, OnLivenessFailure: h.kills.on, Clock: h.clock})
	h.m.runner = h.runner
	return h
}

// step runs one step of the worker of container's probe t, as its goroutine would.
func (h *harness) step(t *testing.T, container string, typ probeType) time.Duration {
	t.Helper()
	h.m.mu.Lock()
	var w *worker
	if p := h.m.pods[testKey]; p != nil {
		w = p.workers[workerKey{container: container, typ: typ}]
	}
	h.m.mu.Unlock()
	if w == nil {
		t.Fatalf("no %v worker for container %s", typ, container)
	}
	return w.step(context.Background())
}

// execProbe is a probe whose exec command names it, so that fakeRunner tells probes apart.
func execProbe(name string, mod ...func(*translate.Probe)) *translate.Probe {
	p := &translate.Probe{
		Handler:        translate.Handler{Exec: []string{name}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
	}
	for _, f := range mod {
		f(p)
	}
	return p
}

func thresholds(success, failure int32) func(*translate.Probe) {
	return func(p *translate.Probe) { p.SuccessThreshold, p.FailureThreshold = success, failure }
}

func initialDelay(s int32) func(*translate.Probe) {
	return func(p *translate.Probe) { p.InitialDelaySeconds = s }
}

var (
	yes = ptr(true)
	no  = ptr(false)
)

var testTask = taskhost.Task{Cluster: "default", TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/t1", ID: "t1", IP: "10.0.0.5"}
