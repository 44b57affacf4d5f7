package prober

import (
	"context"
	"math/rand/v2"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// restartGrace is how long before the Manager started a container must have started to count as
// adopted (running before a restart), the kubelet's kubeletRestartGracePeriod.
const restartGrace = 10 * time.Second

// Options configure a Manager.
type Options struct {
	// Host dials tasks (httpGet, tcpSocket, grpc) and runs exec probes. Required.
	Host taskhost.Host
	// OnLivenessFailure, when set, is called once per failed run: a liveness probe failed
	// failureThreshold times in a row, or a startup probe did. key names the Pod, message is the
	// kubelet's Killing message ("Container web failed liveness probe, will be restarted"; see
	// Kill). It is called from a probe worker, without the Manager's lock held (it may call the
	// Manager); it should not block for long: that worker waits for it.
	OnLivenessFailure func(key types.NamespacedName, container, message string)
	// Recorder, when set, receives the kubelet prober's per-probe events on the Pod's container
	// (involvedObject Pod, fieldPath spec.containers{NAME} or spec.initContainers{NAME}):
	// Warning Unhealthy "<Probe> probe failed: <output>" on every failure, Warning Unhealthy
	// "<Probe> probe errored and resulted in unknown state: <error>" when it could not be run,
	// Warning ProbeWarning "<Probe> probe warning: <output>" (a redirect not followed).
	Recorder record.EventRecorder
	// Clock is the Manager's clock; clock.RealClock by default (tests give a fake one).
	Clock clock.Clock
	// Logger receives, at V(1), every probe that did not succeed, every result reached and every
	// outcome dropped as stale (the container ran again meanwhile). Default: the logger of
	// Start's context, if any.
	Logger *logr.Logger
}

// Result is what a Pod's probes concluded about one container's current run.
type Result struct {
	// Ready is readiness: false from the start of a run until the readiness probe succeeded
	// successThreshold times in a row, then what the probe last concluded; a container without
	// a readiness probe is ready once it has started. nil while the container is not running,
	// and, for a container adopted after a Manager restart, until its probes conclude (keep
	// what the Pod's status says).
	Ready *bool
	// Started is whether the startup probe succeeded (true), or failed failureThreshold times
	// (false); nil before either, or while the container is not running. A running container
	// without a startup probe has started.
	Started *bool
	// Message is the last probe failure of the current run (or of the last run, while the
	// container is not running), as the kubelet's Unhealthy event words it: "Readiness probe
	// failed: HTTP probe failed with statuscode: 503". "" when that probe has since succeeded.
	Message string
	// Kill is set when a liveness or startup probe failed in the current run: the container must
	// be killed (and restarted as its policy says). It stays set until the container runs again,
	// stops, or the Pod is terminating.
	Kill *Kill
}

// Kill says how to kill a container whose liveness or startup probe failed, as the kubelet's
// kuberuntime manager does.
type Kill struct {
	// Reason is "LivenessProbe" or "StartupProbe".
	Reason string
	// Message is the kubelet's Killing event message: "Container web failed liveness probe,
	// will be restarted" (", will be restarted" only when restartPolicy is not Never), "Init
	// container proxy failed startup probe" for a sidecar.
	Message string
	// GracePeriodSeconds is the time between SIGTERM and SIGKILL: the probe's
	// terminationGracePeriodSeconds, else the Pod's.
	GracePeriodSeconds int64
}

// Manager runs the probes of the Pods on the virtual node. It is a controller-runtime Runnable:
// add it to the manager; probes run while Start runs (Ensure before Start records the Pod, Start
// then starts its probes). All methods are safe for concurrent use.
type Manager struct {
	onKill   func(key types.NamespacedName, container, message string)
	recorder record.EventRecorder
	logger   *logr.Logger
	clock    clock.Clock
	runner   runner
	jitter   func() float64
	created  time.Time

	mu      sync.Mutex
	ctx     context.Context // Start's, while it runs; nil before and after
	started time.Time       // when Start was called
	wg      sync.WaitGroup
	pods    map[types.NamespacedName]*pod
	queues  []workqueue.TypedRateLimitingInterface[reconcile.Request]
	pending map[types.NamespacedName]struct{} // wake-ups before Source started
}

// New returns a Manager.
func New(opts Options) *Manager {
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Manager{
		onKill:   opts.OnLivenessFailure,
		recorder: opts.Recorder,
		logger:   opts.Logger,
		clock:    clk,
		runner:   newHostRunner(opts.Host),
		jitter:   rand.Float64,
		created:  clk.Now(),
		pods:     map[types.NamespacedName]*pod{},
		pending:  map[types.NamespacedName]struct{}{},
	}
}

// Start runs the probes of every Pod ensured, until ctx ends; then it stops them all and returns
// once every worker has returned. It returns nil; it must be called once.
func (m *Manager) Start(ctx context.Context) error {
	if m.logger != nil {
		ctx = logr.NewContext(ctx, m.logger.WithName("prober"))
	}
	m.mu.Lock()
	m.ctx, m.started = ctx, m.clock.Now()
	for _, p := range m.pods {
		for _, w := range p.workers {
			m.startWorkerLocked(w)
		}
	}
	m.mu.Unlock()

	<-ctx.Done()

	m.mu.Lock()
	m.ctx = nil
	for _, p := range m.pods {
		p.stopWorkers(func(workerKey) bool { return true })
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// NeedLeaderElection: probes feed the Pod controller, which runs where the Manager runs.
func (m *Manager) NeedLeaderElection() bool { return false }

// Source wakes the reconcile of a Pod (a reconcile.Request naming it) whenever one of its
// containers' Result changes Ready, Started or Kill. Wake-ups before the source is started are
// kept and delivered when it starts; none is dropped, and the workqueue merges repeats.
func (m *Manager) Source() source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.queues = append(m.queues, q)
		for key := range m.pending {
			q.Add(reconcile.Request{NamespacedName: key})
		}
		clear(m.pending)
		return nil
	})
}

