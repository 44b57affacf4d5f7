package integration

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// replicaSet creates a ReplicaSet of the Deployment "web" with the pod-template-hash hash (no
// ReplicaSet controller runs here: the test makes its Pods) and returns it.
func (e *env) replicaSet(hash, img string) *appsv1.ReplicaSet {
	e.t.Helper()
	labels := map[string]string{"app": "web", "pod-template-hash": hash}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Namespace: e.ns, Labels: labels},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}}}},
	}
	if err := e.c.Create(e.ctx, rs); err != nil {
		e.t.Fatal(err)
	}
	return rs
}

// ownedPod is a Pod of rs as its controller would make it, with POD_NAME from the downward API.
func (e *env) ownedPod(rs *appsv1.ReplicaSet, name string) *corev1.Pod {
	return e.newPod(name, func(p *corev1.Pod) {
		p.Labels = rs.Spec.Template.Labels
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID,
			Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}
		p.Spec.Containers[0].Image = rs.Spec.Template.Spec.Containers[0].Image
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
	})
}

// TestReplicaSetSharesRevision: the Pods of one ReplicaSet run on one task definition revision,
// registered once; what differs between them (here the Pod's name) is in each task's overrides.
func TestReplicaSetSharesRevision(t *testing.T) {
	e := start(t, nil)
	rs := e.replicaSet("5d8f7c9b4", image)
	e.create(e.ownedPod(rs, "web-5d8f7c9b4-a"))
	e.create(e.ownedPod(rs, "web-5d8f7c9b4-b"))
	a := e.waitPod("web-5d8f7c9b4-a", time.Minute, "Running", running)
	b := e.waitPod("web-5d8f7c9b4-b", time.Minute, "Running", running)
	ta, tb := e.task(taskOf(a)), e.task(taskOf(b))
	if aws.ToString(ta.TaskDefinitionArn) != aws.ToString(tb.TaskDefinitionArn) {
		t.Errorf("revisions %s and %s, want one", aws.ToString(ta.TaskDefinitionArn), aws.ToString(tb.TaskDefinitionArn))
	}
	if n := e.ecs.Served(ecsapi.OpRegisterTaskDefinition); n != 1 {
		t.Errorf("RegisterTaskDefinition served %d times, want 1", n)
	}
	if f := e.taskDefinition(aws.ToString(ta.TaskDefinitionArn)).Family; !strings.HasSuffix(aws.ToString(f), "_deploy_web") {
		t.Errorf("family %q, want the Deployment's", aws.ToString(f))
	}
	for _, tc := range []struct {
		task ecstypes.Task
		name string
	}{{ta, a.Name}, {tb, b.Name}} {
		if got := override(tc.task, "app", "POD_NAME"); got != tc.name {
			t.Errorf("task of %s: POD_NAME override %q", tc.name, got)
		}
	}
	td := e.taskDefinition(aws.ToString(ta.TaskDefinitionArn))
	for _, cd := range td.ContainerDefinitions {
		for _, kv := range cd.Environment {
			if aws.ToString(kv.Name) == "POD_NAME" {
				t.Errorf("the shared revision holds a per-pod value: %s=%s", aws.ToString(kv.Name), aws.ToString(kv.Value))
			}
		}
	}
}

// TestRunTaskNeverTwice: a RunTask whose answer is lost after it took effect is retried with the
// same clientToken (the Pod's UID) and returns the same task; a restarted controller re-attaches
// from the Pod's status and never calls RunTask again.
func TestRunTaskNeverTwice(t *testing.T) {
	e := start(t, nil)
	lost := ecsmem.Throttle(ecsapi.OpRunTask, 1)
	lost.Land = true
	e.ecs.Inject(lost)
	p := e.create(e.newPod("web"))
	got := e.waitPod("web", time.Minute, "Running", running)
	if n := e.ecs.Served(ecsapi.OpRunTask); n != 2 {
		t.Errorf("RunTask served %d times, want 2 (the landed one and its retry)", n)
	}
	if n := e.tasksStarted(p); n != 1 {
		t.Fatalf("%d tasks started, want 1", n)
	}

	e.stop()
	runs := e.ecs.Requests(ecsapi.OpRunTask)
	describes := e.ecs.Requests(ecsapi.OpDescribeTasks)
	e.run()
	e.eventually(30*time.Second, "the restarted controller describes the task", func() (bool, string) {
		return e.ecs.Requests(ecsapi.OpDescribeTasks) > describes, ""
	})
	time.Sleep(2 * time.Second) // a few poll intervals: time for a wrong RunTask to happen
	if n := e.ecs.Requests(ecsapi.OpRunTask) - runs; n != 0 {
		t.Errorf("%d RunTask requests after the restart, want 0", n)
	}
	if n := e.tasksStarted(p); n != 1 {
		t.Errorf("%d tasks started after the restart, want 1", n)
	}
	after := e.waitPod("web", 10*time.Second, "Running", running)
	if taskOf(after) != taskOf(got) || after.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("after the restart: %s, task %s; before: task %s", describe(after), taskOf(after), taskOf(got))
	}
	for _, ev := range e.events("web") {
		if strings.HasPrefix(ev, "Warning") {
			t.Errorf("unexpected warning: %s", ev)
		}
	}
}

