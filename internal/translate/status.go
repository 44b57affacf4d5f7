package translate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
)

// Container state reasons, as the kubelet spells them.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonCompleted                  = "Completed"
	ReasonError                      = "Error"
	ReasonOOMKilled                  = "OOMKilled"
	// ReasonDeadlineExceeded is the Pod's reason when activeDeadlineSeconds stopped it.
	ReasonDeadlineExceeded = "DeadlineExceeded"
)

// ECS's error names at the start of a stoppedReason or a container's reason ("Stopped tasks error
// codes" in the ECS developer guide; the local data plane uses the same words).
const (
	ecsCannotPull   = "CannotPullContainerError"
	ecsResourceInit = "ResourceInitializationError"
	ecsOutOfMemory  = "OutOfMemoryError"
	ecsCannotStart  = "CannotStartContainerError"
	ecsCannotCreate = "CannotCreateContainerError"
)

// StatusInput is what PodStatus derives a Pod's status from.
type StatusInput struct {
	// Pod as it is: its spec, and its status for startTime, the readiness gates' conditions and
	// the conditions' transition times.
	Pod *corev1.Pod
	// Task is the Pod's latest task as DescribeTasks returned it; nil before there is one.
	Task *ecstypes.Task
	// Node is what the virtual node knows that ECS does not report.
	Node NodeState
	// Now is when this status is computed: the transition time of conditions that change.
	Now metav1.Time
	// HostIP is the virtual node's address; "" reports the Pod's own IP (the task is its host).
	HostIP string
}

// NodeState is what the virtual node keeps about a Pod beyond its task.
type NodeState struct {
	// Containers maps container names to what the node knows of them.
	Containers map[string]ContainerState
	// Restarting is set when Task stopped and the node will run the Pod again: restartPolicy
	// Always, OnFailure after a failure, or an image that could not be pulled (the kubelet retries
	// pulls whatever the policy). The Pod is then not finished.
	Restarting bool
	// DeadlineExceeded is set when the node stopped the task after activeDeadlineSeconds.
	DeadlineExceeded bool
}

// ContainerState is what the node knows of one container.
type ContainerState struct {
	// Ready is the readiness probe's last result; nil before the first one. A running container
	// without a readiness probe is ready.
	Ready *bool
	// Started is whether the startup probe succeeded; nil before it did or failed. A running
	// container without a startup probe has started.
	Started *bool
	// RestartCount counts restarts: ECS's in the task (a new runtimeId) and the node's re-runs.
	RestartCount int32
	// LastTermination is how the previous run ended (lastState).
	LastTermination *corev1.ContainerStateTerminated
	// Waiting is the state while the node waits to re-run the task (CrashLoopBackOff,
	// ImagePullBackOff, with the back-off in the message); it applies while the container is not
	// running.
	Waiting *corev1.ContainerStateWaiting
	// StartedAt and FinishedAt of the current run, when the node knows them better than the
	// task's own times (ECS reports per-task times only).
	StartedAt, FinishedAt *metav1.Time
	// TerminationMessage is what the node read at termination (file, or log tail on error).
	TerminationMessage string
}

// PodStatus derives the Pod's status from its task: phase, conditions (PodScheduled,
// PodReadyToStartContainers, Initialized, ContainersReady, Ready), init and regular container
// statuses with the kubelet's reasons, podIP(s), hostIP(s), startTime, qosClass, and a reason
// and message when the Pod failed as a whole.
func PodStatus(in StatusInput) corev1.PodStatus {
	s := &statusBuilder{in: in, pod: in.Pod, task: in.Task}
	return s.build()
}

type statusBuilder struct {
	in   StatusInput
	pod  *corev1.Pod
	task *ecstypes.Task
	// containers by name, from the task.
	ecs map[string]*ecstypes.Container
}

func (s *statusBuilder) build() corev1.PodStatus {
	s.ecs = map[string]*ecstypes.Container{}
	if s.task != nil {
		for i := range s.task.Containers {
			s.ecs[aws.ToString(s.task.Containers[i].Name)] = &s.task.Containers[i]
		}
	}
	st := corev1.PodStatus{QOSClass: qos.GetPodQOS(s.pod), StartTime: s.pod.Status.StartTime}
	if st.StartTime == nil && s.task != nil && s.task.CreatedAt != nil {
		st.StartTime = timePtr(*s.task.CreatedAt)
	}
	for i := range s.pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, s.containerStatus(&s.pod.Spec.InitContainers[i], true))
	}
	for i := range s.pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, s.containerStatus(&s.pod.Spec.Containers[i], false))
	}
	st.Phase = s.phase(&st)
	if st.Phase == corev1.PodFailed {
		st.Reason, st.Message = s.failure()
	}
	s.addresses(&st)
	st.Conditions = s.conditions(&st)
	return st
}

