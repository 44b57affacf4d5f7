package prober

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/probe"

	"github.com/go-logr/logr"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// maxProbeRetries is how often a probe that could not be run is tried before its outcome is
// thrown away (the kubelet's maxProbeRetries).
const maxProbeRetries = 3

// Event reasons, as the kubelet records them (k8s.io/kubernetes/pkg/kubelet/events).
const (
	ReasonUnhealthy    = "Unhealthy"
	ReasonProbeWarning = "ProbeWarning"
	// ReasonKilling is the reason of the event the Pod controller records when it kills a
	// container after Kill.
	ReasonKilling = "Killing"
)

type probeType int

const (
	readiness probeType = iota
	liveness
	startup
	numProbeTypes
)

// probeTypes in the order Ensure starts them.
var probeTypes = [...]probeType{startup, readiness, liveness}

// String is the probe's name as the kubelet's events spell it.
func (t probeType) String() string {
	switch t {
	case readiness:
		return "Readiness"
	case liveness:
		return "Liveness"
	default:
		return "Startup"
	}
}

// killReason is the kubelet's containerKillReason for a failure of t.
func (t probeType) killReason() string {
	return t.String() + "Probe"
}

func specOf(cn *translate.ContainerNode, t probeType) *translate.Probe {
	switch t {
	case readiness:
		return cn.Readiness
	case liveness:
		return cn.Liveness
	default:
		return cn.Startup
	}
}

// worker runs one probe of one container, in its own goroutine, as the kubelet's worker does.
// Its fields below spec are guarded by Manager.mu.
type worker struct {
	m         *Manager
	pod       *pod
	container *container
	typ       probeType
	spec      translate.Probe
	// trigger asks for a probe now (the container started, or its startup probe succeeded).
	trigger chan struct{}

	cancel  context.CancelFunc
	stopped bool
	// run is the run the counters below are for.
	run   run
	last  probe.Result
	count int
	// hold: the result is reached (liveness failed, startup concluded); no probe until the
	// container's next run.
	hold bool
}

// stop ends the worker; its goroutine returns and its outcome in flight is dropped.
func (w *worker) stop() {
	w.stopped = true
	if w.cancel != nil {
		w.cancel()
	}
}

// poke asks for a probe now, without blocking.
func (w *worker) poke() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

func (w *worker) period() time.Duration { return time.Duration(w.spec.PeriodSeconds) * time.Second }

// loop probes until ctx ends.
func (w *worker) loop(ctx context.Context) {
	wait := w.firstWait()
	for {
		if wait > 0 {
			t := w.m.clock.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			case <-w.trigger:
				t.Stop()
			}
		} else if ctx.Err() != nil {
			return
		}
		wait = w.step(ctx)
	}
}

// firstWait is the jitter of the first probe: a random part of the period when the Manager
// started less than one period ago (kubelet's worker.run), so that a restarted controller does
// not probe every Pod at once.
func (w *worker) firstWait() time.Duration {
	w.m.mu.Lock()
	started := w.m.started
	w.m.mu.Unlock()
	if p := w.period(); w.m.clock.Since(started) < p {
		return time.Duration(w.m.jitter() * float64(p))
	}
	return 0
}

// target is what one probe runs against.
type target struct {
	task taskhost.Task
	run  run
}

// step probes once if it is time to, records the outcome, and returns how long to wait for the
// next step.
func (w *worker) step(ctx context.Context) time.Duration {
	start := w.m.clock.Now()
	w.m.mu.Lock()
	tg, wait, ok := w.decideLocked(start)
	w.m.mu.Unlock()
	if !ok {
		return wait
	}
	res, out, err := w.probe(ctx, tg.task)
	if ctx.Err() != nil {
		return 0
	}
	w.m.mu.Lock()
	eff := w.recordLocked(tg.run, res, out, err)
	w.m.mu.Unlock()
	w.m.apply(ctx, eff)
	p := w.period()
	return p - w.m.clock.Since(start)%p
}

// decideLocked says whether to probe now (and against what), or how long to wait: the
// container must run, the worker must not hold, initialDelaySeconds must have passed since the
// container started, and readiness and liveness wait for the startup probe's success.
func (w *worker) decideLocked(now time.Time) (target, time.Duration, bool) {
	c, p := w.container, w.period()
	if w.stopped || !c.run.running() {
		return target{}, p, false
	}
	if w.run != c.run {
		w.run, w.last, w.count, w.hold = c.run, "", 0, false
	}
	if w.hold {
		return target{}, p, false
	}
	if d := c.run.at.Add(time.Duration(w.spec.InitialDelaySeconds) * time.Second).Sub(now); d > 0 {
		return target{}, d, false
	}
	started := c.probes[startup] == nil || isTrue(c.started)
	if (w.typ == startup) == started {
		// startup has nothing left to do; the others wait for it
		return target{}, p, false
	}
	return target{task: w.pod.task, run: c.run}, 0, true
}

