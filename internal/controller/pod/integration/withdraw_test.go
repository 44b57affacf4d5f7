package integration

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// withdrawal is one Withdraw call, with how many StopTask calls ECS had served by then.
type withdrawal struct {
	UID            types.UID
	IP             string
	StopTaskServed int
}

// withdrawals records Withdraw calls (a Withdrawer, as the VPC's DNS server is one). Drained
// says false the first notDrained times it is asked, and records whether StopTask came before.
type withdrawals struct {
	e              *env
	mu             sync.Mutex
	calls          []withdrawal
	notDrained     int
	asked          int
	stoppedEarlier bool
}

func (w *withdrawals) Drained(*corev1.Pod) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asked++
	if w.e.ecs.Served(ecsapi.OpStopTask) > 0 {
		w.stoppedEarlier = true
	}
	return w.asked > w.notDrained
}

func (w *withdrawals) Withdraw(uid types.UID, ip string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, withdrawal{uid, ip, w.e.ecs.Served(ecsapi.OpStopTask)})
}

// TestWithdrawBeforeStop: a Pod being deleted is withdrawn (its UID and task address) before
// StopTask is sent, so that its address leaves the Services' answers before SIGTERM; and StopTask
// waits until the Withdrawer says the Pod is drained.
func TestWithdrawBeforeStop(t *testing.T) {
	w := &withdrawals{notDrained: 3}
	e := start(t, func(e *env, o *pod.Options) {
		w.e = e
		o.Withdrawers = []pod.Withdrawer{w}
	})
	e.create(e.newPod("web", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(5)) }))
	got := e.waitPod("web", time.Minute, "Running with an IP", func(p *corev1.Pod) bool { return running(p) && p.Status.PodIP != "" })
	if err := e.c.Delete(e.ctx, got); err != nil {
		t.Fatal(err)
	}
	e.gone("web", time.Minute)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.calls) == 0 {
		t.Fatal("Withdraw was never called")
	}
	want := withdrawal{UID: got.UID, IP: got.Status.PodIP, StopTaskServed: 0}
	if diff := cmp.Diff(want, w.calls[0]); diff != "" {
		t.Errorf("first Withdraw (-want +got):\n%s", diff)
	}
	for _, c := range w.calls {
		if c.UID != got.UID || c.IP != got.Status.PodIP {
			t.Errorf("Withdraw(%s, %s), want only the Pod's own", c.UID, c.IP)
		}
	}
	if w.asked <= w.notDrained || w.stoppedEarlier {
		t.Errorf("Drained asked %d times (StopTask before the answer true: %v); want StopTask only after it said drained (the %dth time)",
			w.asked, w.stoppedEarlier, w.notDrained+1)
	}
}
