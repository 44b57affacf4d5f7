package pod

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Event reasons, as the kubelet spells them (k8s.io/kubernetes/pkg/kubelet/events), and the
// node's own.
const (
	EventPulling          = "Pulling"
	EventPulled           = "Pulled"
	EventCreated          = "Created"
	EventStarted          = "Started"
	EventKilling          = "Killing"
	EventFailed           = "Failed"
	EventBackOff          = "BackOff"
	EventDeadlineExceeded = "DeadlineExceeded"
	// EventFailedRunTask: ECS did not start the Pod's task (its failures or error in the message).
	EventFailedRunTask = "FailedRunTask"
	// EventOrphanStopped: a task whose Pod no longer exists was stopped (recorded in the log only:
	// the Pod is gone).
	EventOrphanStopped = "OrphanTaskStopped"
)

// podEvent is one Kubernetes Event on a Pod; Key de-duplicates it: a key is recorded once per Pod.
type podEvent struct {
	Type, Reason, Message string
	Key                   string
}

// statusEvents are the Events the kubelet records as a Pod's status moves from old to new
// during run: a container started (Pulled, Created, Started, once per container ID), an image
// that could not be pulled (Failed) and the back-offs that follow (BackOff, Failed), a crash
// loop (BackOff). Comparing with the status the Pod had, rather than with memory, keeps a
// restarted controller from recording again what it recorded before.
func statusEvents(pod *corev1.Pod, run int, old, cur *corev1.PodStatus) []podEvent {
	var out []podEvent
	for _, pair := range []struct{ old, cur []corev1.ContainerStatus }{
		{old.InitContainerStatuses, cur.InitContainerStatuses}, {old.ContainerStatuses, cur.ContainerStatuses},
	} {
		was := map[string]corev1.ContainerStatus{}
		for _, cs := range pair.old {
			was[cs.Name] = cs
		}
		for _, cs := range pair.cur {
			out = append(out, containerEvents(pod, run, was[cs.Name], cs)...)
		}
	}
	return out
}

func containerEvents(pod *corev1.Pod, run int, old, cur corev1.ContainerStatus) []podEvent {
	suffix := "/" + cur.Name + "/" + strconv.Itoa(run)
	if id := containerID(cur); id != "" && id != containerID(old) {
		return []podEvent{
			{corev1.EventTypeNormal, EventPulled, fmt.Sprintf("Successfully pulled image %q", cur.Image), "pulled/" + id},
			{corev1.EventTypeNormal, EventCreated, "Created container: " + cur.Name, "created/" + id},
			{corev1.EventTypeNormal, EventStarted, "Started container " + cur.Name, "started/" + id},
		}
	}
	w := cur.State.Waiting
	if w == nil || (old.State.Waiting != nil && old.State.Waiting.Reason == w.Reason) {
		return nil
	}
	switch w.Reason {
	case translate.ReasonErrImagePull:
		return []podEvent{
			{corev1.EventTypeWarning, EventFailed, fmt.Sprintf("Failed to pull image %q: %s", cur.Image, w.Message), "pullfailed" + suffix},
			{corev1.EventTypeWarning, EventFailed, "Error: " + translate.ReasonErrImagePull, "errimagepull" + suffix},
		}
	case translate.ReasonImagePullBackOff:
		return []podEvent{
			{corev1.EventTypeNormal, EventBackOff, fmt.Sprintf("Back-off pulling image %q", cur.Image), "pullbackoff" + suffix},
			{corev1.EventTypeWarning, EventFailed, "Error: " + translate.ReasonImagePullBackOff, "imagepullbackoff" + suffix},
		}
	case translate.ReasonCrashLoopBackOff:
		return []podEvent{{corev1.EventTypeWarning, EventBackOff,
			fmt.Sprintf("Back-off restarting failed container %s in pod %s", cur.Name, podRef(pod)), "crashloop" + suffix}}
	case translate.ReasonCreateContainerError:
		return []podEvent{{corev1.EventTypeWarning, EventFailed, "Error: " + w.Message, "createerror" + suffix}}
	}
	return nil
}

// containerID is the ID of the container's current run ("" before it started).
func containerID(cs corev1.ContainerStatus) string {
	switch {
	case cs.State.Running != nil:
		return cs.ContainerID
	case cs.State.Terminated != nil:
		if cs.State.Terminated.ContainerID != "" {
			return cs.State.Terminated.ContainerID
		}
		return cs.ContainerID
	}
	return ""
}

// pullingEvents are recorded when run starts: the kubelet's Pulling per container.
func pullingEvents(pod *corev1.Pod, run int) []podEvent {
	var out []podEvent
	for _, c := range podContainers(pod) {
		out = append(out, podEvent{corev1.EventTypeNormal, EventPulling, fmt.Sprintf("Pulling image %q", c.Image),
			"pulling/" + c.Name + "/" + strconv.Itoa(run)})
	}
	return out
}

// killingEvents are recorded when the node stops the Pod's task: the kubelet's Killing per
// running container.
func killingEvents(st *corev1.PodStatus, why string) []podEvent {
	var out []podEvent
	for _, list := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses} {
		for _, cs := range list {
			if cs.State.Running == nil {
				continue
			}
			out = append(out, podEvent{corev1.EventTypeNormal, EventKilling, "Stopping container " + cs.Name + why,
				"killing/" + cs.ContainerID})
		}
	}
	return out
}

// podRef is the kubelet's name of a Pod in messages: name_namespace(uid).
func podRef(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