// TestDeletion: deleting a Pod stops its task with StopTask (stopTimeout is the Pod's
// terminationGracePeriodSeconds), records Killing, and the Pod goes once the task stopped.
func TestDeletion(t *testing.T) {
	e := start(t, nil)
	e.create(e.newPod("web", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(15)) }))
	got := e.waitPod("web", time.Minute, "Running", running)
	arn := taskOf(got)
	td := e.taskDefinition(aws.ToString(e.task(arn).TaskDefinitionArn))
	for _, cd := range td.ContainerDefinitions {
		if aws.ToString(cd.Name) == "app" && aws.ToInt32(cd.StopTimeout) != 15 {
			t.Errorf("stopTimeout %v, want 15 (terminationGracePeriodSeconds)", cd.StopTimeout)
		}
	}
	if err := e.c.Delete(e.ctx, got); err != nil {
		t.Fatal(err)
	}
	e.gone("web", time.Minute)
	task := e.task(arn)
	if aws.ToString(task.LastStatus) != "STOPPED" || task.StopCode != ecstypes.TaskStopCodeUserInitiated ||
		!strings.Contains(aws.ToString(task.StoppedReason), "deleted in Kubernetes") {
		t.Errorf("task %s: %s, stopCode %s, reason %q", arn, aws.ToString(task.LastStatus), task.StopCode, aws.ToString(task.StoppedReason))
	}
	if n := e.ecs.Served(ecsapi.OpStopTask); n != 1 {
		t.Errorf("StopTask served %d times, want 1", n)
	}
	e.eventually(eventTimeout, "the Killing event", func() (bool, string) {
		return e.hasEvent("web", "Normal Killing: Stopping container app")
	})
}

// TestRunTaskFaults: RunTask's failures and throttling show in the Pod's status (the containers
// waiting with the reason) and as a FailedRunTask Event with ECS's words; the Pod runs once ECS
// accepts the task.
func TestRunTaskFaults(t *testing.T) {
	e := start(t, nil)
	full := ecsmem.RunTaskFailures(1, "RESOURCE:MEMORY", "no capacity for 512 MiB")
	full.Match = func(r *ecsmem.Request) bool { return strings.Contains(string(r.Body), `"full"`) } // the pod-name tag
	e.ecs.Inject(full)
	throttled := ecsmem.Throttle(ecsapi.OpRunTask, 3) // the SDK's three attempts
	throttled.Match = func(r *ecsmem.Request) bool { return strings.Contains(string(r.Body), `"busy"`) }
	e.ecs.Inject(throttled)

	e.create(e.newPod("full"))
	e.create(e.newPod("busy"))
	for _, tc := range []struct{ pod, reason, event string }{
		{"full", pod.ReasonRunTaskFailed, "Warning FailedRunTask: ECS did not start the task: RESOURCE:MEMORY no capacity for 512 MiB"},
		{"busy", "Throttled", "Warning FailedRunTask: "},
	} {
		got := e.waitPod(tc.pod, time.Minute, "waiting "+tc.reason, func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
				p.Status.ContainerStatuses[0].State.Waiting.Reason == tc.reason
		})
		if got.Status.Phase != corev1.PodPending {
			t.Errorf("%s: %s", tc.pod, describe(got))
		}
		e.eventually(eventTimeout, tc.pod+": "+tc.event, func() (bool, string) { return e.hasEvent(tc.pod, tc.event) })
	}
	e.waitPod("full", time.Minute, "Running once ECS has room", running)
	e.waitPod("busy", time.Minute, "Running once ECS is not throttling", running)
}