// Ensure makes the probes of the Pod key (whose UID is uid) match its current task, plan and
// running containers. It is idempotent and does not block: call it on every reconcile, before
// Results.
//
//   - task is the Pod's current task (its IP is the default host of network probes); a
//     different TaskArn is a new run of every container.
//   - plan.Containers give each container's probes (init containers that are not sidecars have
//     none); plan.RestartPolicy and plan.TerminationGracePeriodSeconds shape Kill.
//   - started maps the name of every running container to the start time of its current run;
//     a container absent is not running (its probes wait). A different start time is a new run
//     (an in-task restart): the container's results reset. The time must be the container's own
//     (a new one per run), not the task's.
//
// A different uid (the Pod was deleted and made again under its name) starts afresh. A probe
// that disappears from the plan, or changes, stops (a changed one starts anew).
func (m *Manager) Ensure(key types.NamespacedName, uid types.UID, task taskhost.Task, plan translate.NodePlan, started map[string]time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pods[key]
	if p != nil && p.uid != uid {
		p.stopWorkers(func(workerKey) bool { return true })
		p = nil
	}
	if p == nil {
		p = &pod{key: key, uid: uid, containers: map[string]*container{}, workers: map[workerKey]*worker{}}
		m.pods[key] = p
	}
	p.task = task
	p.restartPolicy = plan.RestartPolicy
	p.gracePeriod = plan.TerminationGracePeriodSeconds

	seen := map[string]bool{}
	for i := range plan.Containers {
		cn := &plan.Containers[i]
		if cn.Init && !cn.Sidecar {
			continue // the kubelet probes regular containers and sidecars only
		}
		seen[cn.Name] = true
		c := p.containers[cn.Name]
		if c == nil {
			c = &container{name: cn.Name}
			p.containers[cn.Name] = c
		}
		c.sidecar = cn.Sidecar
		m.ensureWorkersLocked(p, c, cn)
		m.ensureRunLocked(p, c, task, started)
	}
	for name := range p.containers {
		if !seen[name] {
			p.stopWorkers(func(wk workerKey) bool { return wk.container == name })
			delete(p.containers, name)
		}
	}
}

// ensureWorkersLocked starts, replaces or stops the container's workers to match its probes.
func (m *Manager) ensureWorkersLocked(p *pod, c *container, cn *translate.ContainerNode) {
	for _, t := range probeTypes {
		spec := specOf(cn, t)
		wk := workerKey{container: c.name, typ: t}
		w := p.workers[wk]
		if w != nil && (spec == nil || !reflect.DeepEqual(*spec, w.spec)) {
			w.stop()
			delete(p.workers, wk)
			w = nil
			c.resetProbe(t)
		}
		c.probes[t] = spec
		if spec == nil || w != nil || (p.terminating && t != readiness) {
			continue
		}
		w = &worker{m: m, pod: p, container: c, typ: t, spec: *spec, trigger: make(chan struct{}, 1)}
		p.workers[wk] = w
		m.startWorkerLocked(w)
	}
}

// ensureRunLocked resets the container's results when it runs again, or stopped.
func (m *Manager) ensureRunLocked(p *pod, c *container, task taskhost.Task, started map[string]time.Time) {
	r := run{}
	if at, ok := started[c.name]; ok {
		r = run{task: task.TaskArn, at: at}
	}
	if r == c.run {
		return
	}
	adopted := !r.at.IsZero() && r.at.Before(m.created.Add(-restartGrace))
	c.newRun(r, adopted)
	if !r.running() {
		return
	}
	for _, t := range probeTypes {
		if w := p.workers[workerKey{container: c.name, typ: t}]; w != nil {
			w.poke()
		}
	}
}

// startWorkerLocked starts w's goroutine when the Manager runs.
func (m *Manager) startWorkerLocked(w *worker) {
	if m.ctx == nil || w.cancel != nil || w.stopped {
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	w.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.loop(ctx)
	}()
}

