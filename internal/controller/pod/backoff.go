package pod

import (
	"fmt"
	"time"
)

// Backoff is the kubelet's restart back-off (pkg/kubelet: the flowcontrol.Backoff of container
// restarts and image pulls): the first re-run is immediate, then a stopped Pod waits Initial,
// doubling up to Max, counted from when its task stopped; after a run longer than Reset the
// back-off starts over.
type Backoff struct {
	Initial, Max, Reset time.Duration
}

// DefaultBackoff returns the kubelet's back-off: 10 s doubling to 5 min, reset after a run of
// 10 min (the kubelet forgets a back-off entry not updated for twice its maximum).
func DefaultBackoff() Backoff {
	return Backoff{Initial: 10 * time.Second, Max: 5 * time.Minute, Reset: 10 * time.Minute}
}

// backoffState is one Pod's back-off: delay is 0 before the first re-run; last is when the
// latest re-run was decided.
type backoffState struct {
	delay time.Duration
	last  time.Time
}

// wait returns how long the Pod whose task stopped at stopped must still wait at now before it is
// run again (0: now). A task that ran longer than Reset since the last re-run resets the state.
func (b *backoffState) wait(cfg Backoff, stopped, now time.Time) time.Duration {
	if b.delay == 0 {
		return 0
	}
	if stopped.Sub(b.last) > cfg.Reset {
		*b = backoffState{}
		return 0
	}
	if d := b.delay - now.Sub(stopped); d > 0 {
		return d
	}
	return 0
}

// next records a re-run decided at now and returns the delay the following one will wait.
func (b *backoffState) next(cfg Backoff, now time.Time) time.Duration {
	if b.delay == 0 {
		b.delay = cfg.Initial
	} else {
		b.delay = min(2*b.delay, cfg.Max)
	}
	b.last = now
	return b.delay
}

// crashLoopMessage is the kubelet's CrashLoopBackOff message.
func crashLoopMessage(delay time.Duration, container, pod string) string {
	return fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, container, pod)
}
