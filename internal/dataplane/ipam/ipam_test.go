package ipam_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func mustSubnet(t *testing.T, cidr string) ipam.Subnet {
	t.Helper()
	s, err := ipam.ParseSubnet(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// allocate runs Allocate for each owner, each in its own transaction, and returns the addresses.
func allocate(t *testing.T, st *store.Store, s ipam.Subnet, owners ...string) []string {
	t.Helper()
	var out []string
	for _, o := range owners {
		err := st.Update(func(tx *store.Tx) error {
			a, err := s.Allocate(tx, o)
			out = append(out, a.String())
			return err
		})
		if err != nil {
			t.Fatalf("allocating for %s: %v", o, err)
		}
	}
	return out
}

func release(t *testing.T, st *store.Store, owners ...string) {
	t.Helper()
	for _, o := range owners {
		if err := st.Update(func(tx *store.Tx) error { return ipam.Release(tx, o) }); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseSubnet(t *testing.T) {
	tests := []struct {
		cidr, gateway, wantErr string
	}{
		{cidr: "10.244.0.0/16", gateway: "10.244.0.1"},
		{cidr: "172.31.0.0/16", gateway: "172.31.0.1"},
		{cidr: "192.168.77.0/28", gateway: "192.168.77.1"},
		{cidr: "10.0.0.0/8", wantErr: "overlaps 10.0.2.0/24"},
		{cidr: "10.0.2.0/24", wantErr: "overlaps 10.0.2.0/24, which the VPC's uplink (slirp4netns) uses inside the VPC's namespace;"},
		{cidr: "10.244.0.1/16", wantErr: "use the network address 10.244.0.0/16"},
		{cidr: "10.244.0.0/29", wantErr: "from /8 to /28"},
		{cidr: "10.0.0.0/7", wantErr: "from /8 to /28"},
		{cidr: "127.0.0.0/16", wantErr: "overlaps 127.0.0.0/8, which is loopback;"},
		{cidr: "169.254.0.0/16", wantErr: "which is link-local;"},
		{cidr: "0.0.0.0/16", wantErr: "which is the unspecified network;"},
		{cidr: "224.0.0.0/8", wantErr: "which is multicast or reserved;"},
		{cidr: "fd00::/64", wantErr: "IPv4 only"},
		{cidr: "10.244.0.0", wantErr: "not a CIDR block"},
		{cidr: "", wantErr: "not a CIDR block"},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			s, err := ipam.ParseSubnet(tt.cidr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSubnet(%q) = %v, want an error containing %q", tt.cidr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Gateway().String(); got != tt.gateway {
				t.Errorf("gateway %s, want %s", got, tt.gateway)
			}
		})
	}
	if _, err := ipam.ParseSubnet(ipam.DefaultCIDR); err != nil {
		t.Errorf("the default subnet does not parse: %v", err)
	}
}

func TestAllocateIsIdempotentAndRoundRobin(t *testing.T) {
	st, _ := openStore(t)
	s := mustSubnet(t, "10.9.0.0/28") // hands out .2 to .14
	got := allocate(t, st, s, "a", "b", "a", "c")
	if diff := cmp.Diff([]string{"10.9.0.2", "10.9.0.3", "10.9.0.2", "10.9.0.4"}, got); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	// b's address comes free, but the next task gets the address after the last one handed out.
	release(t, st, "b")
	if diff := cmp.Diff([]string{"10.9.0.5"}, allocate(t, st, s, "d")); diff != "" {
		t.Errorf("after a release (-want +got):\n%s", diff)
	}
}

func TestAllocateWrapsAndExhausts(t *testing.T) {
	st, _ := openStore(t)
	s := mustSubnet(t, "10.9.0.0/28")
	var owners []string
	for i := range 13 {
		owners = append(owners, string(rune('a'+i)))
	}
	got := allocate(t, st, s, owners...)
	if got[0] != "10.9.0.2" || got[12] != "10.9.0.14" {
		t.Fatalf("13 addresses of a /28: %v", got)
	}
	err := st.Update(func(tx *store.Tx) error { _, err := s.Allocate(tx, "late"); return err })
	if !errors.Is(err, ipam.ErrExhausted) {
		t.Fatalf("allocating in a full subnet: %v, want ErrExhausted", err)
	}
	// A freed address in the middle is found by wrapping around from the end.
	release(t, st, "e") // 10.9.0.6
	if diff := cmp.Diff([]string{"10.9.0.6"}, allocate(t, st, s, "late")); diff != "" {
		t.Errorf("after wrapping (-want +got):\n%s", diff)
	}
}

func TestAssignmentsSurviveReopen(t *testing.T) {
	st, path := openStore(t)
	s := mustSubnet(t, "10.9.0.0/24")
	first := allocate(t, st, s, "a", "b")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if diff := cmp.Diff(first, allocate(t, st2, s, "a", "b")); diff != "" {
		t.Errorf("addresses after reopening the store (-want +got):\n%s", diff)
	}
	var got netip.Addr
	var ok bool
	err = st2.View(func(tx *store.Tx) error {
		var err error
		got, ok, err = ipam.Lookup(tx, "b")
		return err
	})
	if err != nil || !ok || got.String() != first[1] {
		t.Errorf("Lookup(b) = %v %v %v, want %s", got, ok, err, first[1])
	}
}

func TestAllocateMovesAnAddressOutsideTheSubnet(t *testing.T) {
	st, _ := openStore(t)
	allocate(t, st, mustSubnet(t, "10.9.0.0/24"), "a")
	got := allocate(t, st, mustSubnet(t, "10.8.0.0/24"), "a")
	if diff := cmp.Diff([]string{"10.8.0.2"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var held []*store.AddressRecord
	_ = st.View(func(tx *store.Tx) error { var err error; held, err = tx.Addresses(); return err })
	if diff := cmp.Diff([]*store.AddressRecord{{Address: "10.8.0.2", Owner: "a"}}, held); diff != "" {
		t.Errorf("held addresses (-want +got):\n%s", diff)
	}
}

func TestAdopt(t *testing.T) {
	st, _ := openStore(t)
	a, b := mustSubnet(t, "10.9.0.0/24"), mustSubnet(t, "10.8.0.0/24")
	adopt := func(s ipam.Subnet) error { return st.Update(func(tx *store.Tx) error { return s.Adopt(tx) }) }
	if err := adopt(a); err != nil {
		t.Fatalf("first subnet: %v", err)
	}
	allocate(t, st, a, "task1")
	if err := adopt(a); err != nil {
		t.Fatalf("the same subnet again: %v", err)
	}
	err := adopt(b)
	if err == nil || !strings.Contains(err.Error(), "--vpc-cidr 10.9.0.0/24") || !strings.Contains(err.Error(), "task1") {
		t.Fatalf("another subnet while a task holds an address: %v", err)
	}
	release(t, st, "task1")
	if err := adopt(b); err != nil {
		t.Fatalf("another subnet once no task holds an address: %v", err)
	}
}

func TestMAC(t *testing.T) {
	tests := map[string]string{
		"10.244.0.5":     "0a:58:0a:f4:00:05",
		"192.168.77.254": "0a:58:c0:a8:4d:fe",
	}
	for addr, want := range tests {
		if got := ipam.MAC(netip.MustParseAddr(addr)).String(); got != want {
			t.Errorf("MAC(%s) = %s, want %s", addr, got, want)
		}
	}
}
