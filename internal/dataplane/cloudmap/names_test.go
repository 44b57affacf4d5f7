package cloudmap_test

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

func ptr[T any](v T) *T { return &v }

// TestLookupName: the names of a private DNS namespace, from its services' healthy instances.
func TestLookupName(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := cloudmap.New(st, model.ARNs{Region: "us-east-1", Account: "000000000000"}, nil)
	op := must[*cloudmap.OperationOutput](t)(r.CreatePrivateDNSNamespace(&cloudmap.CreatePrivateDNSNamespaceInput{Name: "Shop.Local", Vpc: "vpc-1"}))
	nsID := must[*cloudmap.GetOperationOutput](t)(r.GetOperation(&cloudmap.GetOperationInput{OperationID: op.OperationID})).Operation.Targets["NAMESPACE"]
	must[*cloudmap.OperationOutput](t)(r.CreateHTTPNamespace(&cloudmap.CreateHTTPNamespaceInput{Name: "api"}))
	web := must[*cloudmap.ServiceOutput](t)(r.CreateService(&cloudmap.CreateServiceInput{Name: "web", NamespaceID: nsID,
		DNSConfig:               &cloudmap.DNSConfig{DNSRecords: []cloudmap.DNSRecord{{Type: "A", TTL: ptr[int64](10)}, {Type: "SRV", TTL: ptr[int64](20)}}},
		HealthCheckCustomConfig: &cloudmap.HealthCheckCustomConfig{}})).Service
	db := must[*cloudmap.ServiceOutput](t)(r.CreateService(&cloudmap.CreateServiceInput{Name: "db", NamespaceID: nsID,
		DNSConfig: &cloudmap.DNSConfig{DNSRecords: []cloudmap.DNSRecord{{Type: "SRV", TTL: ptr[int64](30)}}}})).Service
	reg := func(svc, id, ip, port, health string) {
		attrs := map[string]string{"AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": port}
		if health != "" {
			attrs["AWS_INIT_HEALTH_STATUS"] = health
		}
		must[*cloudmap.OperationOutput](t)(r.RegisterInstance(&cloudmap.RegisterInstanceInput{ServiceID: svc, InstanceID: id, Attributes: attrs}))
	}
	reg(web.ID, "t1", "10.244.0.7", "8080", "")
	reg(web.ID, "t2", "10.244.0.8", "8080", "UNHEALTHY")
	reg(db.ID, "Primary", "10.244.0.9", "5432", "")
	// A Service Connect client alias of the web service: answered with its virtual address, the
	// first of the default range.
	if err := st.Update(func(tx *store.Tx) error {
		return cloudmap.SetAliases(tx, "arn:aws:ecs:us-east-1:000000000000:service/default/web", []cloudmap.ClientAlias{{Name: "Web", ServiceID: web.ID, Port: 80}})
	}); err != nil {
		t.Fatal(err)
	}
	a7, a9 := netip.MustParseAddr("10.244.0.7"), netip.MustParseAddr("10.244.0.9")
	zone := func(exists bool) cloudmap.Records {
		return cloudmap.Records{Zone: "shop.local.", ZoneTTL: 15 * time.Second, Exists: exists}
	}
	tests := []struct {
		name string
		want cloudmap.Records
		ok   bool
	}{
		{"web.shop.local.", cloudmap.Records{Zone: "shop.local.", ZoneTTL: 15 * time.Second, Exists: true, A: []netip.Addr{a7}, ATTL: 10 * time.Second,
			SRV: []cloudmap.SRV{{Target: "t1.web.shop.local.", Port: 8080, Addr: a7}}, SRVTTL: 20 * time.Second}, true},
		// An SRV-only service: no A records at its name; its targets have them.
		{"db.shop.local.", cloudmap.Records{Zone: "shop.local.", ZoneTTL: 15 * time.Second, Exists: true, ATTL: 30 * time.Second,
			SRV: []cloudmap.SRV{{Target: "primary.db.shop.local.", Port: 5432, Addr: a9}}, SRVTTL: 30 * time.Second}, true},
		{"primary.db.shop.local.", cloudmap.Records{Zone: "shop.local.", ZoneTTL: 15 * time.Second, Exists: true, A: []netip.Addr{a9}, ATTL: 30 * time.Second, SRVTTL: 30 * time.Second}, true},
		{"t2.web.shop.local.", zone(false), true}, // unhealthy: not answered
		{"web.", cloudmap.Records{Zone: "web.", ZoneTTL: 5 * time.Second, Exists: true, A: []netip.Addr{netip.MustParseAddr("10.0.1.1")}, ATTL: 5 * time.Second}, true},
		{"shop.local.", zone(true), true},
		{"other.shop.local.", zone(false), true},
		{"api.", cloudmap.Records{}, false}, // an HTTP namespace has no names
		{"example.com.", cloudmap.Records{}, false},
	}
	for _, tc := range tests {
		got, ok := r.LookupName(tc.name)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
		}
		if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
