package pod

import (
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
)

// ECS's error names that decide a stopped task's fate ("Stopped tasks error codes" in the ECS
// developer guide; the local data plane uses the same words).
const (
	ecsCannotPull   = "CannotPullContainerError"
	ecsResourceInit = "ResourceInitializationError"
	ecsCannotStart  = "CannotStartContainerError"
)

// ReasonStartError is a container's lastState reason when its process could not be started (a
// command that does not exist, ...), as the kubelet on containerd reports it, with exit code
// startErrorExitCode (the kubelet's for a container whose task could not be created).
const (
	ReasonStartError   = "StartError"
	startErrorExitCode = 128
)

// stopped is what the node makes of a Pod's stopped task (ADR 0005, "Restarts").
type stopped struct {
	// restart: the node runs the Pod again (after its back-off).
	restart bool
	// crashed are the containers that ended the run: they wait in CrashLoopBackOff meanwhile.
	crashed []string
	// pulls are the containers whose image could not be pulled: they wait in ImagePullBackOff.
	pulls []string
	// config: the task could not get its secrets or volumes (ResourceInitializationError): the
	// containers keep waiting with CreateContainerConfigError, retried whatever the policy.
	config bool
}

// decide says what follows a stopped task of pod, as the kubelet decides after its containers
// exit: restartPolicy Always restarts whatever the exit codes; OnFailure when a regular
// container did not exit 0 (or never ran); Never does not. An image that could not be pulled, or
// secrets that could not be had, are retried whatever the policy, as the kubelet retries image
// pulls and CreateContainerConfigError.
func decide(pod *corev1.Pod, task *ecstypes.Task) stopped {
	var s stopped
	byName := map[string]*ecstypes.Container{}
	for i := range task.Containers {
		byName[aws.ToString(task.Containers[i].Name)] = &task.Containers[i]
	}
	failedToStart := task.StopCode == ecstypes.TaskStopCodeTaskFailedToStart
	taskReason := aws.ToString(task.StoppedReason)
	for _, c := range podContainers(pod) {
		ec := byName[c.Name]
		reason := ""
		if ec != nil {
			reason = aws.ToString(ec.Reason)
		}
		if reason == "" && failedToStart && (ec == nil || ec.ExitCode == nil) {
			reason = taskReason
		}
		switch {
		case strings.Contains(reason, ecsCannotPull):
			s.pulls = append(s.pulls, c.Name)
		case strings.Contains(reason, ecsResourceInit):
			s.config = true
		}
	}
	if len(s.pulls) > 0 || s.config {
		s.restart = true
		return s
	}
	s.crashed = crashed(pod, byName)
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
	case corev1.RestartPolicyOnFailure:
		s.restart = !allSucceeded(pod, byName)
	default:
		s.restart = true
	}
	return s
}

// crashed names the containers that ended the run: those that exited non-zero, and, under
// restartPolicy Always, regular containers that exited 0 too. When none did (the task was stopped
// from outside) every regular container counts.
func crashed(pod *corev1.Pod, byName map[string]*ecstypes.Container) []string {
	var out []string
	regular := map[string]bool{}
	for _, c := range pod.Spec.Containers {
		regular[c.Name] = true
	}
	for _, c := range podContainers(pod) {
		ec := byName[c.Name]
		if ec == nil || ec.ExitCode == nil {
			continue
		}
		if *ec.ExitCode != 0 || (regular[c.Name] && pod.Spec.RestartPolicy == corev1.RestartPolicyAlways) {
			out = append(out, c.Name)
		}
	}
	if len(out) == 0 {
		for _, c := range pod.Spec.Containers {
			out = append(out, c.Name)
		}
	}
	return out
}

// allSucceeded reports whether every regular container exited 0.
func allSucceeded(pod *corev1.Pod, byName map[string]*ecstypes.Container) bool {
	for _, c := range pod.Spec.Containers {
		ec := byName[c.Name]
		if ec == nil || ec.ExitCode == nil || *ec.ExitCode != 0 {
			return false
		}
	}
	return true
}

// podContainers lists the Pod's init containers and containers, in task order.
func podContainers(pod *corev1.Pod) []*corev1.Container {
	out := make([]*corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}

// startFailed is why the container name of task could not be started (ECS's
// CannotStartContainerError: it was created, its process was not), "" when that is not why it
// stopped. ECS may give the reason only as the task's stoppedReason.
func startFailed(task *ecstypes.Task, name string) string {
	i := slices.IndexFunc(task.Containers, func(c ecstypes.Container) bool { return aws.ToString(c.Name) == name })
	if i < 0 || task.Containers[i].ExitCode != nil {
		return ""
	}
	reason := aws.ToString(task.Containers[i].Reason)
	if reason == "" && task.StopCode == ecstypes.TaskStopCodeTaskFailedToStart {
		reason = aws.ToString(task.StoppedReason)
	}
	if !strings.Contains(reason, ecsCannotStart) {
		return ""
	}
	if j := strings.Index(reason, ecsCannotStart); j > 0 {
		reason = reason[j:] // "Essential container app could not start: CannotStart..." → the runtime's words
	}
	return reason
}

// ran reports whether a container of task started: it runs, or it exited (it has an exit code).
// A runtimeId alone is no proof: the local data plane names a container before it pulls its
// image, so a container whose image could not be pulled (a task stopped with TaskFailedToStart)
// has one and never ran. Only a container that ran is restarted by the next run: restartCount
// counts container restarts, as the kubelet counts them, not attempts to pull an image.
func ran(task *ecstypes.Task, name string) bool {
	i := slices.IndexFunc(task.Containers, func(c ecstypes.Container) bool { return aws.ToString(c.Name) == name })
	if i < 0 {
		return false
	}
	c := task.Containers[i]
	return c.ExitCode != nil || aws.ToString(c.LastStatus) == statusRunning
}
