package integration

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// probeHost is a taskhost.Host for the probes of tasks in the in-memory ECS, whose tasks have
// addresses but no network: a port the test marks down refuses connections, any other accepts
// them; a signal ends the container in the fake runtime (SIGTERM: exit code 143, SIGKILL: 137),
// as the local data plane's containerd would. Logs, exec, attach and volumes are unsupported.
type probeHost struct {
	ecs *ecsmem.ECS

	mu      sync.Mutex
	down    map[string]bool // by port
	signals []string        // "container SIGNAL"
	// noSignal: Signal is unsupported (as where the Host cannot reach containers).
	noSignal bool
	// execErr, when set, is what Exec returns (an error, not an exit code: the probe errors);
	// otherwise Exec succeeds.
	execErr error
}

func (h *probeHost) setExecErr(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.execErr = err
}

func newProbeHost(e *ecsmem.ECS) *probeHost { return &probeHost{ecs: e, down: map[string]bool{}} }

func (h *probeHost) setDown(port string, down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down[port] = down
}

func (h *probeHost) sent() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.signals...)
}

func (h *probeHost) Dial(_ context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	down := h.down[port]
	h.mu.Unlock()
	if down || host == "" || network != "tcp" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connect: connection refused")}
	}
	c1, c2 := net.Pipe()
	_ = c2.Close()
	return c1, nil
}

func (h *probeHost) Signal(_ context.Context, t taskhost.Task, container string, sig syscall.Signal) error {
	h.mu.Lock()
	if h.noSignal {
		h.mu.Unlock()
		return unsupported()
	}
	h.signals = append(h.signals, container+" "+sig.String())
	h.mu.Unlock()
	code := int32(128 + sig)
	h.ecs.Runtime.Exit(t.ID, container, code)
	return nil
}

func (h *probeHost) Logs(context.Context, taskhost.Task, string, taskhost.LogOptions) (io.ReadCloser, error) {
	return nil, unsupported()
}

func (h *probeHost) Exec(context.Context, taskhost.Task, string, []string, taskhost.Streams) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.execErr
}

func (h *probeHost) Attach(context.Context, taskhost.Task, string, taskhost.Streams) error {
	return unsupported()
}

func (h *probeHost) VolumeDir(taskhost.Task, string) (string, error) { return "", unsupported() }

func unsupported() error {
	return &taskhost.UnsupportedError{Op: "this test host", Remedy: "none"}
}

func tcpProbe(port int32, failures int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}},
		PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: failures, SuccessThreshold: 1}
}

func containerReady(p *corev1.Pod) bool {
	return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
}

// TestProbes: with a Host, the controller runs the Pod's probes (the real prober, made by
// Register): the Pod runs but is not Ready until its readiness probe succeeds, with the
// kubelet's Unhealthy Events; a failing liveness probe kills the container as the kubelet does
// (Killing Event, SIGTERM through the Host), the task stops and the node runs the Pod again
// with back-off, restartCount 1 and lastState the killed run; Ready follows the probe of the
// new run.
func TestProbes(t *testing.T) {
	var host *probeHost
	e := start(t, func(e *env, o *pod.Options) {
		host = newProbeHost(e.ecs)
		o.Host = host
	})
	host.setDown("8080", true)
	p := e.create(e.newPod("web", func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
		c.ReadinessProbe = tcpProbe(8080, 1)
		c.LivenessProbe = tcpProbe(9090, 2)
	}))

	got := e.waitPod("web", time.Minute, "Running, not Ready", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && len(p.Status.ContainerStatuses) == 1 &&
			p.Status.ContainerStatuses[0].State.Running != nil
	})
	if ready(got) || containerReady(got) {
		t.Errorf("ready before its readiness probe succeeded: %s", describe(got))
	}
	e.eventually(20*time.Second, "the Unhealthy event", func() (bool, string) {
		return e.hasEvent("web", "Warning Unhealthy: Readiness probe failed: ")
	})
	if ready(e.get("web")) {
		t.Errorf("ready while its readiness probe fails: %s", describe(e.get("web")))
	}

	host.setDown("8080", false)
	first := e.waitPod("web", 30*time.Second, "Ready once the probe succeeds", func(p *corev1.Pod) bool { return ready(p) && containerReady(p) })
	if cs := first.Status.ContainerStatuses[0]; cs.Started == nil || !*cs.Started || cs.RestartCount != 0 {
		t.Errorf("container %+v", cs)
	}

	host.setDown("9090", true)
	e.eventually(30*time.Second, "the Killing event", func() (bool, string) {
		return e.hasEvent("web", "Normal Killing: Container app failed liveness probe, will be restarted")
	})
	host.setDown("9090", false)
	again := e.waitPod("web", time.Minute, "running again after the liveness kill", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount == 1 && running(p)
	})
	cs := again.Status.ContainerStatuses[0]
	if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 143 {
		t.Errorf("lastState %+v, want terminated with exit code 143 (SIGTERM)", cs.LastTerminationState)
	}
	if taskOf(again) == taskOf(first) {
		t.Errorf("still task %s after the kill", taskOf(again))
	}
	if n := e.tasksStarted(p); n != 2 {
		t.Errorf("%d tasks started, want 2", n)
	}
	if d := host.sent(); len(d) != 1 || d[0] != "app terminated" {
		t.Errorf("signals %v, want one SIGTERM", d)
	}
	e.eventually(eventTimeout, "the Unhealthy event of the liveness probe", func() (bool, string) {
		return e.hasEvent("web", "Warning Unhealthy: Liveness probe failed: ")
	})
	for _, ev := range e.events("web") {
		if strings.HasPrefix(ev, "Warning FailedRunTask") {
			t.Errorf("unexpected event %s", ev)
		}
	}
}

