package pod

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestDrained checks the wait before a deleted Pod's StopTask: until every Drained callback says
// the Pod gets no new traffic, bounded by DrainTimeout from the deletion's start and by the grace
// period.
func TestDrained(t *testing.T) {
	began := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	yes := func(*corev1.Pod) bool { return true }
	no := func(*corev1.Pod) bool { return false }
	tests := []struct {
		name    string
		drained []func(*corev1.Pod) bool
		grace   int64
		after   time.Duration
		want    bool
	}{
		{name: "no callback", grace: 30, want: true},
		{name: "all drained", drained: []func(*corev1.Pod) bool{yes, yes}, grace: 30, want: true},
		{name: "one still serves", drained: []func(*corev1.Pod) bool{yes, no}, grace: 30, after: time.Second, want: false},
		{name: "timeout over", drained: []func(*corev1.Pod) bool{no}, grace: 30, after: 5 * time.Second, want: true},
		{name: "grace period shorter than the timeout", drained: []func(*corev1.Pod) bool{no}, grace: 2, after: 2 * time.Second, want: true},
		{name: "within a short grace period", drained: []func(*corev1.Pod) bool{no}, grace: 2, after: time.Second, want: false},
		{name: "grace period 0", drained: []func(*corev1.Pod) bool{no}, grace: 0, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reconciler{
				opts: Options{Drained: tt.drained, DrainTimeout: 5 * time.Second},
				now:  func() time.Time { return began.Add(tt.after) },
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
				DeletionTimestamp:          &metav1.Time{Time: began.Add(time.Duration(tt.grace) * time.Second)},
				DeletionGracePeriodSeconds: ptr.To(tt.grace),
			}}
			if got := r.drained(pod); got != tt.want {
				t.Errorf("drained = %v, want %v", got, tt.want)
			}
		})
	}
}
