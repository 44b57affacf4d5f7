package awsservice

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// withdrawnFor is how long a withdrawn address stays withdrawn: by then kube-controller-manager
// has long marked the endpoint not ready, and the Pod's address may be another task's.
const withdrawnFor = 10 * time.Minute

// Withdraw implements pod.Withdrawer: the Pod controller calls it before it stops the task of
// the Pod uid at ip (for a Pod being deleted, before its preStop hooks). The address leaves every
// target group and Cloud Map service at once, without waiting for kube-controller-manager to
// mark the endpoint terminating: the Services that registered it are reconciled without it, and
// so are the Services being synced at that moment (they may be registering it: registered does
// not show it before their sync ends). It does not block.
func (r *Reconciler) Withdraw(uid types.UID, ip string) {
	if ip == "" {
		return
	}
	r.mu.Lock()
	r.withdrawn[ip] = withdrawal{uid: uid, at: r.now()}
	var keys []types.NamespacedName
	for key, st := range r.registered {
		if st[ip] || r.syncing[key] {
			keys = append(keys, key)
		}
	}
	for key := range r.syncing {
		if r.registered[key] == nil {
			keys = append(keys, key)
		}
	}
	r.mu.Unlock()
	for _, key := range keys {
		r.wakeService(key)
	}
}

// Drained implements pod.Withdrawer: true once no target group or Cloud Map service of a
// Service this controller serves holds pod's address (ELBv2 stops sending a deregistered target
// new connections; Route 53 follows Cloud Map within seconds, plus the records' TTL).
func (r *Reconciler) Drained(pod *corev1.Pod) bool {
	ip := pod.Status.PodIP
	if ip == "" {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.registered {
		if st[ip] {
			return false
		}
	}
	return true
}

// withoutWithdrawn returns eps with the endpoints of withdrawn Pods marked not ready: an
// endpoint at a withdrawn address whose targetRef names the withdrawn Pod's UID (or no UID). Old
// withdrawals are forgotten.
func (r *Reconciler) withoutWithdrawn(eps []discoveryv1.EndpointSlice) []discoveryv1.EndpointSlice {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ip, w := range r.withdrawn {
		if r.now().Sub(w.at) > withdrawnFor {
			delete(r.withdrawn, ip)
		}
	}
	if len(r.withdrawn) == 0 {
		return eps
	}
	out := make([]discoveryv1.EndpointSlice, len(eps))
	for i, s := range eps {
		out[i] = *s.DeepCopy()
		for j := range out[i].Endpoints {
			e := &out[i].Endpoints[j]
			for _, a := range e.Addresses {
				w, ok := r.withdrawn[a]
				if ok && (e.TargetRef == nil || e.TargetRef.UID == "" || e.TargetRef.UID == w.uid) {
					e.Conditions.Ready = ptr(false)
				}
			}
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// withdrawal is one Withdraw: the Pod and when.
type withdrawal struct {
	uid types.UID
	at  time.Time
}

// beginSync records that key's Service is being synced, until noteRegistered.
func (r *Reconciler) beginSync(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncing[key] = true
}

// noteRegistered records the addresses key's Service has registered (targets and instances), for
// Withdraw and Drained, and ends its sync (beginSync).
func (r *Reconciler) noteRegistered(key types.NamespacedName, st *svcState) {
	ips := map[string]bool{}
	for _, ts := range st.targets {
		for _, t := range ts {
			ips[t.IP] = true
		}
	}
	for _, ip := range st.instances {
		ips[ip] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.syncing, key)
	if len(ips) == 0 {
		delete(r.registered, key)
		return
	}
	r.registered[key] = ips
}

// wakeService queues a reconcile of key's Service without blocking; when the queue is full, the
// EndpointSlice update that follows a withdrawal wakes the Service anyway.
func (r *Reconciler) wakeService(key types.NamespacedName) {
	svc := &corev1.Service{}
	svc.Namespace, svc.Name = key.Namespace, key.Name
	select {
	case r.wake <- event.GenericEvent{Object: svc}:
	default:
	}
}
