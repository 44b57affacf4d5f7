package serviceproxy

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// EndpointsFor returns the endpoints of one Service port from the Service's EndpointSlices: the
// IPv4 slices' ports whose name and protocol are the Service port's (as kube-proxy matches them:
// the slice port's name is the Service port's name, "" for a single unnamed port), one Endpoint per
// address, with the conditions' defaults applied (discovery.k8s.io/v1: ready unset means ready;
// serving unset means ready; terminating unset means not terminating). Addresses that do not parse
// are skipped (the API server validates them; a mirrored slice may hold anything).
func EndpointsFor(port corev1.ServicePort, slices []*discoveryv1.EndpointSlice) []Endpoint {
	var out []Endpoint
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		target, ok := slicePort(port, s.Ports)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			out = append(out, endpointsOf(ep, target)...)
		}
	}
	return out
}

// slicePort is the port number of the slice's port matching the Service port.
func slicePort(port corev1.ServicePort, ports []discoveryv1.EndpointPort) (uint16, bool) {
	proto := port.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, p := range ports {
		name, pp := "", corev1.ProtocolTCP
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if name == port.Name && pp == proto && p.Port != nil && *p.Port > 0 && *p.Port < 65536 {
			return uint16(*p.Port), true
		}
	}
	return 0, false
}

func endpointsOf(ep discoveryv1.Endpoint, port uint16) []Endpoint {
	c := ep.Conditions
	ready := c.Ready == nil || *c.Ready
	serving := ready
	if c.Serving != nil {
		serving = *c.Serving
	}
	terminating := c.Terminating != nil && *c.Terminating
	var out []Endpoint
	for _, a := range ep.Addresses {
		ip, err := netip.ParseAddr(a)
		if err != nil || !ip.Is4() {
			continue
		}
		e := Endpoint{Address: netip.AddrPortFrom(ip, port), Ready: ready, Serving: serving, Terminating: terminating}
		if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
			e.UID = ep.TargetRef.UID
		}
		out = append(out, e)
	}
	return out
}
