package cloudmap

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// TestParseAliasRange: the Service Connect range is an IPv4 network of /8 to /30 outside the
// VPC's subnet and the reserved ranges; every refusal says what to use.
func TestParseAliasRange(t *testing.T) {
	vpc := netip.MustParsePrefix("10.244.0.0/16")
	tests := []struct {
		cidr    string
		wantErr string // "" when accepted
	}{
		{"10.0.1.0/24", ""},
		{"192.168.77.0/30", ""},
		{"nonsense", "not a CIDR block"},
		{"fd00::/64", "not IPv4"},
		{"10.0.1.0/31", "prefix length from /8 to /30"},
		{"10.0.0.0/7", "prefix length from /8 to /30"},
		{"10.0.1.1/24", "use the network address 10.0.1.0/24"},
		{"10.244.3.0/24", "overlaps the VPC's subnet 10.244.0.0/16"},
		{"10.0.0.0/8", "overlaps the VPC's subnet"},
		{"127.1.0.0/16", "overlaps 127.0.0.0/8, which is loopback;"},
		{"10.0.2.0/24", "overlaps 10.0.2.0/24, which the VPC's uplink (slirp4netns) uses inside the VPC's namespace;"},
		{"169.254.1.0/24", "which is link-local;"},
	}
	for _, tc := range tests {
		got, err := ParseAliasRange(tc.cidr, vpc)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.cidr, err)
		case tc.wantErr == "" && got.String() != tc.cidr:
			t.Errorf("%s: parsed as %s", tc.cidr, got)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one saying %q", tc.cidr, err, tc.wantErr)
		case tc.wantErr != "" && !strings.Contains(err.Error(), "use"):
			t.Errorf("%s: error %q does not say what to use", tc.cidr, err)
		}
	}
}