func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}

// stopped reports whether the task has stopped or is stopping.
func (s *statusBuilder) stopped() bool {
	if s.task == nil {
		return false
	}
	switch aws.ToString(s.task.LastStatus) {
	case "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED":
		return true
	}
	return false
}

// stoppedForGood reports whether the task's lastStatus is STOPPED.
func (s *statusBuilder) stoppedForGood() bool {
	return s.task != nil && aws.ToString(s.task.LastStatus) == "STOPPED"
}

// phase follows the kubelet's getPhase: Pending until a regular container runs (init containers
// and image pulls included), Running while one runs or the node will run the Pod again after one
// did, and once the task stopped for good Succeeded when every regular container exited 0,
// Failed otherwise. Stopped for good is lastStatus STOPPED without Node.Restarting: a task still
// stopping (DEACTIVATING, STOPPING, DEPROVISIONING) is not final, since the node decides whether
// the Pod runs again only once it is STOPPED (a Pod whose image could not be pulled must stay
// Pending meanwhile; a phase once Succeeded or Failed never changes again).
func (s *statusBuilder) phase(st *corev1.PodStatus) corev1.PodPhase {
	if s.in.Node.DeadlineExceeded {
		return corev1.PodFailed
	}
	ran := false
	for _, cs := range st.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.RestartCount > 0 || cs.LastTerminationState.Terminated != nil {
			ran = true
		}
	}
	if !s.stoppedForGood() || s.in.Node.Restarting {
		if ran {
			return corev1.PodRunning
		}
		return corev1.PodPending
	}
	for _, cs := range st.ContainerStatuses {
		if t := cs.State.Terminated; t == nil || t.ExitCode != 0 {
			return corev1.PodFailed
		}
	}
	return corev1.PodSucceeded
}

// ecsErrorName matches the CamelCase error name ECS puts at the start of a reason.
var ecsErrorName = regexp.MustCompile(`^([A-Z][A-Za-z]+(?:Error|Exception)):`)

// failure is the Pod's reason and message when it failed as a whole: DeadlineExceeded, else the
// ECS error name that starts the task's stoppedReason (CannotPullContainerError,
// ResourceInitializationError, OutOfMemoryError, ...), else its stopCode (TaskFailedToStart,
// EssentialContainerExited, UserInitiated, ...).
func (s *statusBuilder) failure() (string, string) {
	if s.in.Node.DeadlineExceeded {
		d := int64(0)
		if s.pod.Spec.ActiveDeadlineSeconds != nil {
			d = *s.pod.Spec.ActiveDeadlineSeconds
		}
		return ReasonDeadlineExceeded, fmt.Sprintf("Pod was active on the node longer than the specified deadline (%d s)", d)
	}
	if s.task == nil {
		return "", ""
	}
	msg := aws.ToString(s.task.StoppedReason)
	if m := ecsErrorName.FindStringSubmatch(msg); m != nil {
		return m[1], msg
	}
	if s.task.StopCode != "" {
		return string(s.task.StopCode), msg
	}
	return "TaskStopped", msg
}

// addresses sets podIP(s) from the task's network interface and hostIP(s).
func (s *statusBuilder) addresses(st *corev1.PodStatus) {
	ip := s.taskIP()
	if ip != "" {
		st.PodIP = ip
		st.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	host := s.in.HostIP
	if host == "" {
		host = ip
	}
	if host != "" {
		st.HostIP = host
		st.HostIPs = []corev1.HostIP{{IP: host}}
	}
}

// taskIP is the task's private IPv4 address: its ENI attachment's privateIPv4Address, else a
// container's network interface's.
func (s *statusBuilder) taskIP() string {
	if s.task == nil {
		return ""
	}
	for _, a := range s.task.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" && aws.ToString(d.Value) != "" {
				return aws.ToString(d.Value)
			}
		}
	}
	for _, c := range s.task.Containers {
		for _, ni := range c.NetworkInterfaces {
			if v := aws.ToString(ni.PrivateIpv4Address); v != "" {
				return v
			}
		}
	}
	return ""
}

