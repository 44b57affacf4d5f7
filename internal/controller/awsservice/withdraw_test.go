package awsservice

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestWithdrawHidesOnlyThatPod: a withdrawn (Pod, address) leaves the wanted targets and
// instances at once; another Pod that got the address later, and every address after
// withdrawnFor, do not; Drained follows what is registered.
func TestWithdrawHidesOnlyThatPod(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewReconciler(nil, nil, Clients{}, nil, Options{})
	r.now = func() time.Time { return now }
	pod := func(uid types.UID) *corev1.ObjectReference { return &corev1.ObjectReference{Kind: "Pod", UID: uid} }
	eps := []discoveryv1.EndpointSlice{slice("http", 80,
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"}, TargetRef: pod("a")},
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.2"}, TargetRef: pod("b")},
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.3"}},
	)}
	key := types.NamespacedName{Namespace: "ns", Name: "web"}
	r.noteRegistered(key, &svcState{instances: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}})
	r.Withdraw("a", "10.0.0.1")
	r.Withdraw("old-pod", "10.0.0.2") // the address is Pod b's now
	r.Withdraw("c", "10.0.0.3")       // no targetRef UID: withdrawn by address
	if got := len(r.wake); got != 3 {
		t.Errorf("%d wake-ups, want one per Withdraw of a registered address", got)
	}
	if diff := cmp.Diff([]string{"10.0.0.2"}, ReadyIPs(r.withoutWithdrawn(eps))); diff != "" {
		t.Errorf("ready after the withdrawals -want +got:\n%s", diff)
	}
	p1 := &corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1"}}
	if r.Drained(p1) {
		t.Error("drained while its Service still has the address registered")
	}
	r.noteRegistered(key, &svcState{instances: []string{"10.0.0.2"}})
	if !r.Drained(p1) {
		t.Error("not drained once its Service deregistered the address")
	}
	now = now.Add(withdrawnFor + time.Second)
	if diff := cmp.Diff([]string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, ReadyIPs(r.withoutWithdrawn(eps))); diff != "" {
		t.Errorf("ready after withdrawnFor -want +got:\n%s", diff)
	}
}

// TestWithdrawDuringASyncWakesItsService: an address withdrawn while a Service's sync is
// registering it (registered does not show it before the sync ends) wakes that Service, so the
// next sync takes the address out; before, nothing woke it until the next EndpointSlice event or
// resync (seen as TestClusterIPServiceOnMoto waiting a minute under load).
func TestWithdrawDuringASyncWakesItsService(t *testing.T) {
	r := NewReconciler(nil, nil, Clients{}, nil, Options{})
	key := types.NamespacedName{Namespace: "ns", Name: "web"}
	other := types.NamespacedName{Namespace: "ns", Name: "idle"}
	r.noteRegistered(other, &svcState{instances: []string{"10.0.0.9"}})
	r.beginSync(key)
	r.Withdraw("a", "10.0.0.1")
	r.noteRegistered(key, &svcState{instances: []string{"10.0.0.1"}}) // the sync registered it all the same
	if got := len(r.wake); got != 1 {
		t.Fatalf("%d wake-ups, want 1 (the Service being synced, not the idle one)", got)
	}
	if ev := <-r.wake; ev.Object.GetName() != "web" {
		t.Errorf("woke %s, want web", ev.Object.GetName())
	}
	r.Withdraw("b", "10.0.0.2") // the sync has ended: no Service holds or syncs the address
	if got := len(r.wake); got != 0 {
		t.Errorf("%d wake-ups after the sync ended, want 0", got)
	}
}
