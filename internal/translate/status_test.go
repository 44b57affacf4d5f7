package translate

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var (
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	created = t0.Add(time.Second)
	started = t0.Add(5 * time.Second)
	stopped = t0.Add(65 * time.Second)
	now     = metav1.NewTime(t0.Add(90 * time.Second))
	digest  = "sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1"
)

type ctr struct {
	name, status string
	exit         *int32
	reason       string
}

// task is a described task: status, stop code and reason, containers.
func task(status string, stopCode ecstypes.TaskStopCode, stoppedReason string, containers ...ctr) *ecstypes.Task {
	tk := &ecstypes.Task{LastStatus: aws.String(status), CreatedAt: &created, StopCode: stopCode}
	if stoppedReason != "" {
		tk.StoppedReason = aws.String(stoppedReason)
	}
	if status != "PROVISIONING" && status != "PENDING" {
		tk.StartedAt = &started
		tk.Attachments = []ecstypes.Attachment{{Type: aws.String("ElasticNetworkInterface"), Details: []ecstypes.KeyValuePair{
			{Name: aws.String("privateIPv4Address"), Value: aws.String("10.0.1.23")}}}}
	}
	if status == "STOPPED" {
		tk.StoppedAt, tk.ExecutionStoppedAt = &stopped, &stopped
	}
	for _, c := range containers {
		ec := ecstypes.Container{Name: aws.String(c.name), LastStatus: aws.String(c.status), ExitCode: c.exit}
		if c.reason != "" {
			ec.Reason = aws.String(c.reason)
		}
		if c.status != "PENDING" {
			ec.ImageDigest, ec.RuntimeId = aws.String(digest), aws.String("task1-"+c.name)
		}
		tk.Containers = append(tk.Containers, ec)
	}
	return tk
}

func code(c int32) *int32 { return &c }

// statusPod is a Job-like Pod: one container, a readiness probe, restartPolicy rp.
func statusPod(rp corev1.RestartPolicy) *corev1.Pod {
	p := rsPod("web-1", "uid-1")
	p.Spec.RestartPolicy = rp
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}
	return p
}

type wantStatus struct {
	phase      corev1.PodPhase
	reason     string
	state      string // "waiting:Reason", "running", "terminated:Reason:code"
	ready      bool
	conditions map[corev1.PodConditionType]string // type → "True" or "False/Reason"
	restarts   int32
	podIP      string
	initState  string
}

func stateString(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return "waiting:" + s.Waiting.Reason
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return "terminated:" + s.Terminated.Reason + ":" + itoa(s.Terminated.ExitCode)
	}
	return ""
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

func condString(c corev1.PodCondition) string {
	if c.Status == corev1.ConditionTrue {
		return "True"
	}
	return "False/" + c.Reason
}

