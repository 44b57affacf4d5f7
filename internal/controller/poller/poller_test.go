package poller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// world is what a test's Describer answers from: id -> state.
type world struct {
	mu    sync.Mutex
	state map[string]string
	calls [][]string
	// before runs when a describe starts, after once it has read the state (before it returns).
	before, after func()
}

func (w *world) describe(_ context.Context, cluster string, ids []string) (map[string]string, error) {
	if w.before != nil {
		w.before()
	}
	w.mu.Lock()
	w.calls = append(w.calls, append([]string{cluster}, ids...))
	out := map[string]string{}
	for _, id := range ids {
		if s, ok := w.state[id]; ok {
			out[id] = s
		}
	}
	w.mu.Unlock()
	if w.after != nil {
		w.after()
	}
	return out, nil
}

func newTestPoller(w *world) (*Poller[string], *time.Time) {
	now := time.Unix(1000, 0)
	p := New(Config[string]{
		BatchSize: 10, Describe: w.describe,
		Fingerprint: func(s string) string { return s },
		Stable:      func(s string) bool { return s == "steady" },
		NewObject:   func() client.Object { return &corev1.Pod{} },
		Interval:    time.Second, StableInterval: time.Minute,
	})
	p.now = func() time.Time { return now }
	return p, &now
}

func key(i int) types.NamespacedName {
	return types.NamespacedName{Namespace: "ns", Name: fmt.Sprint(i)}
}