// containerStatus is one container's status.
func (s *statusBuilder) containerStatus(c *corev1.Container, init bool) corev1.ContainerStatus {
	ec := s.ecs[c.Name]
	ns := s.in.Node.Containers[c.Name]
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, RestartCount: ns.RestartCount}
	if ns.LastTermination != nil {
		cs.LastTerminationState.Terminated = ns.LastTermination.DeepCopy()
	}
	if ec != nil {
		if d := aws.ToString(ec.ImageDigest); d != "" {
			cs.ImageID = imageID(c.Image, d)
		}
		if id := aws.ToString(ec.RuntimeId); id != "" {
			cs.ContainerID = "containerd://" + id
		}
	}
	cs.State = s.state(c, init, ec, &ns)
	sidecar := init && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	switch {
	case cs.State.Running != nil:
		started := c.StartupProbe == nil || isTrue(ns.Started)
		cs.Started = &started
		cs.Ready = started && (c.ReadinessProbe == nil || isTrue(ns.Ready))
	case init && !sidecar && cs.State.Terminated != nil:
		cs.Started = ptrBool(false)
		cs.Ready = cs.State.Terminated.ExitCode == 0
	default:
		cs.Started = ptrBool(false)
	}
	return cs
}

func ptrBool(b bool) *bool { return &b }

// imageID is the kubelet's imageID with containerd: the image's repository and its digest.
func imageID(image, digest string) string {
	if named, err := reference.ParseNormalizedNamed(image); err == nil {
		return named.Name() + "@" + digest
	}
	return digest
}

// state is a container's state: running, terminated with its exit code, or waiting with the
// kubelet's reason.
func (s *statusBuilder) state(c *corev1.Container, init bool, ec *ecstypes.Container, ns *ContainerState) corev1.ContainerState {
	last := ""
	if ec != nil {
		last = aws.ToString(ec.LastStatus)
	}
	if last != "RUNNING" && ns.Waiting != nil {
		return corev1.ContainerState{Waiting: ns.Waiting.DeepCopy()}
	}
	switch {
	case last == "RUNNING":
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: s.startedAt(ns)}}
	case last == "STOPPED" && ec.ExitCode != nil:
		return corev1.ContainerState{Terminated: s.terminated(ec, ns)}
	}
	return corev1.ContainerState{Waiting: s.waiting(init, ec)}
}

func (s *statusBuilder) startedAt(ns *ContainerState) metav1.Time {
	if ns.StartedAt != nil {
		return *ns.StartedAt
	}
	if s.task != nil && s.task.StartedAt != nil {
		return metav1.NewTime(*s.task.StartedAt)
	}
	return s.in.Now
}

// terminated is a container that exited: OOMKilled when ECS says it ran out of memory,
// Completed on exit 0, Error otherwise.
func (s *statusBuilder) terminated(ec *ecstypes.Container, ns *ContainerState) *corev1.ContainerStateTerminated {
	code := *ec.ExitCode
	reason := aws.ToString(ec.Reason)
	t := &corev1.ContainerStateTerminated{ExitCode: code, StartedAt: s.startedAt(ns), Message: ns.TerminationMessage}
	switch {
	case strings.HasPrefix(reason, ecsOutOfMemory):
		t.Reason = ReasonOOMKilled
	case code == 0:
		t.Reason = ReasonCompleted
	default:
		t.Reason = ReasonError
	}
	if t.Message == "" && reason != "" && t.Reason != ReasonCompleted {
		t.Message = reason
	}
	switch {
	case ns.FinishedAt != nil:
		t.FinishedAt = *ns.FinishedAt
	case s.task != nil && s.task.ExecutionStoppedAt != nil:
		t.FinishedAt = metav1.NewTime(*s.task.ExecutionStoppedAt)
	case s.task != nil && s.task.StoppedAt != nil:
		t.FinishedAt = metav1.NewTime(*s.task.StoppedAt)
	default:
		t.FinishedAt = s.in.Now
	}
	if id := aws.ToString(ec.RuntimeId); id != "" {
		t.ContainerID = "containerd://" + id
	}
	return t
}

// waiting is a container that does not run (yet): its image could not be pulled (ErrImagePull),
// its ConfigMaps or Secrets could not be resolved (CreateContainerConfigError), it could not be
// created, it waits for init containers (PodInitializing) or for its task (ContainerCreating).
func (s *statusBuilder) waiting(init bool, ec *ecstypes.Container) *corev1.ContainerStateWaiting {
	reason := ""
	if ec != nil {
		reason = aws.ToString(ec.Reason)
	}
	if reason == "" && s.stopped() && s.task.StopCode == ecstypes.TaskStopCodeTaskFailedToStart {
		reason = aws.ToString(s.task.StoppedReason)
	}
	switch {
	case strings.Contains(reason, ecsCannotPull):
		return &corev1.ContainerStateWaiting{Reason: ReasonErrImagePull, Message: reason}
	case strings.Contains(reason, ecsResourceInit):
		return &corev1.ContainerStateWaiting{Reason: ReasonCreateContainerConfigError, Message: reason}
	case strings.Contains(reason, ecsCannotStart), strings.Contains(reason, ecsCannotCreate):
		return &corev1.ContainerStateWaiting{Reason: ReasonCreateContainerError, Message: reason}
	}
	if !init && len(s.pod.Spec.InitContainers) > 0 && !s.initialized() {
		return &corev1.ContainerStateWaiting{Reason: ReasonPodInitializing}
	}
	return &corev1.ContainerStateWaiting{Reason: ReasonContainerCreating}
}

