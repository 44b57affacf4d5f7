package runtime

import (
	"context"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// spareRetry is how long the refill waits after a failure before it tries again.
const spareRetry = 5 * time.Second

// spareHoldLimit bounds how long starts under way hold the refill back. A container that waits for
// its dependsOn condition (an init container that runs for minutes, say) counts as starting until
// its own process starts; once no start has begun and no container has passed its start for this
// long, the pool refills anyway. A variable for tests.
var spareHoldLimit = 2 * time.Second

// spareSettle is how long the refill waits after the last start ended: the application that just
// started (its runtime's init, its first listen) and the client waiting for it run on the same
// cores as a spare's kernel work, and a burst of starts arriving one after the other is not
// interrupted by refills between them.
const spareSettle = 250 * time.Millisecond

// refillSpares keeps the pool of ready task namespaces (ContainerdOptions.SpareNamespaces) full
// until ctx ends, then removes its spares. It first removes what an earlier process left, once the
// VPC is ready; without a pool (size 0) that is all it does, so that a process restarted with
// --spare-namespaces 0 leaves no mount, namespace or veth of the pool before it. It fills only
// while no task of this runtime is starting (from Start until each of its containers' processes
// was started or given up, and spareSettle after), so that the kernel work of a spare does not
// compete with a start; every start that begins or ends wakes it. Starts that have not moved for
// spareHoldLimit (containers waiting for their dependencies) no longer hold it back.
func (c *Containerd) refillSpares(ctx context.Context) {
	select {
	case <-c.opts.VPC.Ready():
	case <-ctx.Done():
		return
	}
	if err := c.spares.Sweep(); err != nil {
		c.log.Error(err, "removing the spare namespaces of an earlier process")
	}
	if c.opts.SpareNamespaces <= 0 {
		return // no pool: the sweep was all there is to do
	}
	defer func() {
		if err := c.spares.Drain(); err != nil {
			c.log.Error(err, "removing the spare namespaces")
		}
	}()
	quiet := func() bool { return ctx.Err() == nil && c.startsHeld() == 0 }
	for {
		wait := time.Duration(0)
		if err := c.spares.Fill(quiet); err != nil {
			c.log.Error(err, "making a spare namespace")
			wait = spareRetry
		}
		if wait > 0 && !sleepCtx(ctx, wait) {
			return
		}
		// Starts that hold the refill back: look again when their hold runs out, unless the starts
		// change first (a spare may be taken meanwhile).
		var held <-chan time.Time
		var timer *time.Timer
		if d := c.startsHeld(); d > 0 {
			timer = time.NewTimer(d)
			held = timer.C
		}
		select {
		case <-ctx.Done():
		case <-c.startsChanged:
		case <-held:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// startsHeld is how much longer the starts hold the refill back: while some are under way, until
// none has moved for spareHoldLimit; once none is, until spareSettle after the last one moved.
func (c *Containerd) startsHeld() time.Duration {
	limit := spareSettle
	if c.starting.Load() > 0 {
		limit = spareHoldLimit
	}
	return max(0, limit-time.Since(time.Unix(0, c.startMoved.Load())))
}

// takeSpare moves a spare namespace, joined to the VPC, to the task's path when the pool holds one
// (one of size 0 never does), the task joins the VPC and its namespace does not exist yet (a
// restarted process's Attach finds its own); setupNetwork then only completes it.
func (t *task) takeSpare() {
	if t.c.spares == nil || t.spec.Network == nil || t.attached || vpc.IsNamespace(t.nsPath) {
		return
	}
	t.c.spares.Take(t.id, t.nsPath, t.spec.Network.MAC)
}

// beginStart counts a start until endStart: the refill waits for none to be under way, and is woken
// to time the start's hold (startsHeld).
func (c *Containerd) beginStart() {
	c.startMoved.Store(time.Now().UnixNano())
	c.starting.Add(1)
	c.wakeRefill()
}

// endStart ends what beginStart counted and wakes the refill.
func (c *Containerd) endStart() {
	c.startMoved.Store(time.Now().UnixNano())
	c.starting.Add(-1)
	c.wakeRefill()
}

// wakeRefill wakes the pool's refill, if it waits, to look at the starts again.
func (c *Containerd) wakeRefill() {
	select {
	case c.startsChanged <- struct{}{}:
	default:
	}
}

// passedStart records that c's start is behind it (its process started, or it will not start); the
// task's start ends with its last container's. Safe to call more than once per container.
func (t *task) passedStart(c *ctr) {
	if !t.counted {
		return
	}
	c.passOnce.Do(func() {
		t.c.startMoved.Store(time.Now().UnixNano())
		if t.startsLeft.Add(-1) == 0 {
			t.c.endStart()
		}
	})
}