// TestNextFreeVIP: the first free host address after the last one handed out, wrapping around;
// never the network or broadcast address.
func TestNextFreeVIP(t *testing.T) {
	a := netip.MustParseAddr
	p := netip.MustParsePrefix("10.0.1.0/29") // hosts .1 to .6
	tests := []struct {
		name   string
		used   []string
		last   string
		want   string
		wantOK bool
	}{
		{"empty range, no last", nil, "", "10.0.1.1", true},
		{"after the last", []string{"10.0.1.1"}, "10.0.1.1", "10.0.1.2", true},
		{"a freed address is not reused before the wrap", []string{"10.0.1.2"}, "10.0.1.3", "10.0.1.4", true},
		{"wraps to the start", []string{"10.0.1.6"}, "10.0.1.6", "10.0.1.1", true},
		{"skips used ones while wrapping", []string{"10.0.1.1", "10.0.1.2", "10.0.1.6"}, "10.0.1.5", "10.0.1.3", true},
		{"last outside the range", nil, "10.0.9.9", "10.0.1.1", true},
		{"full", []string{"10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.1.5", "10.0.1.6"}, "10.0.1.3", "", false},
	}
	for _, tc := range tests {
		used := map[netip.Addr]bool{}
		for _, u := range tc.used {
			used[a(u)] = true
		}
		var last netip.Addr
		if tc.last != "" {
			last = a(tc.last)
		}
		got, ok := nextFreeVIP(p, used, last)
		if ok != tc.wantOK || (ok && got.String() != tc.want) {
			t.Errorf("%s: got %v %v, want %s %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// aliasesByName is every stored alias by name.
func aliasesByName(t *testing.T, st *store.Store) map[string]Alias {
	t.Helper()
	out := map[string]Alias{}
	if err := st.View(func(tx *store.Tx) error {
		all, err := storedAliases(tx)
		for _, a := range all {
			out[a.Name] = *a
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSetAliases: a name gets the next free VIP of the range and keeps it across updates of its
// ports; names given up are removed; one name may have several ports, from one service or from
// several (each keeps its own ports through the others' updates, and the name its address while
// any service gives it); a full range is refused naming the member; another range adopted at
// start re-addresses the aliases outside it, and a record written before VIPs gets one.
func TestSetAliases(t *testing.T) {
	st := openStore(t)
	const web, api = "arn:aws:ecs:us-east-1:0:service/c/web", "arn:aws:ecs:us-east-1:0:service/c/api"
	set := func(owner string, aliases ...ClientAlias) error {
		return st.Update(func(tx *store.Tx) error { return SetAliases(tx, owner, aliases) })
	}
	adopt := func(cidr string) netip.Prefix {
		var prev netip.Prefix
		if err := st.Update(func(tx *store.Tx) error {
			var err error
			prev, err = AdoptAliasRange(tx, netip.MustParsePrefix(cidr))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return prev
	}
	if prev := adopt("10.0.1.0/29"); prev.IsValid() {
		t.Errorf("first adoption: previous range %s, want none", prev)
	}
	steps := []struct {
		name    string
		owner   string
		aliases []ClientAlias
		want    map[string]Alias
		wantErr string
	}{
		{"two names with two ports on one", web, []ClientAlias{
			{Name: "Web.Shop.", Port: 80, ServiceID: "srv-http"}, {Name: "web.shop", Port: 9090, ServiceID: "srv-metrics"},
			{Name: "web-admin.shop", Port: 8443, ServiceID: "srv-http"},
		}, map[string]Alias{
			"web.shop":       {Name: "web.shop", VIP: "10.0.1.1", Ports: []AliasPort{{80, "srv-http", web}, {9090, "srv-metrics", web}}},
			"web-admin.shop": {Name: "web-admin.shop", VIP: "10.0.1.2", Ports: []AliasPort{{8443, "srv-http", web}}},
		}, ""},
		{"another owner's name", api, []ClientAlias{{Name: "api.shop", Port: 80, ServiceID: "srv-api"}}, map[string]Alias{
			"web.shop":       {Name: "web.shop", VIP: "10.0.1.1", Ports: []AliasPort{{80, "srv-http", web}, {9090, "srv-metrics", web}}},
			"web-admin.shop": {Name: "web-admin.shop", VIP: "10.0.1.2", Ports: []AliasPort{{8443, "srv-http", web}}},
			"api.shop":       {Name: "api.shop", VIP: "10.0.1.3", Ports: []AliasPort{{80, "srv-api", api}}},
		}, ""},
		{"an update keeps the VIP, changes the port, frees the name given up", web, []ClientAlias{{Name: "web.shop", Port: 8080, ServiceID: "srv-http"}}, map[string]Alias{
			"web.shop": {Name: "web.shop", VIP: "10.0.1.1", Ports: []AliasPort{{8080, "srv-http", web}}},
			"api.shop": {Name: "api.shop", VIP: "10.0.1.3", Ports: []AliasPort{{80, "srv-api", api}}},
		}, ""},
		{"a new name takes the next address, not the one just freed", web, []ClientAlias{
			{Name: "web.shop", Port: 8080, ServiceID: "srv-http"}, {Name: "www.shop", Port: 80, ServiceID: "srv-http"},
		}, map[string]Alias{
			"web.shop": {Name: "web.shop", VIP: "10.0.1.1", Ports: []AliasPort{{8080, "srv-http", web}}},
			"www.shop": {Name: "www.shop", VIP: "10.0.1.4", Ports: []AliasPort{{80, "srv-http", web}}},
			"api.shop": {Name: "api.shop", VIP: "10.0.1.3", Ports: []AliasPort{{80, "srv-api", api}}},
		}, ""},
		{"another owner shares a name on another port, at its address", api, []ClientAlias{
			{Name: "api.shop", Port: 80, ServiceID: "srv-api"}, {Name: "web.shop", Port: 9090, ServiceID: "srv-api"},
		}, map[string]Alias{
			"web.shop": {Name: "web.shop", VIP: "10.0.1.1", Ports: []AliasPort{{8080, "srv-http", web}, {9090, "srv-api", api}}},
			"www.shop": {Name: "www.shop", VIP: "10.0.1.4", Ports: []AliasPort{{80, "srv-http", web}}},
			"api.shop": {Name: "api.shop", VIP: "10.0.1.3", Ports: []AliasPort{{80, "srv-api", api}}},
		}, ""},
		{"an owner's update keeps the other owner's port", web, []ClientAlias{
			{Name: "web.shop", Port: 8081, ServiceID: "srv-http"}, {Name: "www.shop", Port: 80, ServiceID: "srv-http"},
		}, map[string]Alias{
			"web.shop": {Name: "web.shop", VIP: "10.0.1.1", Ports: []AliasPort{{8081, "srv-http", web}, {9090, "srv-api", api}}},
			"www.shop": {Name: "www.shop", VIP: "10.0.1.4", Ports: []AliasPort{{80, "srv-http", web}}},
			"api.shop": {Name: "api.shop", VIP: "10.0.1.3", Ports: []AliasPort{{80, "srv-api", api}}},
		}, ""},
		{"a full range is refused naming the member", api, []ClientAlias{
			{Name: "api.shop", Port: 80, ServiceID: "srv-api"}, {Name: "a1", Port: 1, ServiceID: "s"}, {Name: "a2", Port: 1, ServiceID: "s"},
			{Name: "a3", Port: 1, ServiceID: "s"}, {Name: "a4", Port: 1, ServiceID: "s", Member: "serviceConnectConfiguration.services[0].clientAliases[4]"},
		}, nil, "serviceConnectConfiguration.services[0].clientAliases[4].dnsName: a4: the Service Connect range 10.0.1.0/29 has 6 addresses, one per client alias name; this request asks for 5 names and other services' client aliases hold 2"},
		{"deleting a service frees its names and ports; a name another service still gives keeps its address", web, nil, map[string]Alias{
			"web.shop": {Name: "web.shop", VIP: "10.0.1.1", Ports: []AliasPort{{9090, "srv-api", api}}},
			"api.shop": {Name: "api.shop", VIP: "10.0.1.3", Ports: []AliasPort{{80, "srv-api", api}}},
		}, ""},
		{"deleting the other frees the name", api, nil, map[string]Alias{}, ""},
	}
	for _, s := range steps {
		err := set(s.owner, s.aliases...)
		if s.wantErr != "" {
			if err == nil || !errors.Is(err, ErrAliasRangeFull) || !strings.Contains(err.Error(), s.wantErr) || !strings.Contains(err.Error(), "--service-connect-cidr") {
				t.Fatalf("%s: error %v, want ErrAliasRangeFull saying %q and naming the flag", s.name, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, aliasesByName(t, st)); diff != "" {
			t.Fatalf("%s: stored aliases (-want +got):\n%s", s.name, diff)
		}
	}

	// A record written before aliases had VIPs, and a new range at start.
	if err := st.Update(func(tx *store.Tx) error {
		return tx.CloudMapPut(aliasKey("old.shop"), Alias{Name: "old.shop", Owner: web, ServiceID: "srv-old", Port: 8080})
	}); err != nil {
		t.Fatal(err)
	}
	if prev := adopt("10.0.1.0/29"); prev.String() != "10.0.1.0/29" {
		t.Errorf("previous range %s, want 10.0.1.0/29", prev)
	}
	if got := aliasesByName(t, st)["old.shop"]; got.VIP != "10.0.1.5" || got.ServiceID != "" || len(got.Ports) != 1 || got.Ports[0] != (AliasPort{8080, "srv-old", web}) {
		t.Errorf("an alias stored before VIPs after the start: %+v, want VIP 10.0.1.5 and its one port", got)
	}
	if prev := adopt("192.168.50.0/24"); prev.String() != "10.0.1.0/29" {
		t.Errorf("previous range %s, want 10.0.1.0/29", prev)
	}
	for name, a := range aliasesByName(t, st) {
		if vip := netip.MustParseAddr(a.VIP); !netip.MustParsePrefix("192.168.50.0/24").Contains(vip) {
			t.Errorf("%s kept %s outside the new range", name, vip)
		}
	}
	var listeners []AliasListener
	if err := st.View(func(tx *store.Tx) error {
		var err error
		listeners, err = AliasListeners(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(listeners) != 1 || listeners[0].Name != "old.shop" || listeners[0].Address.Port() != 8080 {
		t.Errorf("listeners %+v, want old.shop:8080", listeners)
	}
}
