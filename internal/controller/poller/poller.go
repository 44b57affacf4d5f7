package poller

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Describer describes the external resources ids (ARNs) of one cluster in one call; resources
// the API does not know are absent from the result.
type Describer[T any] func(ctx context.Context, cluster string, ids []string) (map[string]T, error)

// Config configures a Poller.
type Config[T any] struct {
	// BatchSize is the most ids one Describe call takes (10 for services, 100 for tasks).
	BatchSize int
	Describe  Describer[T]
	// Fingerprint summarises what, when it changes, needs a reconciliation.
	Fingerprint func(T) string
	// Stable reports a resource at rest, polled every StableInterval instead of Interval.
	Stable func(T) bool
	// NewObject returns an empty object of the reconciled kind, for the wake-up event.
	NewObject      func() client.Object
	Interval       time.Duration
	StableInterval time.Duration
	// FirstInterval, when set (below Interval), polls a resource that is changing sooner: first
	// FirstInterval after it was tracked, put or seen changed, then twice as long after each
	// poll that found it unchanged, up to Interval. A Pod's task that starts in 250 ms is seen
	// running after ~250 ms, not after up to Interval. Zero: every Interval from the start.
	FirstInterval time.Duration
}

// Poller keeps the last description of every tracked object, refreshes them in batches per
// cluster (changing ones every Interval, resting ones every StableInterval) and wakes up only
// the objects whose description changed. Reconcilers read their description from it, so a
// resync costs no external call, and describe directly only what the poller has not seen yet.
type Poller[T any] struct {
	cfg    Config[T]
	now    func() time.Time
	events chan event.GenericEvent

	mu      sync.Mutex
	entries map[types.NamespacedName]*pollEntry[T]
}

type pollEntry[T any] struct {
	cluster, id string
	val         T
	has         bool
	fetched     time.Time
	invalidated time.Time
	// put is when Put last recorded a description: a poll that started before it may have read
	// the resource before the write that description reflects.
	put         time.Time
	fingerprint string
	stable      bool
	// every is the entry's current interval while it changes (FirstInterval doubling to Interval).
	every time.Duration
}

// New returns a Poller; add it to the manager (it is a Runnable) and watch Source().
func New[T any](cfg Config[T]) *Poller[T] {
	return &Poller[T]{
		cfg:     cfg,
		now:     time.Now,
		events:  make(chan event.GenericEvent, 1024),
		entries: map[types.NamespacedName]*pollEntry[T]{},
	}
}

// Source is the controller-runtime source of the poller's wake-ups.
func (p *Poller[T]) Source() source.Source {
	return source.Channel(p.events, &handler.EnqueueRequestForObject{})
}

// Track starts polling id in cluster for key; tracking the same id again is a no-op.
func (p *Poller[T]) Track(key types.NamespacedName, cluster, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.entries[key]; ok && e.cluster == cluster && e.id == id {
		return
	}
	p.entries[key] = &pollEntry[T]{cluster: cluster, id: id, every: p.first()}
}

// first is the interval of a resource that just changed.
func (p *Poller[T]) first() time.Duration {
	if p.cfg.FirstInterval > 0 && p.cfg.FirstInterval < p.cfg.Interval {
		return p.cfg.FirstInterval
	}
	return p.cfg.Interval
}

// tick is how often Start looks for due resources.
func (p *Poller[T]) tick() time.Duration { return p.first() }

// Untrack stops polling key.
func (p *Poller[T]) Untrack(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.entries, key)
}

// Get returns the last description of key and whether it is usable: tracked, fetched after the
// last Invalidate and not older than twice the stable interval. A usable zero value means the API
// did not know the resource.
func (p *Poller[T]) Get(key types.NamespacedName) (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	e, ok := p.entries[key]
	if !ok || !e.has || p.now().Sub(e.fetched) > 2*p.cfg.StableInterval {
		return zero, false
	}
	return e.val, true
}

// Put records a description of key fetched by a call that started at start (a describe, or the
// write whose outcome it is). A description older than the last Invalidate is dropped: it may
// predate the caller's own write. A poll in flight when Put is called is dropped too: it may
// have started after the Invalidate but read the resource before the write landed.
func (p *Poller[T]) Put(key types.NamespacedName, val T, start time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.entries[key]
	if !ok || start.Before(e.invalidated) {
		return
	}
	p.store(e, val, start)
	e.put = p.now()
	e.every = p.first()
}

