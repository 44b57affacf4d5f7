package servicedns

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// answer is what the zone says about one question.
type answer struct {
	// rcode is dns.RcodeSuccess (with or without records: NODATA) or dns.RcodeNameError.
	rcode   int
	records []dns.RR
	// extra are the addresses of SRV targets (the additional section).
	extra []dns.RR
	// chase is the target of an ExternalName's CNAME, to be resolved by the caller for an A or
	// AAAA question ("" otherwise).
	chase string
	// soa is the SOA of a negative answer of a Names zone (nil: the cluster domain's).
	soa dns.RR
}

// zone answers the names of the cluster domain from a View, as the Kubernetes DNS specification
// (github.com/kubernetes/dns, docs/specification.md, schema version 1.1.0) defines them.
type zone struct {
	domain string // lower case, fully qualified: "cluster.local."
	ttl    uint32
	view   *View
}

// lookup answers name (lower case, fully qualified) of type qtype; false when name is not in the
// zone nor a reverse name of an address the zone knows (the caller forwards it).
func (z *zone) lookup(name string, qtype uint16) (answer, bool) {
	if !dns.IsSubDomain(z.domain, name) {
		return z.reverse(name, qtype)
	}
	z.view.mu.RLock()
	defer z.view.mu.RUnlock()
	rel := strings.TrimSuffix(strings.TrimSuffix(name, z.domain), ".")
	if rel == "" {
		if qtype == dns.TypeSOA {
			return answer{records: []dns.RR{z.soa()}}, true
		}
		return answer{}, true
	}
	labels := dns.SplitDomainName(rel)
	n := len(labels)
	switch labels[n-1] {
	case "svc":
		return z.svcName(labels[:n-1], qtype), true
	case "pod":
		return z.podName(name, labels[:n-1], qtype), true
	}
	return answer{rcode: dns.RcodeNameError}, true
}

// svcName answers "<...>.<namespace>.svc.<domain>": labels are the ones before "svc".
func (z *zone) svcName(labels []string, qtype uint16) answer {
	n := len(labels)
	nxdomain := answer{rcode: dns.RcodeNameError}
	if n == 0 {
		return answer{}
	}
	if n == 1 {
		if z.view.hasNamespace(labels[0]) {
			return answer{}
		}
		return nxdomain
	}
	key := types.NamespacedName{Namespace: labels[n-1], Name: labels[n-2]}
	svc := z.view.services[key]
	if svc == nil || n > 4 {
		return nxdomain
	}
	base := key.Name + "." + key.Namespace + ".svc." + z.domain
	switch {
	case n == 2:
		return z.serviceRecords(key, svc, base, qtype)
	case n == 3 && strings.HasPrefix(labels[0], "_"):
		// "_tcp.NAME.NS.svc": a name only because SRV names live under it.
		if svc.externalName == "" && hasProtocol(svc, labels[0]) {
			return answer{}
		}
		return nxdomain
	case n == 3:
		return z.hostRecords(key, svc, labels[0], base, qtype)
	case strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_"):
		return z.srvRecords(key, svc, labels[0][1:], labels[1][1:], base, qtype)
	}
	return nxdomain
}

// serviceRecords answers "NAME.NS.svc.<domain>": the Service's cluster IPs; the ready endpoints'
// addresses for a headless one; a CNAME for an ExternalName one.
func (z *zone) serviceRecords(key types.NamespacedName, svc *service, base string, qtype uint16) answer {
	if svc.externalName != "" {
		target := dns.Fqdn(strings.ToLower(svc.externalName))
		a := answer{records: []dns.RR{&dns.CNAME{Hdr: z.hdr(base, dns.TypeCNAME), Target: target}}}
		if qtype == dns.TypeA || qtype == dns.TypeAAAA {
			a.chase = target
		}
		return a
	}
	var a answer
	if !svc.headless {
		for _, ip := range svc.clusterIPs {
			if rr := z.address(base, ip, qtype); rr != nil {
				a.records = append(a.records, rr)
			}
		}
		return a
	}
	z.view.readyAddrs(key, func(ip netip.Addr, _ *endpoint, _ *slice) {
		if rr := z.address(base, ip, qtype); rr != nil {
			a.records = append(a.records, rr)
		}
	})
	return a
}