// initialized reports whether every init container completed (a sidecar: started), or a regular
// container has run.
func (s *statusBuilder) initialized() bool {
	for _, c := range s.pod.Spec.Containers {
		if ec := s.ecs[c.Name]; ec != nil && (aws.ToString(ec.LastStatus) == "RUNNING" || ec.ExitCode != nil) {
			return true
		}
	}
	return len(s.pendingInit()) == 0
}

// pendingInit names the init containers not yet done: not exited 0, or (sidecars) not running.
func (s *statusBuilder) pendingInit() []string {
	var out []string
	for _, c := range s.pod.Spec.InitContainers {
		ec := s.ecs[c.Name]
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		switch {
		case ec == nil:
			out = append(out, c.Name)
		case sidecar && aws.ToString(ec.LastStatus) != "RUNNING":
			out = append(out, c.Name)
		case !sidecar && (ec.ExitCode == nil || *ec.ExitCode != 0):
			out = append(out, c.Name)
		}
	}
	return out
}

// conditions are the kubelet's Pod conditions, in the kubelet's order (PodReadyToStartContainers
// is the task's network being up: true from its address until it stops); a condition keeps its
// transition time while its status does not change. Conditions others own (readiness gates',
// DisruptionTarget) are kept as they are.
func (s *statusBuilder) conditions(st *corev1.PodStatus) []corev1.PodCondition {
	conds := []corev1.PodCondition{
		s.condition(corev1.PodReadyToStartContainers, !s.stopped() && (st.PodIP != "" || s.running()), "", ""),
		s.initializedCondition(),
		s.readyCondition(corev1.PodReady, st, s.gatesNotReady()),
		s.readyCondition(corev1.ContainersReady, st, nil),
		s.condition(corev1.PodScheduled, true, "", ""),
	}
	for _, old := range s.pod.Status.Conditions {
		if !slices.ContainsFunc(conds, func(c corev1.PodCondition) bool { return c.Type == old.Type }) {
			conds = append(conds, old)
		}
	}
	return conds
}

func (s *statusBuilder) running() bool {
	return s.task != nil && aws.ToString(s.task.LastStatus) == "RUNNING"
}

func (s *statusBuilder) condition(typ corev1.PodConditionType, ok bool, reason, message string) corev1.PodCondition {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	c := corev1.PodCondition{Type: typ, Status: status, Reason: reason, Message: message, LastTransitionTime: s.in.Now}
	for _, old := range s.pod.Status.Conditions {
		if old.Type == typ && old.Status == status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	return c
}

func (s *statusBuilder) initializedCondition() corev1.PodCondition {
	if s.initialized() {
		return s.condition(corev1.PodInitialized, true, "", "")
	}
	return s.condition(corev1.PodInitialized, false, "ContainersNotInitialized",
		fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(s.pendingInit(), " ")))
}

// readyCondition is ContainersReady (gates nil) or Ready: every regular container and sidecar
// ready (and every readiness gate True); PodCompleted once the Pod succeeded or failed.
func (s *statusBuilder) readyCondition(typ corev1.PodConditionType, st *corev1.PodStatus, gates []string) corev1.PodCondition {
	if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		return s.condition(typ, false, "PodCompleted", "")
	}
	var unready []string
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	for i, cs := range st.InitContainerStatuses {
		if c := s.pod.Spec.InitContainers[i]; c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways && !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	switch {
	case len(unready) > 0:
		return s.condition(typ, false, "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " ")))
	case len(gates) > 0:
		return s.condition(typ, false, "ReadinessGatesNotReady", strings.Join(gates, "; "))
	}
	return s.condition(typ, true, "", "")
}

// gatesNotReady describes the readiness gates whose conditions are not True.
func (s *statusBuilder) gatesNotReady() []string {
	var out []string
	for _, g := range s.pod.Spec.ReadinessGates {
		i := slices.IndexFunc(s.pod.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == g.ConditionType })
		switch {
		case i < 0:
			out = append(out, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case s.pod.Status.Conditions[i].Status != corev1.ConditionTrue:
			out = append(out, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %s", g.ConditionType, s.pod.Status.Conditions[i].Status))
		}
	}
	return out
}
