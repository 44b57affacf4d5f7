package virtualnode

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Condition reasons. The kubelet's own where a kubelet would report the same thing
// (k8s.io/kubernetes/pkg/kubelet/nodestatus), nodeless's where only a virtual node has it.
const (
	ReasonKubeletReady         = "KubeletReady"
	ReasonDataPlaneUnreachable = "DataPlaneUnreachable"
	ReasonSufficientMemory     = "KubeletHasSufficientMemory"
	ReasonNoDiskPressure       = "KubeletHasNoDiskPressure"
	ReasonSufficientPID        = "KubeletHasSufficientPID"
)

// OSImage is nodeInfo.osImage: tasks run Linux containers on ECS (Fargate, or the local data
// plane's containerd and runc); there is no host operating system to name.
const OSImage = "nodeless (ECS tasks)"

// health is the data plane's state as the node reports it.
type health struct {
	// err is nil while the data plane answers.
	err error
}

// newNode returns the Node as nodeless registers it: metadata, spec (taint) and status, with
// conditions for h at now.
func newNode(o Options, h health, now metav1.Time) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   o.NodeName,
			Labels: translate.NodeLabels(o.NodeName, o.Arch),
		},
	}
	if o.Taint {
		n.Spec.Taints = []corev1.Taint{translate.NodeTaint()}
	}
	n.Status = nodeStatus(o, h, now)
	return n
}

// nodeStatus is the node's status: capacity = allocatable, nodeInfo, addresses, the kubelet
// endpoint and the conditions.
func nodeStatus(o Options, h health, now metav1.Time) corev1.NodeStatus {
	return corev1.NodeStatus{
		Capacity:    o.Capacity.DeepCopy(),
		Allocatable: o.Capacity.DeepCopy(),
		Phase:       corev1.NodeRunning,
		Conditions:  conditions(h, now),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: o.Address},
			{Type: corev1.NodeHostName, Address: o.NodeName},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{
			KubeletEndpoint: corev1.DaemonEndpoint{Port: o.Port},
		},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion:          o.KubeletVersion,
			OperatingSystem:         "linux",
			Architecture:            o.Arch,
			OSImage:                 OSImage,
			KernelVersion:           "",
			ContainerRuntimeVersion: "ecs://" + o.EndpointKind,
		},
	}
}

// conditions are the kubelet's node conditions: Ready, and the pressure conditions False (a task
// has its own resources; the node has none to run short of).
func conditions(h health, now metav1.Time) []corev1.NodeCondition {
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		Reason: ReasonKubeletReady, Message: "kubelet is posting ready status",
	}
	if h.err != nil {
		ready.Status, ready.Reason = corev1.ConditionFalse, ReasonDataPlaneUnreachable
		ready.Message = "the data plane does not answer: " + h.err.Error()
	}
	out := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: ReasonSufficientMemory,
			Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: ReasonNoDiskPressure,
			Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: ReasonSufficientPID,
			Message: "kubelet has sufficient PID available"},
		ready,
	}
	for i := range out {
		out[i].LastHeartbeatTime, out[i].LastTransitionTime = now, now
	}
	return out
}

// carryTransitions keeps each condition's lastTransitionTime from prev while its status is
// unchanged, as the kubelet does.
func carryTransitions(next, prev []corev1.NodeCondition) {
	for i := range next {
		for _, p := range prev {
			if p.Type == next[i].Type && p.Status == next[i].Status && !p.LastTransitionTime.IsZero() {
				next[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
}
