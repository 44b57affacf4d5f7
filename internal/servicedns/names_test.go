package servicedns

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// fakeNames is a Names source of one zone, "shop.local.".
type fakeNames map[string]NameRecords

func (f fakeNames) LookupName(name string) (NameRecords, bool) {
	if !dns.IsSubDomain("shop.local.", name) {
		return NameRecords{}, false
	}
	if r, ok := f[name]; ok {
		return r, true
	}
	return NameRecords{Zone: "shop.local.", ZoneTTL: 15 * time.Second}, true
}

// TestNamesSource: names of a second source's zones are answered authoritatively from it (A, SRV
// with the targets' addresses, NXDOMAIN and NODATA with the zone's SOA); the cluster domain's
// names are still the Kubernetes Services'.
func TestNamesSource(t *testing.T) {
	a1, a2 := netip.MustParseAddr("10.244.0.7"), netip.MustParseAddr("10.244.0.8")
	names := fakeNames{
		"web.shop.local.": {Zone: "shop.local.", ZoneTTL: 15 * time.Second, Exists: true, A: []netip.Addr{a1, a2}, ATTL: 10 * time.Second,
			SRV: []NameSRV{{Target: "t1.web.shop.local.", Port: 8080, Addr: a1}}, SRVTTL: 20 * time.Second},
	}
	v := NewView()
	fill(v)
	h := &handler{zone: zone{domain: "cluster.local.", ttl: 5, view: v}, names: names, fwd: &forwarder{}}
	soa := "@shop.local.\t15\tIN\tSOA\tns.dns.shop.local. hostmaster.shop.local. 1 7200 1800 86400 15"
	tests := []struct {
		name  string
		qtype uint16
		want  []string
	}{
		{"web.shop.local.", dns.TypeA, []string{"NOERROR", "AA", "web.shop.local.\t10\tIN\tA\t10.244.0.7", "web.shop.local.\t10\tIN\tA\t10.244.0.8"}},
		{"WEB.Shop.Local.", dns.TypeA, []string{"NOERROR", "AA", "web.shop.local.\t10\tIN\tA\t10.244.0.7", "web.shop.local.\t10\tIN\tA\t10.244.0.8"}},
		{"web.shop.local.", dns.TypeSRV, []string{"NOERROR", "AA", "web.shop.local.\t20\tIN\tSRV\t1 1 8080 t1.web.shop.local.", "+t1.web.shop.local.\t10\tIN\tA\t10.244.0.7"}},
		{"web.shop.local.", dns.TypeAAAA, []string{"NOERROR", "AA", soa}},
		{"db.shop.local.", dns.TypeA, []string{"NXDOMAIN", "AA", soa}},
	}
	for _, tc := range tests {
		req := new(dns.Msg)
		req.SetQuestion(tc.name, tc.qtype)
		if diff := cmp.Diff(tc.want, summary(h.respond(req, false))); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.name, dns.TypeToString[tc.qtype], diff)
		}
	}
	// The cluster domain is still answered from the View.
	req := new(dns.Msg)
	req.SetQuestion("backend.shop.svc.cluster.local.", dns.TypeA)
	if got := h.respond(req, false); got.Rcode != dns.RcodeSuccess || len(got.Answer) == 0 {
		t.Errorf("a Kubernetes Service name: %v", summary(got))
	}
}
