package main

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/servicedns"
)

// dnsPort is where the VPC's DNS server listens, on the VPC's gateway address.
const dnsPort = "53"

// dnsResolver is the address of nodeless's DNS server in the VPC of subnet cidr (--vpc-cidr): the
// VPC's gateway, which every task reaches on its own segment whatever the Service range, with or
// without the Kubernetes control plane (docs/adr/0010-service-names.md). The data plane names it
// in every task's resolv.conf.
func dnsResolver(cidr string) (netip.Addr, error) {
	subnet, err := ipam.ParseSubnet(cidr)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("VPC subnet (--vpc-cidr): %w", err)
	}
	return subnet.Gateway(), nil
}

// serviceDNS is the DNS server of `nodeless up`: Kubernetes Service names from the API server at
// cfg, every other name forwarded to the host's resolvers, answering on the VPC's gateway, port 53,
// UDP and TCP, from sockets made inside the VPC's namespace (so nothing listens on the host). It
// must start after the data plane (the VPC's namespace exists once the data plane is Ready).
func serviceDNS(cfg *rest.Config, dp *dataplane.DataPlane, logger logr.Logger) (*servicedns.Server, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("service DNS: %w", err)
	}
	v := dp.VPC()
	addr := net.JoinHostPort(v.Subnet().Gateway().String(), dnsPort)
	return servicedns.New(client, servicedns.Options{
		ListenPacket: func() (net.PacketConn, error) { return v.ListenPacket("udp4", addr) },
		Listen:       func() (net.Listener, error) { return v.Listen("tcp4", addr) },
		Logger:       logger.WithName("dns"),
		Names:        cloudMapNames{dp.CloudMap()},
	})
}

// cloudMapNames answers the names of the data plane's Cloud Map private DNS namespaces for the
// DNS server (docs/adr/0016-cloud-map-locally.md).
type cloudMapNames struct{ r *cloudmap.Registry }

func (c cloudMapNames) LookupName(name string) (servicedns.NameRecords, bool) {
	recs, ok := c.r.LookupName(name)
	if !ok {
		return servicedns.NameRecords{}, false
	}
	out := servicedns.NameRecords{
		Zone: recs.Zone, ZoneTTL: recs.ZoneTTL, Exists: recs.Exists,
		A: recs.A, ATTL: recs.ATTL, SRVTTL: recs.SRVTTL,
	}
	for _, s := range recs.SRV {
		out.SRV = append(out.SRV, servicedns.NameSRV{Target: s.Target, Port: s.Port, Addr: s.Addr})
	}
	return out, true
}
