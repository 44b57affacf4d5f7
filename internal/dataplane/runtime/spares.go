package runtime

import (
	"context"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// spareRetry is how long the refill waits after a failure before it tries again.
const spareRetry = 5 * time.Second

// refillSpares keeps the pool of ready task namespaces (ContainerdOptions.SpareNamespaces) full
// until ctx ends, then removes its spares. It first removes what an earlier process left, once the
// VPC is ready, and fills only while no task of this runtime is starting (from Start until each of
// its containers' processes was started or given up), so that the kernel work of a spare never
// competes with a start; every start that ends wakes it.
func (c *Containerd) refillSpares(ctx context.Context) {
	select {
	case <-c.opts.VPC.Ready():
	case <-ctx.Done():
		return
	}
	if err := c.spares.Sweep(); err != nil {
		c.log.Error(err, "removing the spare namespaces of an earlier process")
	}
	defer func() {
		if err := c.spares.Drain(); err != nil {
			c.log.Error(err, "removing the spare namespaces")
		}
	}()
	quiet := func() bool { return c.starting.Load() == 0 && ctx.Err() == nil }
	for {
		wait := time.Duration(0)
		if err := c.spares.Fill(quiet); err != nil {
			c.log.Error(err, "making a spare namespace")
			wait = spareRetry
		}
		if wait > 0 && !sleepCtx(ctx, wait) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-c.startEnded:
		}
	}
}

// takeSpare moves a spare namespace, joined to the VPC, to the task's path when there is a pool,
// the task joins the VPC and its namespace does not exist yet (a restarted process's Attach finds
// its own); setupNetwork then only completes it.
func (t *task) takeSpare() {
	if t.c.spares == nil || t.spec.Network == nil || t.attached || vpc.IsNamespace(t.nsPath) {
		return
	}
	t.c.spares.Take(t.id, t.nsPath, t.spec.Network.MAC)
}

// beginStart counts a start until endStart: the refill waits for none to be under way.
func (c *Containerd) beginStart() { c.starting.Add(1) }

// endStart ends what beginStart counted and wakes the refill.
func (c *Containerd) endStart() {
	c.starting.Add(-1)
	select {
	case c.startEnded <- struct{}{}:
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
		if t.startsLeft.Add(-1) == 0 {
			t.c.endStart()
		}
	})
}
