package cloudmap

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Records is what the local Cloud Map says of one DNS name.
type Records struct {
	// Zone is the private DNS namespace the name is in: its name, lower case, fully qualified.
	Zone string
	// ZoneTTL is the namespace's SOA TTL (negative caching of the names it does not have).
	ZoneTTL time.Duration
	// Exists is false for a name of the zone that names nothing (NXDOMAIN).
	Exists bool
	// A are the addresses of the name's healthy instances, answered with ATTL.
	A    []netip.Addr
	ATTL time.Duration
	// SRV are the name's SRV records (a service with an SRV record), answered with SRVTTL; each
	// target is INSTANCE.SERVICE.NAMESPACE, whose A record is Addr.
	SRV    []SRV
	SRVTTL time.Duration
}

// SRV is one SRV record of a service's healthy instance (priority 1, weight 1, as Cloud Map
// writes them).
type SRV struct {
	Target string
	Port   uint16
	Addr   netip.Addr
}

// LookupName answers a DNS name (lower case, fully qualified) from the private DNS namespaces:
// SERVICE.NAMESPACE has the A records (and SRV records) of the service's healthy instances, as
// Route 53 does for Cloud Map; INSTANCE.SERVICE.NAMESPACE, the A record an SRV record's target
// needs, for a service with SRV records; the namespace's own name exists without records. ok is
// false when name is in no private DNS namespace (the caller forwards it).
func (r *Registry) LookupName(name string) (recs Records, ok bool) {
	name = strings.ToLower(name)
	_ = r.store.View(func(tx *store.Tx) error {
		if recs, ok = lookupAlias(tx, name); ok {
			return nil
		}
		ns := zoneOf(tx, name)
		if ns == nil {
			return nil
		}
		ok = true
		zone := strings.ToLower(ns.Name) + "."
		recs = Records{Zone: zone, ZoneTTL: soaTTL(ns)}
		if name == zone {
			recs.Exists = true
			return nil
		}
		rel := strings.TrimSuffix(name, "."+zone)
		defer func() {
			if !recs.Exists {
				recs = Records{Zone: recs.Zone, ZoneTTL: recs.ZoneTTL}
			}
		}()
		return each(tx, svcPrefix, func(s *Service) bool {
			if s.NamespaceID != ns.ID {
				return true
			}
			svcName := strings.ToLower(s.Name)
			switch {
			case rel == svcName:
				recs.Exists = true
				serviceRecords(tx, s, svcName+"."+zone, &recs, "")
			case strings.HasSuffix(rel, "."+svcName) && hasRecord(s, RecordSRV):
				serviceRecords(tx, s, svcName+"."+zone, &recs, strings.TrimSuffix(rel, "."+svcName))
				recs.SRV = nil
				recs.Exists = len(recs.A) > 0
			}
			return !recs.Exists
		})
	})
	return recs, ok
}

// zoneOf is the private DNS namespace name is in (the longest that matches), or nil.
func zoneOf(tx *store.Tx, name string) *Namespace {
	var best *Namespace
	_ = each(tx, nsPrefix, func(n *Namespace) bool {
		if n.Type != TypeDNSPrivate {
			return true
		}
		z := strings.ToLower(n.Name) + "."
		if (name == z || strings.HasSuffix(name, "."+z)) && (best == nil || len(n.Name) > len(best.Name)) {
			best = n
		}
		return true
	})
	return best
}

func soaTTL(ns *Namespace) time.Duration {
	if p := ns.Properties; p != nil && p.DNSProperties != nil && p.DNSProperties.SOA != nil && p.DNSProperties.SOA.TTL != nil {
		return time.Duration(*p.DNSProperties.SOA.TTL) * time.Second
	}
	return defaultSOATTL * time.Second
}

// serviceRecords fills recs with the records of s's healthy instances (only the instance named
// only, when only is not empty); base is SERVICE.NAMESPACE.
func serviceRecords(tx *store.Tx, s *Service, base string, recs *Records, only string) {
	for _, rec := range s.DNSConfig.DNSRecords {
		switch rec.Type {
		case RecordA:
			recs.ATTL = time.Duration(*rec.TTL) * time.Second
		case RecordSRV:
			recs.SRVTTL = time.Duration(*rec.TTL) * time.Second
		}
	}
	if recs.ATTL == 0 {
		recs.ATTL = recs.SRVTTL // an SRV service's targets are answered with the SRV TTL
	}
	withA, withSRV := hasRecord(s, RecordA) || only != "", hasRecord(s, RecordSRV)
	_ = each(tx, instPrefix(s.ID), func(i *instance) bool {
		if only != "" && !strings.EqualFold(i.ID, only) {
			return true
		}
		addr, ok := healthyAddr(i)
		if !ok {
			return true
		}
		if withA {
			recs.A = append(recs.A, addr)
		}
		if port, err := strconv.ParseUint(i.Attributes[AttrPort], 10, 16); withSRV && err == nil {
			recs.SRV = append(recs.SRV, SRV{Target: strings.ToLower(i.ID) + "." + base, Port: uint16(port), Addr: addr})
		}
		return true
	})
}

// healthyAddr is a healthy instance's IPv4 address; false for an unhealthy one or one without.
func healthyAddr(i *instance) (netip.Addr, bool) {
	if i.Health != HealthHealthy {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddr(i.Attributes[AttrIPv4])
	return addr, err == nil && addr.Is4()
}