// TestProbesAfterRestart: a restarted controller (and so a new prober) keeps a ready container
// Ready until its readiness probe concludes, as the kubelet does after its own restart, so that
// a restart of nodeless does not take the Pod out of its Services; no second task is started.
// The exec probe errors after the restart (its outcome counts neither way), so its verdict stays
// unknown while the test watches.
func TestProbesAfterRestart(t *testing.T) {
	var host *probeHost
	e := start(t, func(e *env, o *pod.Options) {
		host = newProbeHost(e.ecs)
		o.Host = host
	})
	p := e.create(e.newPod("web", func(p *corev1.Pod) {
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
			PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1}
	}))
	e.waitPod("web", time.Minute, "Ready", func(p *corev1.Pod) bool { return running(p) && containerReady(p) })
	// The prober adopts runs that started more than 10 s before it (the kubelet's grace).
	time.Sleep(11 * time.Second)

	h := e.watchPods()
	e.stop()
	host.setExecErr(errors.New("exec: connection reset by peer"))
	e.run()
	e.eventually(20*time.Second, "the errored probe's event", func() (bool, string) {
		return e.hasEvent("web", "Warning Unhealthy: Readiness probe errored and resulted in unknown state: ")
	})
	after := e.waitPod("web", 10*time.Second, "Ready", func(p *corev1.Pod) bool { return running(p) && containerReady(p) })
	h.mu.Lock()
	for _, st := range h.seen["web"] {
		for _, c := range st.Conditions {
			if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
				t.Errorf("Ready went %s after the restart: %s", c.Status, c.Message)
			}
		}
	}
	h.mu.Unlock()
	if n := e.tasksStarted(p); n != 1 || after.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("%d tasks, %s", n, describe(after))
	}
}

// TestLivenessKillWithoutSignal: where the Host cannot signal a container, a liveness failure
// stops the Pod's task instead (StopTask), with the kubelet's Killing Event, and the node runs
// the Pod again with restartCount 1.
func TestLivenessKillWithoutSignal(t *testing.T) {
	var host *probeHost
	e := start(t, func(e *env, o *pod.Options) {
		host = newProbeHost(e.ecs)
		host.noSignal = true
		o.Host = host
	})
	host.setDown("9090", true)
	p := e.create(e.newPod("web", func(p *corev1.Pod) {
		p.Spec.Containers[0].LivenessProbe = tcpProbe(9090, 1)
	}))
	e.eventually(30*time.Second, "the Killing event", func() (bool, string) {
		return e.hasEvent("web", "Normal Killing: Container app failed liveness probe, will be restarted")
	})
	host.setDown("9090", false)
	got := e.waitPod("web", time.Minute, "running again", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount == 1 && running(p)
	})
	if n := e.ecs.Served(ecsapi.OpStopTask); n != 1 {
		t.Errorf("StopTask served %d times, want 1", n)
	}
	if n := e.tasksStarted(p); n != 2 {
		t.Errorf("%d tasks started, want 2: %s", n, describe(got))
	}
	if s := host.sent(); len(s) != 0 {
		t.Errorf("signals %v sent through a Host that cannot", s)
	}
}

// TestReadyAfterQuickRestart: a controller restarted right after a container started (within
// the prober's 10 s grace, so its run is not adopted) probes it again and the Pod is Ready again
// once the readiness probe succeeds; no second task is started.
func TestReadyAfterQuickRestart(t *testing.T) {
	var host *probeHost
	e := start(t, func(e *env, o *pod.Options) {
		host = newProbeHost(e.ecs)
		o.Host = host
	})
	p := e.create(e.newPod("web", func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
		c.ReadinessProbe = tcpProbe(8080, 1)
	}))
	e.waitPod("web", time.Minute, "Ready", func(p *corev1.Pod) bool { return running(p) && containerReady(p) })
	for range 3 {
		e.stop()
		e.run()
		e.waitPod("web", 30*time.Second, "Ready after the restart", func(p *corev1.Pod) bool { return running(p) && containerReady(p) })
	}
	if n := e.tasksStarted(p); n != 1 {
		t.Errorf("%d tasks started, want 1", n)
	}
}