// hostRecords answers "HOST.NAME.NS.svc.<domain>" of a headless Service: the ready endpoint whose
// hostname is HOST (a StatefulSet's Pod, or a Pod with hostname and subdomain), or whose address
// written with dashes is HOST (1-2-3-4 for 1.2.3.4).
func (z *zone) hostRecords(key types.NamespacedName, svc *service, host, base string, qtype uint16) answer {
	if !svc.headless {
		return answer{rcode: dns.RcodeNameError}
	}
	found := false
	var a answer
	name := host + "." + base
	z.view.readyAddrs(key, func(ip netip.Addr, ep *endpoint, _ *slice) {
		if endpointHost(ep, ip) != host {
			return
		}
		found = true
		if rr := z.address(name, ip, qtype); rr != nil {
			a.records = append(a.records, rr)
		}
	})
	if !found {
		return answer{rcode: dns.RcodeNameError}
	}
	return a
}

// srvRecords answers "_PORT._PROTO.NAME.NS.svc.<domain>" for a named port of the Service: one SRV
// naming the Service for a ClusterIP one, one per ready endpoint (naming the endpoint) for a
// headless one, with their addresses in the additional section.
func (z *zone) srvRecords(key types.NamespacedName, svc *service, port, proto, base string, qtype uint16) answer {
	sp := servicePort(svc, port, proto)
	if sp == nil {
		return answer{rcode: dns.RcodeNameError}
	}
	var a answer
	if qtype != dns.TypeSRV && qtype != dns.TypeANY {
		return a
	}
	name := "_" + port + "._" + proto + "." + base
	if !svc.headless {
		a.records = append(a.records, z.srv(name, uint16(sp.Port), base, 100))
		for _, ip := range svc.clusterIPs {
			a.extra = append(a.extra, z.address(base, ip, addressType(ip)))
		}
		return a
	}
	type target struct {
		host string
		ip   netip.Addr
		port int32
	}
	var targets []target
	z.view.readyAddrs(key, func(ip netip.Addr, ep *endpoint, s *slice) {
		if p, ok := slicePort(s, sp); ok {
			targets = append(targets, target{endpointHost(ep, ip) + "." + base, ip, p})
		}
	})
	for _, t := range targets {
		a.records = append(a.records, z.srv(name, uint16(t.port), t.host, uint16(100/len(targets))))
		a.extra = append(a.extra, z.address(t.host, t.ip, addressType(t.ip)))
	}
	return a
}

// podName answers "A-B-C-D.NS.pod.<domain>" with the address it spells (kube-dns's Pod records,
// deprecated by the specification but still used); labels are the ones before "pod".
func (z *zone) podName(name string, labels []string, qtype uint16) answer {
	if len(labels) < 2 {
		return answer{}
	}
	if len(labels) != 2 {
		return answer{rcode: dns.RcodeNameError}
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(labels[0], "-", "."))
	if err != nil || !ip.Is4() {
		return answer{rcode: dns.RcodeNameError}
	}
	var a answer
	if rr := z.address(name, ip, qtype); rr != nil {
		a.records = append(a.records, rr)
	}
	return a
}

// reverse answers a PTR question for a Service's cluster IP or a headless Service's ready
// endpoint; false for any other name (forwarded).
func (z *zone) reverse(name string, qtype uint16) (answer, bool) {
	ip, ok := fromReverse(name)
	if !ok {
		return answer{}, false
	}
	z.view.mu.RLock()
	defer z.view.mu.RUnlock()
	var targets []string
	for key, svc := range z.view.services {
		base := key.Name + "." + key.Namespace + ".svc." + z.domain
		for _, c := range svc.clusterIPs {
			if c == ip {
				targets = append(targets, base)
			}
		}
		if svc.headless {
			z.view.readyAddrs(key, func(a netip.Addr, ep *endpoint, _ *slice) {
				if a == ip {
					targets = append(targets, endpointHost(ep, a)+"."+base)
				}
			})
		}
	}
	if len(targets) == 0 {
		return answer{}, false
	}
	var a answer
	if qtype == dns.TypePTR || qtype == dns.TypeANY {
		for _, t := range targets {
			a.records = append(a.records, &dns.PTR{Hdr: z.hdr(name, dns.TypePTR), Ptr: t})
		}
	}
	return a, true
}

