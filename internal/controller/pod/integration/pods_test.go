package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	corev1 "k8s.io/api/core/v1"
)

// TestRunning: a Pod bound to the node runs as one task and becomes Running and Ready with the
// task's address; its status records the task; the kubelet's Events are recorded once.
func TestRunning(t *testing.T) {
	e := start(t, nil)
	p := e.create(e.newPod("web"))
	got := e.waitPod("web", time.Minute, "Running and Ready", running)
	arn := taskOf(got)
	if arn == "" {
		t.Fatalf("no task recorded: %s", describe(got))
	}
	cs := got.Status.ContainerStatuses[0]
	if cs.ContainerID != "containerd://"+taskID(arn)+"-app" || cs.State.Running == nil || !cs.Ready || cs.RestartCount != 0 {
		t.Errorf("container status %+v", cs)
	}
	if got.Status.StartTime == nil || got.Status.HostIP != got.Status.PodIP {
		t.Errorf("startTime %v, hostIP %q, podIP %q", got.Status.StartTime, got.Status.HostIP, got.Status.PodIP)
	}
	for _, want := range []string{`Normal Pulling: Pulling image "` + image + `"`, "Normal Created: Created container: app", "Normal Started: Started container app"} {
		e.eventually(10*time.Second, "event "+want, func() (bool, string) { return e.hasEvent("web", want) })
	}
	if n := e.ecs.Served(ecsapi.OpRunTask); n != 1 {
		t.Errorf("RunTask served %d times, want 1", n)
	}
	if n := e.tasksStarted(p); n != 1 {
		t.Errorf("%d tasks started for the pod, want 1", n)
	}
	for _, ev := range e.events("web") {
		if strings.HasPrefix(ev, "Warning") {
			t.Errorf("unexpected warning: %s", ev)
		}
	}
	_ = corev1.PodRunning
}
