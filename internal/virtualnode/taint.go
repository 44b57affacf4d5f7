package virtualnode

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// withTaint returns taints with translate.NodeTaint present (want) or absent, and whether that
// differs from taints. Other taints are kept in their order; a taint of ours with another value
// is replaced.
func withTaint(taints []corev1.Taint, want bool) ([]corev1.Taint, bool) {
	ours := translate.NodeTaint()
	has := false
	out := make([]corev1.Taint, 0, len(taints)+1)
	for _, t := range taints {
		if t.Key == ours.Key && t.Effect == ours.Effect {
			has = has || t.Value == ours.Value
			continue
		}
		out = append(out, t)
	}
	if want {
		out = append(out, ours)
	}
	if want == has && len(out) == len(taints) {
		return taints, false
	}
	return out, true
}
