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
	return unsupported()
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
	e.eventually(10*time.Second, "the Unhealthy event of the liveness probe", func() (bool, string) {
		return e.hasEvent("web", "Warning Unhealthy: Liveness probe failed: ")
	})
	for _, ev := range e.events("web") {
		if strings.HasPrefix(ev, "Warning FailedRunTask") {
			t.Errorf("unexpected event %s", ev)
		}
	}
}
