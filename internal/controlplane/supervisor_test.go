package controlplane

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fake is a component that records when it starts and stops.
type fake struct {
	name    string
	log     *eventLog
	failRun error         // returned by Run right away instead of becoming ready
	failAt  chan struct{} // when closed after ready, Run returns errBoom
	ready   chan struct{}
}

var errBoom = errors.New("boom")

type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

func newFake(name string, log *eventLog) *fake {
	return &fake{name: name, log: log, ready: make(chan struct{}), failAt: make(chan struct{})}
}

func (f *fake) Name() string           { return f.name }
func (f *fake) Ready() <-chan struct{} { return f.ready }
func (f *fake) Run(ctx context.Context) error {
	f.log.add("start " + f.name)
	if f.failRun != nil {
		return f.failRun
	}
	close(f.ready)
	select {
	case <-ctx.Done():
		time.Sleep(5 * time.Millisecond) // a stop that takes a moment must still be waited for
		f.log.add("stop " + f.name)
		return nil
	case <-f.failAt:
		return errBoom
	}
}

func TestSupervisorStartsInOrderAndStopsInReverse(t *testing.T) {
	log := &eventLog{}
	var progress bytes.Buffer
	s := newSupervisor(&progress)
	ctx, cancel := context.WithCancel(context.Background())
	for _, name := range []string{"a", "b", "c"} {
		if err := s.start(ctx, newFake(name, log)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := s.wait(ctx); err != nil {
		t.Fatalf("wait after cancel: %v", err)
	}
	if err := s.stopAll(); err != nil {
		t.Fatalf("stopAll: %v", err)
	}
	want := []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}
	if diff := cmp.Diff(want, log.get()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	for _, line := range []string{"a", "b", "c", "stopped in"} {
		if !strings.Contains(progress.String(), line) {
			t.Errorf("progress lacks %q:\n%s", line, progress.String())
		}
	}
}

func TestSupervisorStartFailureNamesTheComponent(t *testing.T) {
	log := &eventLog{}
	s := newSupervisor(&bytes.Buffer{})
	ctx := context.Background()
	if err := s.start(ctx, newFake("a", log)); err != nil {
		t.Fatal(err)
	}
	bad := newFake("b", log)
	bad.failRun = errors.New("port in use")
	err := s.start(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "b: port in use") {
		t.Fatalf("start of a failing component: got %v, want b: port in use", err)
	}
	if err := s.stopAll(); err != nil {
		t.Errorf("stopAll repeats the start failure or fails: %v", err)
	}
	if got := log.get(); got[len(got)-1] != "stop a" {
		t.Errorf("a was not stopped after b failed: %v", got)
	}
}

func TestSupervisorFailureAfterReadyEndsTheRun(t *testing.T) {
	log := &eventLog{}
	s := newSupervisor(&bytes.Buffer{})
	ctx := context.Background()
	a, b := newFake("a", log), newFake("b", log)
	for _, c := range []*fake{a, b} {
		if err := s.start(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	close(a.failAt)
	if err := s.wait(ctx); !errors.Is(err, errBoom) || !strings.HasPrefix(err.Error(), "a: ") {
		t.Fatalf("wait: got %v, want a: boom", err)
	}
	if err := s.stopAll(); err != nil {
		t.Errorf("stopAll: %v", err)
	}
	if got := log.get(); !cmp.Equal(got[len(got)-1], "stop b") {
		t.Errorf("b was not stopped after a failed: %v", got)
	}
}

func TestSupervisorComponentReturningNilEarlyIsAFailure(t *testing.T) {
	s := newSupervisor(&bytes.Buffer{})
	c := newFake("quitter", &eventLog{})
	quit := &quitter{fake: c}
	err := s.start(context.Background(), quit)
	if err == nil || !strings.Contains(err.Error(), "quitter: stopped unexpectedly") {
		t.Errorf("got %v, want quitter: stopped unexpectedly", err)
	}
	_ = s.stopAll()
}

// quitter returns nil from Run without ever being ready or told to stop.
type quitter struct{ *fake }

func (q *quitter) Run(context.Context) error { return nil }

// TestSupervisorStopWhileStarting: a stop asked for while a component starts (ctx ends before it
// is ready) is an interruption (errInterrupted, which Up takes for a clean stop), not a failure,
// and the component is stopped.
func TestSupervisorStopWhileStarting(t *testing.T) {
	s := newSupervisor(&bytes.Buffer{})
	log := &eventLog{}
	slow := &neverReady{fake: newFake("slow", log)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.start(ctx, slow)
	if !errors.Is(err, errInterrupted) || !strings.Contains(err.Error(), "while starting slow") {
		t.Errorf("start: %v, want errInterrupted naming slow", err)
	}
	if err := s.stopAll(); err != nil {
		t.Errorf("stopAll after an interrupted start: %v", err)
	}
	if diff := cmp.Diff([]string{"start slow", "stop slow"}, log.get()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// neverReady runs until told to stop without ever being ready.
type neverReady struct{ *fake }

func (n *neverReady) Run(ctx context.Context) error {
	n.log.add("start " + n.name)
	<-ctx.Done()
	n.log.add("stop " + n.name)
	return nil
}