func TestPollerBatchesAndWakesChangedOnly(t *testing.T) {
	w := &world{state: map[string]string{}}
	p, now := newTestPoller(w)
	for i := range 25 {
		id := fmt.Sprintf("arn-%d", i)
		w.state[id] = "steady"
		p.Track(key(i), "c1", id)
	}
	p.Track(key(99), "c2", "arn-99")
	w.state["arn-99"] = "moving"
	p.Poll(context.Background())
	if got := len(w.calls); got != 4 {
		t.Fatalf("describe calls for 25+1 resources in 2 clusters = %d, want 4", got)
	}
	if got := len(p.events); got != 26 {
		t.Errorf("wake-ups on first poll = %d, want 26", got)
	}
	drain(p)

	// One second later only the moving one is due; nothing changed, nobody is woken.
	w.calls = nil
	*now = now.Add(time.Second)
	p.Poll(context.Background())
	if diff := cmp.Diff([][]string{{"c2", "arn-99"}}, w.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if got := len(p.events); got != 0 {
		t.Errorf("wake-ups without change = %d, want 0", got)
	}

	// A change wakes exactly its object.
	w.state["arn-99"] = "steady"
	*now = now.Add(time.Second)
	p.Poll(context.Background())
	if got := drain(p); !cmp.Equal(got, []string{"99"}) {
		t.Errorf("woken = %v, want [99]", got)
	}
}

func TestPollerDropsDescriptionsOlderThanAWrite(t *testing.T) {
	w := &world{state: map[string]string{"arn-1": "old"}}
	p, now := newTestPoller(w)
	p.Track(key(1), "c1", "arn-1")
	// The write happens while the poll's describe is in flight.
	w.before = func() {
		*now = now.Add(time.Millisecond)
		p.Invalidate(key(1))
	}
	p.Poll(context.Background())
	if _, ok := p.Get(key(1)); ok {
		t.Error("a description fetched before the write was kept")
	}
	w.before = nil
	start := *now
	p.Put(key(1), "new", start)
	if got, ok := p.Get(key(1)); !ok || got != "new" {
		t.Errorf("Get = %q, %v; want new, true", got, ok)
	}
}

// TestPollerKeepsAWriteOverAPollStartedDuringIt: a poll that starts after the writer's Invalidate
// but reads the resource before the write lands, and returns only after the writer's Put, must
// not replace the writer's description with what it read (the writer would see its own write
// undone and make it again).
func TestPollerKeepsAWriteOverAPollStartedDuringIt(t *testing.T) {
	w := &world{state: map[string]string{"arn-1": "old"}}
	p, now := newTestPoller(w)
	p.Track(key(1), "c1", "arn-1")
	p.Put(key(1), "old", *now)
	// The writer invalidates and starts its write.
	*now = now.Add(time.Millisecond)
	p.Invalidate(key(1))
	start := *now
	// A poll starts (the entry is due once invalidated) and reads before the write lands; the
	// write lands and the writer records its outcome before the poll returns.
	*now = now.Add(time.Millisecond)
	w.after = func() {
		w.mu.Lock()
		w.state["arn-1"] = "new"
		w.mu.Unlock()
		*now = now.Add(time.Millisecond)
		p.Put(key(1), "new", start)
	}
	p.Poll(context.Background())
	if len(w.calls) != 1 {
		t.Fatalf("describe calls %v, want the one poll", w.calls)
	}
	if got, ok := p.Get(key(1)); !ok || got != "new" {
		t.Errorf("Get = %q, %v; want new, true (the poll read before the write)", got, ok)
	}
	// The next poll, started after the write, is trusted again.
	w.after = nil
	w.state["arn-1"] = "newer"
	*now = now.Add(2 * time.Second)
	p.Poll(context.Background())
	if got, ok := p.Get(key(1)); !ok || got != "newer" {
		t.Errorf("after the next poll Get = %q, %v; want newer, true", got, ok)
	}
}

func drain[T any](p *Poller[T]) []string {
	var names []string
	for {
		select {
		case e := <-p.events:
			names = append(names, e.Object.GetName())
		default:
			return names
		}
	}
}

// TestPollerPollsAChangingResourceSoonThenBacksOff: with FirstInterval, a resource that was just
// tracked, put or seen changed is polled after FirstInterval, then after twice as long for each
// poll that found it unchanged, up to Interval; a change starts over.
func TestPollerPollsAChangingResourceSoonThenBacksOff(t *testing.T) {
	w := &world{state: map[string]string{"arn-1": "starting"}}
	p, now := newTestPoller(w)
	p.cfg.FirstInterval = 100 * time.Millisecond
	p.Track(key(1), "c1", "arn-1")
	p.Put(key(1), "starting", *now)
	// Step the clock by 50 ms for 3 s and record when the resource was described.
	var polled []time.Duration
	start := *now
	step := func(until time.Duration) {
		for *now = now.Add(50 * time.Millisecond); now.Sub(start) <= until; *now = now.Add(50 * time.Millisecond) {
			before := len(w.calls)
			p.Poll(context.Background())
			if len(w.calls) > before {
				polled = append(polled, now.Sub(start))
			}
		}
	}
	step(3 * time.Second)
	// 100 ms, then +200, +400, +800, then capped at Interval (1 s).
	want := []time.Duration{100, 300, 700, 1500, 2500}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if diff := cmp.Diff(want, polled); diff != "" {
		t.Fatalf("poll times (-want +got):\n%s", diff)
	}
	drain(p)
	// A change seen by a poll starts over at FirstInterval.
	w.state["arn-1"] = "running"
	polled, start = nil, *now
	step(1500 * time.Millisecond)
	if len(polled) < 2 || polled[1]-polled[0] != 100*time.Millisecond {
		t.Errorf("poll times after a change %v, want the next one 100 ms after the change was seen", polled)
	}
}

// TestPollerFillsBatchesWithResourcesDueSoon: resources past half their interval ride along in
// a call that is made anyway (never in a call of their own), so resources tracked at scattered
// moments end up sharing calls.
func TestPollerFillsBatchesWithResourcesDueSoon(t *testing.T) {
	w := &world{state: map[string]string{}}
	p, now := newTestPoller(w)
	for i := range 3 {
		id := fmt.Sprintf("arn-%d", i)
		w.state[id] = "steady"
		p.Track(key(i), "c1", id)
		p.Poll(context.Background()) // each described on its own, 10 s apart
		*now = now.Add(10 * time.Second)
	}
	if len(w.calls) != 3 {
		t.Fatalf("calls = %v, want one per resource", w.calls)
	}
	// At 60 s from the first, only arn-0 is due; arn-1 (50 s) and arn-2 (40 s) are past half
	// the minute and ride along.
	w.calls = nil
	*now = now.Add(30 * time.Second)
	p.Poll(context.Background())
	if len(w.calls) != 1 {
		t.Fatalf("calls = %v, want one", w.calls)
	}
	got := w.calls[0][1:]
	slices.Sort(got)
	if diff := cmp.Diff([]string{"arn-0", "arn-1", "arn-2"}, got); diff != "" {
		t.Errorf("described (-want +got):\n%s", diff)
	}
	// Nothing due: nothing rides along on its own.
	w.calls = nil
	p.Poll(context.Background())
	if len(w.calls) != 0 {
		t.Errorf("calls with nothing due = %v, want none", w.calls)
	}
}