// Terminating stops the liveness and startup probes of the Pod key, which is being deleted: the
// kubelet never kills a container of a terminating Pod for them. Readiness probes go on until
// Remove; Ensure does not start liveness or startup probes again. Kill is cleared.
func (m *Manager) Terminating(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pods[key]
	if p == nil || p.terminating {
		return
	}
	p.terminating = true
	p.stopWorkers(func(wk workerKey) bool { return wk.typ != readiness })
	for _, c := range p.containers {
		c.kill = nil
	}
}

// Remove stops every probe of the Pod key and forgets it; it returns without waiting for probes
// in flight (they end at once and their outcome is dropped). Results(key) is then nil.
func (m *Manager) Remove(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.pods[key]; p != nil {
		p.stopWorkers(func(workerKey) bool { return true })
		delete(m.pods, key)
	}
	delete(m.pending, key)
}

// Results returns the Result of every regular container and sidecar of the Pod key, by name;
// nil for a Pod not ensured (or removed). The map is the caller's.
func (m *Manager) Results(key types.NamespacedName) map[string]Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pods[key]
	if p == nil {
		return nil
	}
	out := make(map[string]Result, len(p.containers))
	for name, c := range p.containers {
		out[name] = c.result()
	}
	return out
}

// wakeLocked wakes the reconcile of key.
func (m *Manager) wakeLocked(key types.NamespacedName) {
	if len(m.queues) == 0 {
		m.pending[key] = struct{}{}
		return
	}
	for _, q := range m.queues {
		q.Add(reconcile.Request{NamespacedName: key})
	}
}

// pod is what the Manager keeps of one Pod; guarded by Manager.mu.
type pod struct {
	key           types.NamespacedName
	uid           types.UID
	task          taskhost.Task
	restartPolicy corev1.RestartPolicy
	gracePeriod   int64
	terminating   bool
	containers    map[string]*container
	workers       map[workerKey]*worker
}

type workerKey struct {
	container string
	typ       probeType
}

// stopWorkers stops the workers selected.
func (p *pod) stopWorkers(sel func(workerKey) bool) {
	for wk, w := range p.workers {
		if !sel(wk) {
			continue
		}
		w.stop()
		delete(p.workers, wk)
	}
}

// run identifies one run of a container: its task and its start time; the zero run is "not
// running".
type run struct {
	task string
	at   time.Time
}

func (r run) running() bool { return !r.at.IsZero() }

// container is what the Manager keeps of one container; guarded by Manager.mu.
type container struct {
	name    string
	sidecar bool
	probes  [numProbeTypes]*translate.Probe
	run     run
	// adopted: the run started before the Manager (a restart); its results start unknown.
	adopted bool
	// ready and started are the readiness and startup results of the run (nil: none yet).
	ready, started *bool
	message        string
	messageFrom    probeType
	kill           *Kill
}

// newRun resets the container's results for a new run (or for not running).
func (c *container) newRun(r run, adopted bool) {
	c.run, c.adopted = r, adopted
	c.started, c.kill = nil, nil
	c.ready = nil
	if r.running() {
		c.message = ""
		if !adopted {
			c.ready = ptr(false) // the kubelet's initial readiness: Failure
		}
	}
}

// resetProbe forgets the result of probe t (its spec changed or it is gone).
func (c *container) resetProbe(t probeType) {
	switch t {
	case readiness:
		if c.run.running() {
			c.ready = ptr(false)
		}
	case startup:
		c.started = nil
	case liveness:
	}
	if c.kill != nil && c.kill.Reason == t.killReason() {
		c.kill = nil
	}
}

// result is the container's Result.
func (c *container) result() Result {
	r := Result{Message: c.message}
	if c.kill != nil {
		k := *c.kill
		r.Kill = &k
	}
	if !c.run.running() {
		return r
	}
	r.Started = ptr(true)
	if c.probes[startup] != nil {
		r.Started = clone(c.started)
	}
	switch {
	case r.Started != nil && !*r.Started:
		r.Ready = ptr(false)
	case r.Started == nil && !c.adopted:
		r.Ready = ptr(false)
	case r.Started == nil:
		// adopted: unknown
	case c.probes[readiness] == nil:
		r.Ready = ptr(true)
	default:
		r.Ready = clone(c.ready)
	}
	return r
}

// fieldPath is the container's field path in events, as the kubelet's GenerateContainerRef.
func (c *container) fieldPath() string {
	if c.sidecar {
		return "spec.initContainers{" + c.name + "}"
	}
	return "spec.containers{" + c.name + "}"
}

func ptr[T any](v T) *T { return &v }

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// httpTransport is the transport of httpGet probes: every connection through host.Dial, no
// keep-alive (nothing idles after a probe), no proxy, no compression, TLS not verified (all as
// the kubelet's probe/http).
func httpTransport(host taskhost.Host) *http.Transport {
	return &http.Transport{
		DialContext:         host.Dial,
		TLSClientConfig:     insecureTLS(),
		DisableKeepAlives:   true,
		DisableCompression:  true,
		Proxy:               nil,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
}