// TestTaskStartFaults: a task that never starts keeps the Pod Pending (ContainerCreating) with
// one RunTask only; one that fails to pull its image shows ErrImagePull with the kubelet's
// Failed Event, then ImagePullBackOff, and is run again.
func TestTaskStartFaults(t *testing.T) {
	e := start(t, nil)
	// While hold is set, a task's stop waits in STOPPING (before the runtime stops it) until the
	// controller has described tasks a few more times, as the real runtime takes a while to stop a
	// task and tear down its network: a status the controller writes meanwhile must not be final.
	var hold atomic.Bool
	e.ecs.Runtime.BeforeStop = func(string) {
		if hold.Load() {
			e.holdWhileDescribed(3, 10*time.Second)
		}
	}
	never := e.ecs.InjectStart(ecsmem.NeverStart(podFamily("stuck"), 1))
	p := e.create(e.newPod("stuck"))
	e.waitPod("stuck", time.Minute, "a task recorded", func(p *corev1.Pod) bool { return taskOf(p) != "" })
	time.Sleep(2 * time.Second)
	got := e.get("stuck")
	if got.Status.Phase != corev1.PodPending || len(got.Status.ContainerStatuses) != 1 || got.Status.ContainerStatuses[0].State.Waiting == nil ||
		got.Status.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
		t.Errorf("a task that never starts: %s", describe(got))
	}
	if n := e.tasksStarted(p); n != 1 {
		t.Errorf("%d tasks for a task that never starts, want 1", n)
	}
	e.eventually(eventTimeout, "the Pulling event", func() (bool, string) {
		return e.hasEvent("stuck", `Normal Pulling: Pulling image "`+image+`"`)
	})
	never.Remove()

	const reason = "CannotPullContainerError: pull access denied for nodeless.local/app, repository does not exist"
	e.ecs.InjectStart(ecsmem.FailToStart(podFamily("pull"), 2, reason))
	h := e.watchPods()
	e.create(e.newPod("pull", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever }))
	e.waitPod("pull", 2*time.Minute, "Running after the pull failures", running)
	want := []string{"ContainerCreating", "ErrImagePull", "ImagePullBackOff"}
	if got := h.waitingReasons("pull", "app"); !containsInOrder(got, want) {
		t.Errorf("waiting reasons %v, want %v in order", got, want)
	}
	e.eventually(eventTimeout, "the Failed event", func() (bool, string) {
		return e.hasEvent("pull", `Warning Failed: Failed to pull image "`+image+`": `)
	})
	e.eventually(eventTimeout, "the BackOff event", func() (bool, string) {
		return e.hasEvent("pull", `Normal BackOff: Back-off pulling image "`+image+`"`)
	})
	h.notStartedUntilRunning(t, "pull", "app")

	// A ReplicaSet's Pod (restartPolicy Always) whose image cannot be pulled three times: Pending
	// with ErrImagePull and ImagePullBackOff, restartCount 0, never Failed (a Failed Pod would
	// make its ReplicaSet create another), then Running once the pull succeeds.
	hold.Store(true)
	defer hold.Store(false)
	rs := e.replicaSet("7c6d5b4a3", image)
	e.ecs.InjectStart(ecsmem.FailToStart(func(s runtime.TaskSpec) bool { return strings.HasSuffix(s.Definition.Family, "_deploy_web") }, 3, reason))
	e.create(e.ownedPod(rs, "web-7c6d5b4a3-a"))
	e.waitPod("web-7c6d5b4a3-a", 2*time.Minute, "Running (or finished) after the pull failures", func(p *corev1.Pod) bool {
		return running(p) || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
	})
	if got := h.waitingReasons("web-7c6d5b4a3-a", "app"); !containsInOrder(got, want[1:]) {
		t.Errorf("ReplicaSet's Pod: waiting reasons %v, want %v in order", got, want[1:])
	}
	h.notStartedUntilRunning(t, "web-7c6d5b4a3-a", "app")
}

