package servicedns

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// withdrawRetention is how long a withdrawn endpoint stays hidden: long enough for kube-controller-
// manager to mark it terminating and for its task to stop, short enough that the set stays small.
// Pod UIDs are never reused, so a stale entry hides nothing else.
const withdrawRetention = 10 * time.Minute

// service is what the names of one Kubernetes Service need.
type service struct {
	headless     bool
	clusterIPs   []netip.Addr
	externalName string
	ports        []corev1.ServicePort
}

// endpoint is one ready-or-not address set of an EndpointSlice.
type endpoint struct {
	addrs    []netip.Addr
	hostname string
	podUID   types.UID
	ready    bool
}

// slice is what the names need of one EndpointSlice.
type slice struct {
	ports     []discoveryv1.EndpointPort
	endpoints []endpoint
}

// withdrawal names one Pod's address that must not be answered any more.
type withdrawal struct {
	uid types.UID
	ip  netip.Addr
}

// withdrawnAt is when an address was first withdrawn, and whether a name answered it then (a
// headless Service's ready endpoint): resolvers may cache such an answer for one TTL.
type withdrawnAt struct {
	at       time.Time
	answered bool
}

// View is the set of Services and EndpointSlices the names are answered from. It is safe for
// concurrent use: the informers write it, the DNS handler reads it.
type View struct {
	mu        sync.RWMutex
	services  map[types.NamespacedName]*service
	slices    map[types.NamespacedName]map[string]*slice // by Service, then by slice name
	withdrawn map[withdrawal]withdrawnAt
	now       func() time.Time
}

// NewView returns an empty View.
func NewView() *View {
	return &View{
		services:  map[types.NamespacedName]*service{},
		slices:    map[types.NamespacedName]map[string]*slice{},
		withdrawn: map[withdrawal]withdrawnAt{},
		now:       time.Now,
	}
}

// SetService adds or replaces a Service.
func (v *View) SetService(s *corev1.Service) {
	svc := &service{
		headless:     s.Spec.ClusterIP == corev1.ClusterIPNone,
		externalName: s.Spec.ExternalName,
		ports:        slices.Clone(s.Spec.Ports),
	}
	if s.Spec.Type != corev1.ServiceTypeExternalName {
		svc.externalName = ""
		ips := s.Spec.ClusterIPs
		if len(ips) == 0 && s.Spec.ClusterIP != "" {
			ips = []string{s.Spec.ClusterIP}
		}
		for _, ip := range ips {
			if a, err := netip.ParseAddr(ip); err == nil {
				svc.clusterIPs = append(svc.clusterIPs, a)
			}
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.services[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = svc
}

// DeleteService removes a Service (its slices stay until they are deleted themselves).
func (v *View) DeleteService(namespace, name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.services, types.NamespacedName{Namespace: namespace, Name: name})
}

// serviceOf is the Service an EndpointSlice belongs to (its kubernetes.io/service-name label), and
// false for a slice of no Service or of addresses that are not IPs (FQDN slices).
func serviceOf(es *discoveryv1.EndpointSlice) (types.NamespacedName, bool) {
	name := es.Labels[discoveryv1.LabelServiceName]
	if name == "" || es.AddressType == discoveryv1.AddressTypeFQDN {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: es.Namespace, Name: name}, true
}

// SetSlice adds or replaces an EndpointSlice. An endpoint counts as ready when its ready
// condition is true or unset (discovery/v1: "nil should be interpreted as true").
func (v *View) SetSlice(es *discoveryv1.EndpointSlice) {
	key, ok := serviceOf(es)
	if !ok {
		return
	}
	s := &slice{ports: slices.Clone(es.Ports)}
	for _, e := range es.Endpoints {
		ep := endpoint{ready: e.Conditions.Ready == nil || *e.Conditions.Ready}
		if e.Hostname != nil {
			ep.hostname = strings.ToLower(*e.Hostname)
		}
		if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
			ep.podUID = e.TargetRef.UID
		}
		for _, a := range e.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				ep.addrs = append(ep.addrs, ip)
			}
		}
		s.endpoints = append(s.endpoints, ep)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.slices[key] == nil {
		v.slices[key] = map[string]*slice{}
	}
	v.slices[key][es.Name] = s
}

