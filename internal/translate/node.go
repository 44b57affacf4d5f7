package translate

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// DefaultNodeName is the name of the virtual node whose Pods run as ECS tasks.
const DefaultNodeName = "nodeless"

// Labels of the virtual node beyond the well-known kubernetes.io ones.
const (
	// LabelType is virtual-kubelet's convention for virtual nodes: type=virtual-kubelet.
	LabelType = "type"
	// LabelTypeValue is the value of LabelType.
	LabelTypeValue = "virtual-kubelet"
	// InstanceType is the node.kubernetes.io/instance-type of the virtual node: every Pod gets a
	// Fargate-sized task of its own, not a share of an instance.
	InstanceType = "fargate"
	// TaintKey is the key of the taint the virtual node carries on an existing cluster (`nodeless
	// controller`), virtual-kubelet's convention: Pods opt in with a toleration for it.
	TaintKey = "virtual-kubelet.io/provider"
	// TaintValue is the value of TaintKey.
	TaintValue = "nodeless"
)

// NodeLabels returns the labels of the virtual node named name whose tasks run on arch (the
// Kubernetes spelling, "amd64" or "arm64"): kubernetes.io/os=linux, kubernetes.io/arch,
// kubernetes.io/hostname=name, node.kubernetes.io/instance-type=fargate, type=virtual-kubelet.
// Translate checks nodeSelector and required node affinity against exactly these.
func NodeLabels(name, arch string) map[string]string {
	return map[string]string{
		corev1.LabelOSStable:           "linux",
		corev1.LabelArchStable:         arch,
		corev1.LabelHostname:           name,
		corev1.LabelInstanceTypeStable: InstanceType,
		LabelType:                      LabelTypeValue,
	}
}

// NodeTaint is the taint of the virtual node on an existing cluster: NoSchedule for every Pod that
// does not tolerate virtual-kubelet.io/provider=nodeless.
func NodeTaint() corev1.Taint {
	return corev1.Taint{Key: TaintKey, Value: TaintValue, Effect: corev1.TaintEffectNoSchedule}
}

// checkPlacement refuses Pods the virtual node must not run: not bound to it, owned by a
// DaemonSet, or with a nodeSelector or required node affinity its labels do not meet. Preferred
// affinity, pod (anti-)affinity, tolerations and topology spread are the scheduler's business.
func checkPlacement(pod *corev1.Pod, opts *Options, ps *problems) {
	if pod.Spec.NodeName != opts.NodeName {
		ps.refuse("spec.nodeName", ReasonNotOnNode,
			"the Pod is bound to %q, not to the virtual node %q; only Pods bound to it run as ECS tasks", pod.Spec.NodeName, opts.NodeName)
	}
	for i, ref := range pod.OwnerReferences {
		if ref.Kind == "DaemonSet" && isAppsGroup(ref.APIVersion) {
			ps.refuse(fmt.Sprintf("metadata.ownerReferences[%d]", i), ReasonDaemonSet,
				"DaemonSet %s runs a Pod per node, and nodeless has no nodes; run it as a Deployment, or keep it off the virtual node with a node affinity", ref.Name)
		}
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: opts.NodeName, Labels: NodeLabels(opts.NodeName, opts.Arch)}}
	if sel := pod.Spec.NodeSelector; len(sel) > 0 && !labels.SelectorFromSet(sel).Matches(labels.Set(node.Labels)) {
		ps.refuse("spec.nodeSelector", ReasonNodeAffinity,
			"%v does not match the virtual node's labels %v; remove it or select those labels", sel, node.Labels)
	}
	na := pod.Spec.Affinity
	if na == nil || na.NodeAffinity == nil || na.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return
	}
	const path = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
	ok, err := nodeaffinity.NewLazyErrorNodeSelector(na.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution).Match(node)
	switch {
	case err != nil:
		ps.refuse(path, ReasonNodeAffinity, "cannot be evaluated: %v", err)
	case !ok:
		ps.refuse(path, ReasonNodeAffinity,
			"no term matches the virtual node's labels %v or its name %q; change the terms, or keep the Pod off the virtual node", node.Labels, node.Name)
	}
}

func isAppsGroup(apiVersion string) bool {
	return apiVersion == "apps/v1" || apiVersion == "apps/v1beta2" || apiVersion == "extensions/v1beta1"
}
