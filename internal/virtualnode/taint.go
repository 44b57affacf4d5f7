package virtualnode

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// notReadyTaint is the taint Kubernetes gives a Node whose Ready condition is not True
// (node.kubernetes.io/not-ready:NoSchedule): the API server's TaintNodesByCondition admission adds
// it to every new Node, and kube-controller-manager's node lifecycle controller keeps it in step
// with Ready afterwards.
func notReadyTaint() corev1.Taint {
	return corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
}

// desiredTaints returns taints with each of set present (want) or absent, and whether that
// differs from taints. Other taints keep their order; a taint of the same key and effect with
// another value is replaced.
func desiredTaints(taints []corev1.Taint, set map[corev1.Taint]bool) ([]corev1.Taint, bool) {
	out := make([]corev1.Taint, 0, len(taints)+len(set))
	has := map[corev1.Taint]bool{}
	changed := false
	for _, t := range taints {
		if managed, ok := managedBy(t, set); ok {
			if set[managed] && t.Value == managed.Value && !has[managed] {
				has[managed] = true
				out = append(out, t)
			} else {
				changed = true
			}
			continue
		}
		out = append(out, t)
	}
	for _, t := range sortedTaints(set) {
		if set[t] && !has[t] {
			out = append(out, t)
			changed = true
		}
	}
	if !changed {
		return taints, false
	}
	return out, true
}

// managedBy is the taint of set with t's key and effect.
func managedBy(t corev1.Taint, set map[corev1.Taint]bool) (corev1.Taint, bool) {
	for m := range set {
		if m.Key == t.Key && m.Effect == t.Effect {
			return m, true
		}
	}
	return corev1.Taint{}, false
}

// sortedTaints are set's keys by key, for a stable order.
func sortedTaints(set map[corev1.Taint]bool) []corev1.Taint {
	out := slices.Collect(maps.Keys(set))
	slices.SortFunc(out, func(a, b corev1.Taint) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// taintsFor is what the node keeps of its taints: translate.NodeTaint as Options.Taint says, and
// with Options.NotReadyTaint the not-ready taint while h says the data plane is unreachable.
func taintsFor(o Options, h health) map[corev1.Taint]bool {
	set := map[corev1.Taint]bool{translate.NodeTaint(): o.Taint}
	if o.NotReadyTaint {
		set[notReadyTaint()] = h.err != nil
	}
	return set
}
