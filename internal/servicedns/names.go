package servicedns

import (
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Names is a second source of names beside the Kubernetes Services: zones outside the cluster
// domain, answered authoritatively instead of forwarded. Under `nodeless up` it is the local
// Cloud Map's private DNS namespaces (package dataplane/cloudmap; docs/adr/0016-cloud-map-locally.md).
type Names interface {
	// LookupName says what the source knows of name (lower case, fully qualified); ok is false
	// when name is in none of its zones. It must not block for long: it runs on every question.
	LookupName(name string) (recs NameRecords, ok bool)
}

// NameRecords is what a Names source knows of one name.
type NameRecords struct {
	// Zone is the apex of the zone the name is in (fully qualified), the owner of the SOA of
	// negative answers, whose minimum TTL is ZoneTTL.
	Zone    string
	ZoneTTL time.Duration
	// Exists is false for a name of the zone that names nothing (NXDOMAIN).
	Exists bool
	// A are the name's IPv4 addresses, answered with ATTL.
	A    []netip.Addr
	ATTL time.Duration
	// SRV are the name's SRV records (priority 1, weight 1), answered with SRVTTL; each target's
	// address goes to the additional section.
	SRV    []NameSRV
	SRVTTL time.Duration
}

// NameSRV is one SRV record: its target, port and the target's address.
type NameSRV struct {
	Target string
	Port   uint16
	Addr   netip.Addr
}

// lookupNames answers name of type qtype from the Names source; false when it has no such zone.
func (h *handler) lookupNames(name string, qtype uint16) (answer, bool) {
	if h.names == nil {
		return answer{}, false
	}
	recs, ok := h.names.LookupName(name)
	if !ok {
		return answer{}, false
	}
	a := answer{soa: namesSOA(recs)}
	if !recs.Exists {
		a.rcode = dns.RcodeNameError
		return a, true
	}
	if qtype == dns.TypeA || qtype == dns.TypeANY {
		for _, ip := range recs.A {
			a.records = append(a.records, &dns.A{Hdr: rrHeader(name, dns.TypeA, recs.ATTL), A: net.IP(ip.AsSlice())})
		}
	}
	if qtype == dns.TypeSRV || qtype == dns.TypeANY {
		for _, s := range recs.SRV {
			a.records = append(a.records, &dns.SRV{Hdr: rrHeader(name, dns.TypeSRV, recs.SRVTTL), Priority: 1, Weight: 1, Port: s.Port, Target: s.Target})
			a.extra = append(a.extra, &dns.A{Hdr: rrHeader(s.Target, dns.TypeA, recs.ATTL), A: net.IP(s.Addr.AsSlice())})
		}
	}
	if qtype == dns.TypeSOA && name == recs.Zone {
		a.records = append(a.records, a.soa)
	}
	return a, true
}

func rrHeader(name string, t uint16, ttl time.Duration) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: uint32(ttl / time.Second)}
}

func namesSOA(recs NameRecords) dns.RR {
	ttl := uint32(recs.ZoneTTL / time.Second)
	return &dns.SOA{
		Hdr: rrHeader(recs.Zone, dns.TypeSOA, recs.ZoneTTL), Ns: "ns.dns." + recs.Zone, Mbox: "hostmaster." + recs.Zone,
		Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: ttl,
	}
}
