package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// execSeq numbers health probe execs; it starts from the clock so that an exec left behind by a
// killed nodeless never collides with the next process's.
var execSeq = func() *atomic.Uint64 {
	var n atomic.Uint64
	n.Store(uint64(time.Now().UnixNano()))
	return &n
}()

// firstProbeDelay is when the first health probe runs after the container starts (or is attached);
// later ones run every interval.
const firstProbeDelay = time.Second

// healthLoop runs the container's health check inside it until the container exits: HEALTHY on a
// success, UNHEALTHY after `retries` consecutive failures; failures during startPeriod do not count.
func (t *task) healthLoop(c *ctr, cont containerd.Container, proc containerd.Task) {
	defer t.wg.Done()
	h := c.spec.Health
	start := time.Now()
	failures := 0
	delay := min(firstProbeDelay, h.Interval)
	for {
		select {
		case <-c.exited:
			return
		case <-t.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = h.Interval
		err := t.probe(cont, proc, h.Argv, h.Timeout)
		status := ""
		var infra *probeError
		switch {
		case errors.As(err, &infra):
			// containerd could not run the probe (restarting, say): no verdict on the container.
			t.log.V(1).Info("health probe not run", "container", c.spec.Name, "error", err.Error())
			continue
		case err == nil:
			failures, status = 0, model.HealthHealthy
		case time.Since(start) < h.StartPeriod:
			continue
		default:
			failures++
			if failures >= h.Retries {
				status = model.HealthUnhealthy
			}
		}
		t.setHealth(c, status)
	}
}

func (t *task) setHealth(c *ctr, status string) {
	t.mu.Lock()
	same := status == "" || c.state.Health == status || c.done
	t.mu.Unlock()
	if !same {
		t.update(func() { c.state.Health = status })
	}
}

// probeError is a probe that could not be run at all (not a failing check).
type probeError struct{ err error }

func (e *probeError) Error() string { return "running health probe: " + e.err.Error() }
func (e *probeError) Unwrap() error { return e.err }

// probe runs argv in the container with containerd exec; nil means exit code 0 within timeout.
func (t *task) probe(cont containerd.Container, proc containerd.Task, argv []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	spec, err := cont.Spec(ctx)
	if err != nil {
		return &probeError{fmt.Errorf("reading spec: %w", err)}
	}
	pspec := *spec.Process
	pspec.Args = argv
	pspec.Terminal = false
	id := "health-" + strconv.FormatUint(execSeq.Add(1), 10)
	p, err := proc.Exec(ctx, id, &pspec, cio.NullIO)
	if err != nil {
		return &probeError{fmt.Errorf("exec: %w", err)}
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(t.ctx, 5*time.Second)
		_, _ = p.Delete(dctx, containerd.WithProcessKill)
		dcancel()
	}()
	ch, err := p.Wait(ctx)
	if err != nil {
		return &probeError{fmt.Errorf("exec wait: %w", err)}
	}
	if err := p.Start(ctx); err != nil {
		// A command that does not exist in the image fails here: that is a failing check.
		return fmt.Errorf("exec start: %w", err)
	}
	select {
	case st := <-ch:
		code, _, err := st.Result()
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("health check exited with %d", code)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("health check timed out after %s", timeout)
	}
}