// DeleteSlice removes an EndpointSlice.
func (v *View) DeleteSlice(es *discoveryv1.EndpointSlice) {
	key, ok := serviceOf(es)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.slices[key], es.Name)
	if len(v.slices[key]) == 0 {
		delete(v.slices, key)
	}
}

// Withdraw stops answering the address ip of the Pod with uid at once, whatever its EndpointSlices
// still say: the Pod controller calls it before it stops the Pod's task, so that the address leaves
// the answers before the containers get SIGTERM (docs/adr/0010-service-names.md). It does not block.
// An ip that does not parse withdraws nothing.
func (v *View) Withdraw(uid types.UID, ip string) {
	a, err := netip.ParseAddr(ip)
	if err != nil || uid == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	for w, wa := range v.withdrawn {
		if now.Sub(wa.at) > withdrawRetention {
			delete(v.withdrawn, w)
		}
	}
	w := withdrawal{uid: uid, ip: a}
	if _, ok := v.withdrawn[w]; !ok { // a retried stop withdraws again: the first time counts
		v.withdrawn[w] = withdrawnAt{at: now, answered: v.answersPodAddr(uid, a)}
	}
}

// Drained reports whether no answer that named the Pod uid's address before it was withdrawn can
// still be in a resolver's cache: every such withdrawal is at least ttl old. An address no name
// answered (the Pod backs no headless Service: a ClusterIP Service's names answer its virtual
// IP) is drained at once, and so is a Pod never withdrawn.
func (v *View) Drained(uid types.UID, ttl time.Duration) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	now := v.now()
	for w, wa := range v.withdrawn {
		if w.uid == uid && wa.answered && now.Sub(wa.at) < ttl {
			return false
		}
	}
	return true
}

// answersPodAddr reports whether a name answers address a of the Pod uid: a ready endpoint of a
// headless Service. Callers hold v.mu.
func (v *View) answersPodAddr(uid types.UID, a netip.Addr) bool {
	for key, byName := range v.slices {
		if svc := v.services[key]; svc == nil || !svc.headless {
			continue
		}
		for _, s := range byName {
			for i := range s.endpoints {
				ep := &s.endpoints[i]
				if ep.podUID == uid && slices.Contains(ep.addrs, a) && v.answered(ep, a) {
					return true
				}
			}
		}
	}
	return false
}

// answered reports whether ep's address a may be answered. Callers hold v.mu.
func (v *View) answered(ep *endpoint, a netip.Addr) bool {
	if !ep.ready {
		return false
	}
	if ep.podUID == "" {
		return true
	}
	_, gone := v.withdrawn[withdrawal{uid: ep.podUID, ip: a}]
	return !gone
}

// readyAddrs calls fn for each address of key's slices that may be answered, with its endpoint
// and slice; each address once (an endpoint may be in two slices while they are rebalanced).
// Callers hold v.mu.
func (v *View) readyAddrs(key types.NamespacedName, fn func(a netip.Addr, ep *endpoint, s *slice)) {
	seen := map[netip.Addr]bool{}
	names := make([]string, 0, len(v.slices[key]))
	for n := range v.slices[key] {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := v.slices[key][n]
		for i := range s.endpoints {
			ep := &s.endpoints[i]
			for _, a := range ep.addrs {
				if !seen[a] && v.answered(ep, a) {
					seen[a] = true
					fn(a, ep, s)
				}
			}
		}
	}
}

// hasNamespace reports whether any Service lives in namespace. Callers hold v.mu.
func (v *View) hasNamespace(namespace string) bool {
	for k := range v.services {
		if k.Namespace == namespace {
			return true
		}
	}
	return false
}
