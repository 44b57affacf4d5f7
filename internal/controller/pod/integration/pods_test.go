package integration

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/translate"
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
	if ip := taskIPOf(e.task(arn)); ip == "" || got.Status.PodIP != ip {
		t.Errorf("podIP %q, the task's address %q", got.Status.PodIP, ip)
	}
	for _, typ := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if c := conditionOf(got, typ); c == nil || c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s: %+v", typ, c)
		}
	}
	if got.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("qosClass %q", got.Status.QOSClass)
	}
	// The virtual node finds the Pod's task through the Controller the manager registered.
	ht, err := e.pods.Task(e.ctx, e.ns, "web", false)
	if err != nil || ht.TaskArn != arn || ht.IP != got.Status.PodIP || ht.ID != taskID(arn) {
		t.Errorf("Controller.Task: %+v, %v; want %s at %s", ht, err, arn, got.Status.PodIP)
	}
	if _, err := e.pods.Task(e.ctx, e.ns, "web", true); !pod.IsNoTask(err) {
		t.Errorf("Controller.Task(previous) of a first run: %v, want a NoTaskError", err)
	}
	for _, want := range []string{`Normal Pulling: Pulling image "` + image + `"`, "Normal Created: Created container: app", "Normal Started: Started container app"} {
		e.eventually(eventTimeout, "event "+want, func() (bool, string) { return e.hasEvent("web", want) })
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

	// At rest the controller writes nothing: no status update over several poll intervals.
	h := e.watchPods()
	time.Sleep(3 * e.opts.StablePollInterval)
	if n := h.modifications(); n != 0 {
		t.Errorf("%d Pod updates at rest, want 0", n)
	}
}

// TestRejected: a Pod asking for what nodeless cannot honour fails as the kubelet fails a Pod it
// cannot admit, with every problem named in its message and a Warning Event per problem, and no
// task.
func TestRejected(t *testing.T) {
	e := start(t, nil)
	e.create(e.newPod("host", func(p *corev1.Pod) {
		p.Spec.HostNetwork = true
		// privileged would be refused by the API server itself (it does not allow privileged).
		p.Spec.Volumes = []corev1.Volume{{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}}}
	}))
	got := e.waitPod("host", 30*time.Second, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if got.Status.Reason != "VolumeTypeNotSupported" || !strings.HasPrefix(got.Status.Message, "Pod was rejected: ") ||
		!strings.Contains(got.Status.Message, "spec.hostNetwork") || !strings.Contains(got.Status.Message, "spec.volumes[0].hostPath") {
		t.Errorf("reason %q, message %q; want VolumeTypeNotSupported (the first problem) naming both fields", got.Status.Reason, got.Status.Message)
	}
	for _, want := range []string{"Warning HostNamespaceNotSupported: spec.hostNetwork: ", "Warning VolumeTypeNotSupported: spec.volumes[0].hostPath: "} {
		e.eventually(eventTimeout, "event "+want, func() (bool, string) { return e.hasEvent("host", want) })
	}
	if n := e.ecs.Requests(ecsapi.OpRunTask) + e.ecs.Requests(ecsapi.OpRegisterTaskDefinition); n != 0 {
		t.Errorf("%d RunTask/RegisterTaskDefinition requests for a rejected pod", n)
	}
}

// TestDataPlaneRefusalNamesThePodField: the local data plane refuses systemControls; the Pod whose
// sysctls they are made from waits naming spec.securityContext.sysctls and what to do, not the
// ECS member it does not have.
func TestDataPlaneRefusalNamesThePodField(t *testing.T) {
	e := start(t, nil)
	e.create(e.newPod("tuned", func(p *corev1.Pod) {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}}
	}))
	got := e.waitPod("tuned", 30*time.Second, "waiting FieldNotSupported", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == translate.ReasonFieldNotSupported
	})
	msg := got.Status.ContainerStatuses[0].State.Waiting.Message
	if !strings.HasPrefix(msg, "spec.securityContext.sysctls: ") || !strings.Contains(msg, "remove spec.securityContext.sysctls") {
		t.Errorf("waiting message %q, want it to name spec.securityContext.sysctls and say to remove it", msg)
	}
	want := "Warning FailedRunTask: spec.securityContext.sysctls: "
	e.eventually(eventTimeout, "event "+want, func() (bool, string) { return e.hasEvent("tuned", want) })
	if n := e.ecs.Requests(ecsapi.OpRunTask); n != 0 {
		t.Errorf("%d RunTask requests for a task definition ECS refused", n)
	}
}

// TestMissingSecret: a Pod whose variable reads a Secret that does not exist stays Pending with
// the kubelet's CreateContainerConfigError and Event, and runs once the Secret is created.
func TestMissingSecret(t *testing.T) {
	e := start(t, nil)
	e.create(e.newPod("db", func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}}
	}))
	got := e.waitPod("db", 30*time.Second, "CreateContainerConfigError", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "CreateContainerConfigError"
	})
	if got.Status.Phase != corev1.PodPending || got.Status.ContainerStatuses[0].State.Waiting.Message != `secret "db" not found` {
		t.Errorf("pending pod: %s / %q", describe(got), got.Status.ContainerStatuses[0].State.Waiting.Message)
	}
	e.eventually(eventTimeout, "the Failed event", func() (bool, string) {
		return e.hasEvent("db", `Warning Failed: Error: secret "db" not found`)
	})
	if n := e.ecs.Requests(ecsapi.OpRunTask); n != 0 {
		t.Errorf("%d RunTask requests while the secret is missing", n)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: e.ns}, Data: map[string][]byte{"password": []byte("s3cret")}}
	if err := e.c.Create(e.ctx, secret); err != nil {
		t.Fatal(err)
	}
	e.waitPod("db", 30*time.Second, "Running once the secret exists", running)
}

func ptr[T any](v T) *T { return &v }
