package virtualnode

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

func TestWithTaint(t *testing.T) {
	ours := translate.NodeTaint()
	other := corev1.Taint{Key: "example.com/x", Effect: corev1.TaintEffectNoSchedule}
	stale := corev1.Taint{Key: ours.Key, Value: "other", Effect: ours.Effect}
	tests := []struct {
		name        string
		in          []corev1.Taint
		want        bool
		wantTaints  []corev1.Taint
		wantChanged bool
	}{
		{"added", nil, true, []corev1.Taint{ours}, true},
		{"kept first", []corev1.Taint{ours, other}, true, []corev1.Taint{ours, other}, false},
		{"removed", []corev1.Taint{other, ours}, false, []corev1.Taint{other}, true},
		{"absent stays absent", []corev1.Taint{other}, false, []corev1.Taint{other}, false},
		{"other value replaced", []corev1.Taint{stale}, true, []corev1.Taint{ours}, true},
		{"other value removed", []corev1.Taint{stale}, false, []corev1.Taint{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := withTaint(tt.in, tt.want)
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.wantTaints, got); diff != "" {
				t.Errorf("taints (-want +got):\n%s", diff)
			}
		})
	}
}
