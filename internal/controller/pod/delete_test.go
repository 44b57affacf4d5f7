package pod

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// drainedFunc is a Withdrawer whose Drained is the func.
type drainedFunc func(*corev1.Pod) bool

func (drainedFunc) Withdraw(types.UID, string)     {}
func (f drainedFunc) Drained(pod *corev1.Pod) bool { return f(pod) }

// TestDrained checks the wait before a deleted Pod's StopTask: until every Withdrawer says
// the Pod gets no new traffic, bounded by DrainTimeout from the deletion's start and by the grace
// period.
func TestDrained(t *testing.T) {
	began := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	yes := drainedFunc(func(*corev1.Pod) bool { return true })
	no := drainedFunc(func(*corev1.Pod) bool { return false })
	tests := []struct {
		name    string
		drained []Withdrawer
		grace   int64
		after   time.Duration
		want    bool
	}{
		{name: "no Withdrawer", grace: 30, want: true},
		{name: "all drained", drained: []Withdrawer{yes, yes}, grace: 30, want: true},
		{name: "one still serves", drained: []Withdrawer{yes, no}, grace: 30, after: time.Second, want: false},
		{name: "timeout over", drained: []Withdrawer{no}, grace: 30, after: 5 * time.Second, want: true},
		{name: "grace period shorter than the timeout", drained: []Withdrawer{no}, grace: 2, after: 2 * time.Second, want: true},
		{name: "within a short grace period", drained: []Withdrawer{no}, grace: 2, after: time.Second, want: false},
		{name: "grace period 0", drained: []Withdrawer{no}, grace: 0, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reconciler{
				opts: Options{Withdrawers: tt.drained, DrainTimeout: 5 * time.Second},
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