func TestPodStatus(t *testing.T) {
	ready := map[string]ContainerState{"app": {Ready: ptr(true)}}
	notReady := map[corev1.PodConditionType]string{
		corev1.PodReadyToStartContainers: "True", corev1.PodInitialized: "True",
		corev1.PodReady: "False/ContainersNotReady", corev1.ContainersReady: "False/ContainersNotReady", corev1.PodScheduled: "True",
	}
	stoppedNotReady := map[corev1.PodConditionType]string{
		corev1.PodReadyToStartContainers: "False/", corev1.PodInitialized: "True",
		corev1.PodReady: "False/ContainersNotReady", corev1.ContainersReady: "False/ContainersNotReady", corev1.PodScheduled: "True",
	}
	completed := map[corev1.PodConditionType]string{
		corev1.PodReadyToStartContainers: "False/", corev1.PodInitialized: "True",
		corev1.PodReady: "False/PodCompleted", corev1.ContainersReady: "False/PodCompleted", corev1.PodScheduled: "True",
	}
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		task *ecstypes.Task
		node NodeState
		want wantStatus
	}{
		"no task yet": {pod: statusPod(corev1.RestartPolicyAlways), want: wantStatus{
			phase: corev1.PodPending, state: "waiting:ContainerCreating",
			conditions: map[corev1.PodConditionType]string{
				corev1.PodReadyToStartContainers: "False/", corev1.PodInitialized: "True",
				corev1.PodReady: "False/ContainersNotReady", corev1.ContainersReady: "False/ContainersNotReady", corev1.PodScheduled: "True",
			}}},
		"provisioning": {pod: statusPod(corev1.RestartPolicyAlways), task: task("PROVISIONING", "", "", ctr{"app", "PENDING", nil, ""}),
			want: wantStatus{phase: corev1.PodPending, state: "waiting:ContainerCreating", conditions: map[corev1.PodConditionType]string{
				corev1.PodReadyToStartContainers: "False/", corev1.PodInitialized: "True",
				corev1.PodReady: "False/ContainersNotReady", corev1.ContainersReady: "False/ContainersNotReady", corev1.PodScheduled: "True",
			}}},
		"running, readiness not yet": {pod: statusPod(corev1.RestartPolicyAlways), task: task("RUNNING", "", "", ctr{"app", "RUNNING", nil, ""}),
			want: wantStatus{phase: corev1.PodRunning, state: "running", podIP: "10.0.1.23", conditions: notReady}},
		"running and ready": {pod: statusPod(corev1.RestartPolicyAlways), task: task("RUNNING", "", "", ctr{"app", "RUNNING", nil, ""}),
			node: NodeState{Containers: ready},
			want: wantStatus{phase: corev1.PodRunning, state: "running", ready: true, podIP: "10.0.1.23", conditions: map[corev1.PodConditionType]string{
				corev1.PodReadyToStartContainers: "True", corev1.PodInitialized: "True",
				corev1.PodReady: "True", corev1.ContainersReady: "True", corev1.PodScheduled: "True",
			}}},
		"image cannot be pulled": {pod: statusPod(corev1.RestartPolicyNever),
			task: task("STOPPED", ecstypes.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found",
				ctr{"app", "STOPPED", nil, "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"}),
			node: NodeState{Restarting: true},
			want: wantStatus{phase: corev1.PodPending, state: "waiting:ErrImagePull", podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"image pull back-off": {pod: statusPod(corev1.RestartPolicyNever),
			task: task("STOPPED", ecstypes.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: not found", ctr{"app", "STOPPED", nil, "CannotPullContainerError: not found"}),
			node: NodeState{Restarting: true, Containers: map[string]ContainerState{"app": {Waiting: &corev1.ContainerStateWaiting{Reason: ReasonImagePullBackOff, Message: "Back-off pulling image"}}}},
			want: wantStatus{phase: corev1.PodPending, state: "waiting:ImagePullBackOff", podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"secret cannot be resolved": {pod: statusPod(corev1.RestartPolicyAlways),
			task: task("STOPPED", ecstypes.TaskStopCodeTaskFailedToStart, "ResourceInitializationError: unable to pull secrets or registry auth", ctr{"app", "STOPPED", nil, ""}),
			node: NodeState{Restarting: true},
			want: wantStatus{phase: corev1.PodPending, state: "waiting:CreateContainerConfigError", podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"image cannot be pulled, task still deprovisioning": {pod: statusPod(corev1.RestartPolicyAlways),
			task: task("DEPROVISIONING", ecstypes.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: not found",
				ctr{"app", "STOPPED", nil, "CannotPullContainerError: not found"}),
			want: wantStatus{phase: corev1.PodPending, state: "waiting:ErrImagePull", podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"image cannot be pulled, never, task still stopping": {pod: statusPod(corev1.RestartPolicyNever),
			task: task("STOPPING", ecstypes.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: not found",
				ctr{"app", "STOPPED", nil, "CannotPullContainerError: not found"}),
			want: wantStatus{phase: corev1.PodPending, state: "waiting:ErrImagePull", podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"secret cannot be resolved, task still deprovisioning": {pod: statusPod(corev1.RestartPolicyOnFailure),
			task: task("DEPROVISIONING", ecstypes.TaskStopCodeTaskFailedToStart, "ResourceInitializationError: unable to pull secrets", ctr{"app", "STOPPED", nil, ""}),
			want: wantStatus{phase: corev1.PodPending, state: "waiting:CreateContainerConfigError", podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"crashed, task still deprovisioning": {pod: statusPod(corev1.RestartPolicyAlways),
			task: task("DEPROVISIONING", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", ctr{"app", "STOPPED", code(2), ""}),
			want: wantStatus{phase: corev1.PodRunning, state: "terminated:Error:2", podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"job failed, task still stopping": {pod: statusPod(corev1.RestartPolicyNever),
			task: task("STOPPING", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", ctr{"app", "STOPPED", code(1), ""}),
			want: wantStatus{phase: corev1.PodRunning, state: "terminated:Error:1", podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"job completed": {pod: statusPod(corev1.RestartPolicyNever),
			task: task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", ctr{"app", "STOPPED", code(0), ""}),
			want: wantStatus{phase: corev1.PodSucceeded, state: "terminated:Completed:0", podIP: "10.0.1.23", conditions: completed}},
		"job failed": {pod: statusPod(corev1.RestartPolicyNever),
			task: task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", ctr{"app", "STOPPED", code(1), ""}),
			want: wantStatus{phase: corev1.PodFailed, reason: "EssentialContainerExited", state: "terminated:Error:1", podIP: "10.0.1.23", conditions: completed}},
		"out of memory": {pod: statusPod(corev1.RestartPolicyNever),
			task: task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "OutOfMemoryError: Container killed due to memory usage",
				ctr{"app", "STOPPED", code(137), "OutOfMemoryError: Container killed due to memory usage"}),
			want: wantStatus{phase: corev1.PodFailed, reason: "OutOfMemoryError", state: "terminated:OOMKilled:137", podIP: "10.0.1.23", conditions: completed}},
		"crash loop": {pod: statusPod(corev1.RestartPolicyAlways),
			task: task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", ctr{"app", "STOPPED", code(2), ""}),
			node: NodeState{Restarting: true, Containers: map[string]ContainerState{"app": {
				RestartCount: 3, Waiting: &corev1.ContainerStateWaiting{Reason: ReasonCrashLoopBackOff, Message: "back-off 40s restarting failed container=app"},
				LastTermination: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: ReasonError}}}},
			want: wantStatus{phase: corev1.PodRunning, state: "waiting:CrashLoopBackOff", restarts: 3, podIP: "10.0.1.23", conditions: stoppedNotReady}},
		"stopped on deletion": {pod: statusPod(corev1.RestartPolicyAlways),
			task: task("STOPPED", ecstypes.TaskStopCodeUserInitiated, "Pod deleted", ctr{"app", "STOPPED", code(143), ""}),
			want: wantStatus{phase: corev1.PodFailed, reason: "UserInitiated", state: "terminated:Error:143", podIP: "10.0.1.23", conditions: completed}},
		"deadline exceeded": {pod: statusPod(corev1.RestartPolicyNever),
			task: task("STOPPED", ecstypes.TaskStopCodeUserInitiated, "deadline", ctr{"app", "STOPPED", code(143), ""}),
			node: NodeState{DeadlineExceeded: true},
			want: wantStatus{phase: corev1.PodFailed, reason: ReasonDeadlineExceeded, state: "terminated:Error:143", podIP: "10.0.1.23", conditions: completed}},
		"init container running": {pod: withInit(statusPod(corev1.RestartPolicyAlways)),
			task: task("RUNNING", "", "", ctr{"migrate", "RUNNING", nil, ""}, ctr{"proxy", "PENDING", nil, ""}, ctr{"app", "PENDING", nil, ""}),
			want: wantStatus{phase: corev1.PodPending, state: "waiting:PodInitializing", initState: "running", podIP: "10.0.1.23",
				conditions: map[corev1.PodConditionType]string{
					corev1.PodReadyToStartContainers: "True", corev1.PodInitialized: "False/ContainersNotInitialized",
					corev1.PodReady: "False/ContainersNotReady", corev1.ContainersReady: "False/ContainersNotReady", corev1.PodScheduled: "True",
				}}},
		"initialized, sidecar ready": {pod: withInit(statusPod(corev1.RestartPolicyAlways)),
			task: task("RUNNING", "", "", ctr{"migrate", "STOPPED", code(0), ""}, ctr{"proxy", "RUNNING", nil, ""}, ctr{"app", "RUNNING", nil, ""}),
			node: NodeState{Containers: ready},
			want: wantStatus{phase: corev1.PodRunning, state: "running", ready: true, initState: "terminated:Completed:0", podIP: "10.0.1.23",
				conditions: map[corev1.PodConditionType]string{
					corev1.PodReadyToStartContainers: "True", corev1.PodInitialized: "True",
					corev1.PodReady: "True", corev1.ContainersReady: "True", corev1.PodScheduled: "True",
				}}},
	} {
		t.Run(name, func(t *testing.T) {
			st := PodStatus(StatusInput{Pod: tc.pod, Task: tc.task, Node: tc.node, Now: now})
			got := wantStatus{phase: st.Phase, reason: st.Reason, state: stateString(st.ContainerStatuses[0].State),
				ready: st.ContainerStatuses[0].Ready, restarts: st.ContainerStatuses[0].RestartCount, podIP: st.PodIP,
				conditions: map[corev1.PodConditionType]string{}}
			if len(st.InitContainerStatuses) > 0 {
				got.initState = stateString(st.InitContainerStatuses[0].State)
			}
			for _, c := range st.Conditions {
				got.conditions[c.Type] = condString(c)
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(wantStatus{})); d != "" {
				t.Errorf("status (-want +got):\n%s", d)
			}
			if st.QOSClass != corev1.PodQOSBurstable {
				t.Errorf("qosClass %s", st.QOSClass)
			}
		})
	}
}

func withInit(p *corev1.Pod) *corev1.Pod {
	p.Spec.InitContainers = []corev1.Container{
		{Name: "migrate", Image: "migrate:1"},
		{Name: "proxy", Image: "envoy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)},
	}
	return p
}

// TestPodStatusDetails checks the members the table above does not: times, IDs, messages,
// addresses, kept conditions.
func TestPodStatusDetails(t *testing.T) {
	pod := statusPod(corev1.RestartPolicyNever)
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "target-health.example.com/web"}}
	earlier := metav1.NewTime(t0)
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: earlier},
		{Type: "target-health.example.com/web", Status: corev1.ConditionFalse, LastTransitionTime: earlier},
	}
	tk := task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
		ctr{"app", "STOPPED", code(3), "exited"})
	st := PodStatus(StatusInput{Pod: pod, Task: tk, Now: now, HostIP: "192.168.1.10",
		Node: NodeState{Containers: map[string]ContainerState{"app": {TerminationMessage: "database unreachable"}}}})
	want := corev1.ContainerStatus{
		Name: "app", Image: "nodeless.local/hello:v1", ImageID: "nodeless.local/hello@" + digest, ContainerID: "containerd://task1-app",
		Started: ptr(false),
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 3, Reason: ReasonError, Message: "database unreachable",
			StartedAt: metav1.NewTime(started), FinishedAt: metav1.NewTime(stopped), ContainerID: "containerd://task1-app",
		}},
	}
	if d := cmp.Diff(want, st.ContainerStatuses[0]); d != "" {
		t.Errorf("container status (-want +got):\n%s", d)
	}
	if st.StartTime == nil || !st.StartTime.Time.Equal(created) || st.HostIP != "192.168.1.10" || st.PodIP != "10.0.1.23" ||
		len(st.PodIPs) != 1 || len(st.HostIPs) != 1 || st.Message != "Essential container in task exited" {
		t.Errorf("pod-level members: startTime %v, hostIP %s, podIP %s, message %q", st.StartTime, st.HostIP, st.PodIP, st.Message)
	}
	var types []corev1.PodConditionType
	for _, c := range st.Conditions {
		types = append(types, c.Type)
		if c.Type == corev1.PodScheduled && !c.LastTransitionTime.Equal(&earlier) {
			t.Errorf("PodScheduled did not change, yet its transition time did: %v", c.LastTransitionTime)
		}
		if c.Type == corev1.PodReady && !c.LastTransitionTime.Equal(&now) {
			t.Errorf("Ready is new: its transition time is now, got %v", c.LastTransitionTime)
		}
	}
	wantTypes := []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady,
		corev1.PodScheduled, "target-health.example.com/web"}
	if d := cmp.Diff(wantTypes, types); d != "" {
		t.Errorf("condition types (-want +got):\n%s", d)
	}
}

func TestReadinessGates(t *testing.T) {
	pod := statusPod(corev1.RestartPolicyAlways)
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	tk := task("RUNNING", "", "", ctr{"app", "RUNNING", nil, ""})
	node := NodeState{Containers: map[string]ContainerState{"app": {Ready: ptr(true)}}}
	ready := func() corev1.PodCondition {
		for _, c := range PodStatus(StatusInput{Pod: pod, Task: tk, Node: node, Now: now}).Conditions {
			if c.Type == corev1.PodReady {
				return c
			}
		}
		return corev1.PodCondition{}
	}
	if c := ready(); c.Status != corev1.ConditionFalse || c.Reason != "ReadinessGatesNotReady" {
		t.Errorf("a missing gate condition: %+v", c)
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}}
	if c := ready(); c.Status != corev1.ConditionTrue {
		t.Errorf("a True gate: %+v", c)
	}
}
