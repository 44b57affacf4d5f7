package virtualnode

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

func TestDesiredTaints(t *testing.T) {
	ours := translate.NodeTaint()
	notReady := notReadyTaint()
	other := corev1.Taint{Key: "example.com/x", Effect: corev1.TaintEffectNoSchedule}
	stale := corev1.Taint{Key: ours.Key, Value: "other", Effect: ours.Effect}
	tests := []struct {
		name        string
		in          []corev1.Taint
		set         map[corev1.Taint]bool
		want        []corev1.Taint
		wantChanged bool
	}{
		{"added", nil, map[corev1.Taint]bool{ours: true}, []corev1.Taint{ours}, true},
		{"kept in place", []corev1.Taint{ours, other}, map[corev1.Taint]bool{ours: true}, []corev1.Taint{ours, other}, false},
		{"removed", []corev1.Taint{other, ours}, map[corev1.Taint]bool{ours: false}, []corev1.Taint{other}, true},
		{"absent stays absent", []corev1.Taint{other}, map[corev1.Taint]bool{ours: false}, []corev1.Taint{other}, false},
		{"other value replaced", []corev1.Taint{stale}, map[corev1.Taint]bool{ours: true}, []corev1.Taint{ours}, true},
		{"other value removed", []corev1.Taint{stale}, map[corev1.Taint]bool{ours: false}, []corev1.Taint{}, true},
		{"not-ready removed, ours added", []corev1.Taint{notReady}, map[corev1.Taint]bool{ours: true, notReady: false}, []corev1.Taint{ours}, true},
		{"both added in key order", nil, map[corev1.Taint]bool{ours: true, notReady: true}, []corev1.Taint{notReady, ours}, true},
		{"not-ready left alone when not managed", []corev1.Taint{notReady}, map[corev1.Taint]bool{ours: false}, []corev1.Taint{notReady}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := desiredTaints(tt.in, tt.set)
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("taints (-want +got):\n%s", diff)
			}
		})
	}
}