// probe runs the probe, trying again (up to maxProbeRetries) while it cannot be run.
func (w *worker) probe(ctx context.Context, task taskhost.Task) (probe.Result, string, error) {
	timeout := time.Duration(w.spec.TimeoutSeconds) * time.Second
	var (
		res probe.Result
		out string
		err error
	)
	for range maxProbeRetries {
		res, out, err = w.m.runner.run(ctx, task, w.container.name, &w.spec.Handler, timeout)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	return res, out, err
}

// effects are what recording an outcome does outside the lock.
type effects struct {
	key       types.NamespacedName
	uid       types.UID
	fieldPath string
	container string
	// event is a Warning event to record (reason, message); kill the Killing message.
	eventReason, eventMessage string
	kill                      string
	// note is logged at V(1): an outcome dropped as stale, or a result reached.
	note string
}

// recordLocked counts the outcome against the thresholds and sets the container's results: the
// kubelet's worker.doProbe after the probe ran.
func (w *worker) recordLocked(r run, res probe.Result, out string, err error) effects {
	c := w.container
	eff := effects{key: w.pod.key, uid: w.pod.uid, fieldPath: c.fieldPath(), container: c.name}
	if w.stopped || c.run != r || w.run != r {
		eff.note = fmt.Sprintf("%s probe outcome dropped: the container ran again or the probe stopped", w.typ)
		return eff
	}
	name := w.typ.String()
	switch {
	case err != nil:
		eff.eventReason, eff.eventMessage = ReasonUnhealthy, fmt.Sprintf("%s probe errored and resulted in %s state: %v", name, probe.Unknown, err)
		c.message, c.messageFrom = eff.eventMessage, w.typ
		return eff // thrown away: counts neither way
	case res == probe.Warning:
		eff.eventReason, eff.eventMessage = ReasonProbeWarning, fmt.Sprintf("%s probe warning: %s", name, out)
		res = probe.Success
	case res == probe.Failure:
		eff.eventReason, eff.eventMessage = ReasonUnhealthy, fmt.Sprintf("%s probe failed: %s", name, out)
		c.message, c.messageFrom = eff.eventMessage, w.typ
	case res != probe.Success:
		res = probe.Failure // unknown without an error: a failure, without an event
	}
	if res == probe.Success && c.messageFrom == w.typ {
		c.message = ""
	}
	if res == w.last {
		w.count++
	} else {
		w.last, w.count = res, 1
	}
	if (res == probe.Failure && w.count < int(w.spec.FailureThreshold)) ||
		(res == probe.Success && w.count < int(w.spec.SuccessThreshold)) {
		return eff
	}
	before := c.result()
	w.concludeLocked(res == probe.Success, &eff)
	if after := c.result(); changed(before, after) {
		eff.note = fmt.Sprintf("%s probe concluded %s: ready %s, started %s", w.typ, res, fmtBool(after.Ready), fmtBool(after.Started))
		w.m.wakeLocked(w.pod.key)
	}
	return eff
}

// concludeLocked sets the result the probe reached.
func (w *worker) concludeLocked(success bool, eff *effects) {
	c := w.container
	switch w.typ {
	case readiness:
		c.ready = ptr(success)
	case startup:
		w.hold, w.count = true, 0
		c.started = ptr(success)
		if success {
			if rw := w.pod.workers[workerKey{container: c.name, typ: readiness}]; rw != nil {
				rw.poke()
			}
			return
		}
		c.kill = w.killLocked()
		eff.kill = c.kill.Message
	case liveness:
		if success {
			return
		}
		w.hold, w.count = true, 0
		c.kill = w.killLocked()
		eff.kill = c.kill.Message
	}
}

// killLocked is how the container is killed after w's probe failed (the kubelet's
// computePodActions and setTerminationGracePeriod).
func (w *worker) killLocked() *Kill {
	c := w.container
	what := "Container"
	if c.sidecar {
		what = "Init container"
	}
	msg := fmt.Sprintf("%s %s failed %s probe", what, c.name, strings.ToLower(w.typ.String()))
	if !c.sidecar && w.pod.restartPolicy != corev1.RestartPolicyNever {
		msg += ", will be restarted"
	}
	grace := w.pod.gracePeriod
	if w.spec.TerminationGracePeriodSeconds != nil {
		grace = *w.spec.TerminationGracePeriodSeconds
	}
	return &Kill{Reason: w.typ.killReason(), Message: msg, GracePeriodSeconds: grace}
}

// apply records the event and calls OnLivenessFailure, outside the lock.
func (m *Manager) apply(ctx context.Context, eff effects) {
	if eff.note != "" {
		logr.FromContextOrDiscard(ctx).V(1).Info(eff.note, "pod", eff.key, "container", eff.container)
	}
	if eff.eventReason != "" {
		logr.FromContextOrDiscard(ctx).V(1).Info("probe did not succeed", "pod", eff.key, "container", eff.container,
			"reason", eff.eventReason, "message", eff.eventMessage)
		if m.recorder != nil {
			ref := &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: eff.key.Namespace, Name: eff.key.Name,
				UID: eff.uid, FieldPath: eff.fieldPath}
			m.recorder.Event(ref, corev1.EventTypeWarning, eff.eventReason, eff.eventMessage)
		}
	}
	if eff.kill != "" && m.onKill != nil {
		m.onKill(eff.key, eff.container, eff.kill)
	}
}

// changed reports whether a Result changed in what wakes the Pod's reconcile.
func changed(a, b Result) bool {
	return !eqBool(a.Ready, b.Ready) || !eqBool(a.Started, b.Started) || (a.Kill == nil) != (b.Kill == nil)
}

func eqBool(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func isTrue(b *bool) bool { return b != nil && *b }

func fmtBool(b *bool) string {
	if b == nil {
		return "unknown"
	}
	return strconv.FormatBool(*b)
}