// holdWhileDescribed returns once the controllers have called DescribeTasks n more times, or
// after limit (it only widens a window; what is asserted is the Pod's status meanwhile).
func (e *env) holdWhileDescribed(n int, limit time.Duration) {
	until := e.api.Count(ecsapi.OpDescribeTasks) + n
	deadline := time.Now().Add(limit)
	for e.api.Count(ecsapi.OpDescribeTasks) < until && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// notStartedUntilRunning checks every status of pod seen so far: phase Pending until it is
// Running (never Succeeded or Failed), Running only once container runs, and container's restartCount 0 throughout, as a
// container whose image could not be pulled never started (it is not restarted by the next
// pull).
func (h *history) notStartedUntilRunning(t *testing.T, pod, container string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	phase := corev1.PodPending
	for i, st := range h.seen[pod] {
		if st.Phase == "" {
			continue // before the node's first status write
		}
		if st.Phase != phase && (phase != corev1.PodPending || st.Phase != corev1.PodRunning) {
			t.Errorf("%s: status %d of %d has phase %s after %s (reason %q), want Pending until Running",
				pod, i+1, len(h.seen[pod]), st.Phase, phase, st.Reason)
		}
		phase = st.Phase
		for _, cs := range st.ContainerStatuses {
			if cs.Name == container && st.Phase == corev1.PodRunning && cs.State.Running == nil {
				t.Errorf("%s: status %d of %d: phase Running while the container does not run (%s)", pod, i+1, len(h.seen[pod]), stateOf(cs.State))
			}
			if cs.Name == container && cs.RestartCount != 0 {
				t.Errorf("%s: status %d of %d (phase %s): restartCount %d, want 0 (the container never ran before)",
					pod, i+1, len(h.seen[pod]), st.Phase, cs.RestartCount)
			}
		}
	}
	if phase != corev1.PodRunning {
		t.Errorf("%s: last phase seen %s, want Running", pod, phase)
	}
}

// podFamily matches the tasks of the bare Pod name (family NAMESPACE_pod_NAME).
func podFamily(name string) func(runtime.TaskSpec) bool {
	return func(s runtime.TaskSpec) bool { return strings.HasSuffix(s.Definition.Family, "_pod_"+name) }
}

// containsInOrder reports whether want appears in got in order (not necessarily adjacent).
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestRevisionsCollected: a revision no Pod runs any more is deregistered beyond the newest
// KeepRevisions; the one in use stays.
func TestRevisionsCollected(t *testing.T) {
	e := start(t, func(_ *env, o *pod.Options) {
		o.SweepInterval = time.Second
		o.KeepRevisions = 1
	})
	old := e.replicaSet("aaaaaaaaa", image)
	cur := e.replicaSet("bbbbbbbbb", "nodeless.local/app:2")
	e.create(e.ownedPod(old, "web-aaaaaaaaa-x"))
	oldPod := e.waitPod("web-aaaaaaaaa-x", time.Minute, "Running", running)
	e.create(e.ownedPod(cur, "web-bbbbbbbbb-y"))
	curPod := e.waitPod("web-bbbbbbbbb-y", time.Minute, "Running", running)
	oldRev := aws.ToString(e.task(taskOf(oldPod)).TaskDefinitionArn)
	curRev := aws.ToString(e.task(taskOf(curPod)).TaskDefinitionArn)
	if oldRev == curRev {
		t.Fatalf("two templates share revision %s", oldRev)
	}
	time.Sleep(2 * time.Second) // sweeps run while both are in use
	if s := e.taskDefinition(oldRev).Status; s != ecstypes.TaskDefinitionStatusActive {
		t.Fatalf("revision %s in use is %s", oldRev, s)
	}
	if err := e.c.Delete(e.ctx, oldPod, client.GracePeriodSeconds(1)); err != nil {
		t.Fatal(err)
	}
	e.gone(oldPod.Name, time.Minute)
	e.eventually(30*time.Second, "the unused revision deregistered", func() (bool, string) {
		s := e.taskDefinition(oldRev).Status
		return s == ecstypes.TaskDefinitionStatusInactive, string(s)
	})
	if s := e.taskDefinition(curRev).Status; s != ecstypes.TaskDefinitionStatusActive {
		t.Errorf("revision %s in use is %s", curRev, s)
	}
}

// stateOf names a container state for messages: "waiting ImagePullBackOff", "terminated 1", "running".
func stateOf(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return "waiting " + s.Waiting.Reason
	case s.Terminated != nil:
		return "terminated " + strconv.Itoa(int(s.Terminated.ExitCode))
	case s.Running != nil:
		return "running"
	}
	return "no state"
}