// store records val; a change restarts the entry's interval at FirstInterval, no change
// doubles it up to Interval.
func (p *Poller[T]) store(e *pollEntry[T], val T, start time.Time) (changed bool) {
	fp := p.cfg.Fingerprint(val)
	changed = !e.has || fp != e.fingerprint
	e.val, e.has, e.fetched, e.fingerprint, e.stable = val, true, start, fp, p.cfg.Stable(val)
	switch {
	case changed || e.every <= 0:
		e.every = p.first()
	default:
		e.every = min(2*e.every, p.cfg.Interval)
	}
	return changed
}

// Invalidate forgets key's description; call it right before writing to the resource.
func (p *Poller[T]) Invalidate(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.entries[key]; ok {
		var zero T
		e.val, e.has, e.invalidated = zero, false, p.now()
	}
}

// Start polls until ctx ends.
func (p *Poller[T]) Start(ctx context.Context) error {
	t := time.NewTicker(p.tick())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			p.Poll(ctx)
		}
	}
}

// Poll describes every tracked resource that is due, in batches per cluster, and wakes up the
// objects whose description changed.
func (p *Poller[T]) Poll(ctx context.Context) {
	for cluster, keys := range p.due() {
		for start := 0; start < len(keys); start += p.cfg.BatchSize {
			end := min(start+p.cfg.BatchSize, len(keys))
			p.pollBatch(ctx, cluster, keys[start:end])
		}
	}
}

type dueKey struct {
	key types.NamespacedName
	id  string
}

func (p *Poller[T]) due() map[string][]dueKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	out := map[string][]dueKey{}
	// early: per cluster, resources not yet due that may ride along in a batch that is sent
	// anyway (within the second half of their interval), so that resources polled at scattered
	// moments converge on shared calls instead of one call each.
	early := map[string][]dueKey{}
	for key, e := range p.entries {
		every := p.interval(e)
		// The tolerance keeps a ticker's jitter from skipping a round.
		switch age := now.Sub(e.fetched); {
		case !e.has || age >= every-p.tick()/4:
			out[e.cluster] = append(out[e.cluster], dueKey{key: key, id: e.id})
		case age >= every/2:
			early[e.cluster] = append(early[e.cluster], dueKey{key: key, id: e.id})
		}
	}
	for cluster, keys := range out {
		room := (p.cfg.BatchSize - len(keys)%p.cfg.BatchSize) % p.cfg.BatchSize
		extra := early[cluster]
		out[cluster] = append(keys, extra[:min(room, len(extra))]...)
	}
	return out
}

// interval is how long e's description is fresh: StableInterval at rest, else its current
// interval while it changes.
func (p *Poller[T]) interval(e *pollEntry[T]) time.Duration {
	switch {
	case e.stable:
		return p.cfg.StableInterval
	case e.every > 0:
		return e.every
	}
	return p.cfg.Interval
}

func (p *Poller[T]) pollBatch(ctx context.Context, cluster string, keys []dueKey) {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	start := p.now()
	got, err := p.cfg.Describe(ctx, cluster, ids)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "polling", "cluster", cluster, "count", len(ids))
		return
	}
	var wake []types.NamespacedName
	p.mu.Lock()
	for _, k := range keys {
		e, ok := p.entries[k.key]
		if !ok || e.id != k.id || start.Before(e.invalidated) || start.Before(e.put) {
			continue
		}
		if p.store(e, got[k.id], start) {
			wake = append(wake, k.key)
		}
	}
	p.mu.Unlock()
	for _, key := range wake {
		obj := p.cfg.NewObject()
		obj.SetNamespace(key.Namespace)
		obj.SetName(key.Name)
		select {
		case p.events <- event.GenericEvent{Object: obj}:
		case <-ctx.Done():
			return
		}
	}
}

// NeedLeaderElection: the poller only feeds the controllers, which run where it runs.
func (p *Poller[T]) NeedLeaderElection() bool { return false }