// fromReverse parses "D.C.B.A.in-addr.arpa." into A.B.C.D (IPv4 only).
func fromReverse(name string) (netip.Addr, bool) {
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa.")
	if !ok {
		return netip.Addr{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	for i, j := 0, 3; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	ip, err := netip.ParseAddr(strings.Join(parts, "."))
	return ip, err == nil
}

// endpointHost is the label an endpoint's address is named by: its hostname, else the address
// with dashes.
func endpointHost(ep *endpoint, ip netip.Addr) string {
	if ep.hostname != "" {
		return ep.hostname
	}
	return strings.NewReplacer(".", "-", ":", "-").Replace(ip.String())
}

// hasProtocol reports whether svc has a named port of protocol label ("_tcp").
func hasProtocol(svc *service, label string) bool {
	for _, p := range svc.ports {
		if p.Name != "" && "_"+strings.ToLower(string(protocolOf(p.Protocol))) == label {
			return true
		}
	}
	return false
}

// servicePort is svc's port named name with protocol proto (lower case), nil when none.
func servicePort(svc *service, name, proto string) *corev1.ServicePort {
	for i, p := range svc.ports {
		if p.Name != "" && strings.ToLower(p.Name) == name && strings.ToLower(string(protocolOf(p.Protocol))) == proto {
			return &svc.ports[i]
		}
	}
	return nil
}

// slicePort is the port of s's endpoints for the Service's port sp (matched by name and protocol,
// as kube-controller-manager names slice ports after Service ports).
func slicePort(s *slice, sp *corev1.ServicePort) (int32, bool) {
	for _, p := range s.ports {
		if p.Name != nil && *p.Name == sp.Name && p.Port != nil &&
			(p.Protocol == nil || *p.Protocol == protocolOf(sp.Protocol)) {
			return *p.Port, true
		}
	}
	return 0, false
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func addressType(ip netip.Addr) uint16 {
	if ip.Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

// address is an A or AAAA record of name for ip when qtype asks for its family (or ANY), else nil.
func (z *zone) address(name string, ip netip.Addr, qtype uint16) dns.RR {
	switch {
	case ip.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
		return &dns.A{Hdr: z.hdr(name, dns.TypeA), A: net.IP(ip.AsSlice())}
	case ip.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
		return &dns.AAAA{Hdr: z.hdr(name, dns.TypeAAAA), AAAA: net.IP(ip.AsSlice())}
	}
	return nil
}

func (z *zone) srv(name string, port uint16, target string, weight uint16) dns.RR {
	return &dns.SRV{Hdr: z.hdr(name, dns.TypeSRV), Priority: 0, Weight: weight, Port: port, Target: target}
}

func (z *zone) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: z.ttl}
}

// soa is the zone's SOA record, in the authority section of negative answers: its minimum TTL
// bounds how long resolvers cache a NXDOMAIN or NODATA (RFC 2308).
func (z *zone) soa() dns.RR {
	return &dns.SOA{
		Hdr: z.hdr(z.domain, dns.TypeSOA), Ns: "ns.dns." + z.domain, Mbox: "hostmaster." + z.domain,
		Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: z.ttl,
	}
}

// String is for test failures.
func (a answer) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", dns.RcodeToString[a.rcode])
	for _, rr := range a.records {
		b.WriteString("\n  " + rr.String())
	}
	for _, rr := range a.extra {
		b.WriteString("\n  +" + rr.String())
	}
	if a.chase != "" {
		b.WriteString("\n  chase " + strconv.Quote(a.chase))
	}
	return b.String()
}
