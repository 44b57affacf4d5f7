package main

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
)

func TestDataplaneFlags(t *testing.T) {
	cmd := newDataplaneCmd()
	for name, want := range map[string]string{"address": "127.0.0.1:8944", "region": "us-east-1", "account": "000000000000",
		"vpc-cidr": "10.244.0.0/16", "service-connect-cidr": "10.0.1.0/24"} {
		if got := cmd.Flags().Lookup(name).DefValue; got != want {
			t.Errorf("--%s defaults to %q, want %q", name, got, want)
		}
	}
}

func TestDataplaneRefusesPortInUse(t *testing.T) {
	if err := dataplane.Preflight(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = runDataplane(context.Background(), &bytes.Buffer{}, dataplaneFlags{
		stateDir: t.TempDir(), address: l.Addr().String(), region: "us-east-1", account: "000000000000",
	})
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("runDataplane on a port in use: %v", err)
	}
}

func TestDataplaneRefusesABadVPCCIDR(t *testing.T) {
	_, err := dataplane.New(dataplane.Options{StateDir: t.TempDir(), Address: "127.0.0.1:0", VPCCIDR: "10.0.2.0/24"})
	if err == nil || !strings.Contains(err.Error(), "--vpc-cidr") || !strings.Contains(err.Error(), "uplink") {
		t.Fatalf("a VPC subnet overlapping the uplink's: %v", err)
	}
}

func TestDataplaneUsage(t *testing.T) {
	d, err := dataplane.New(dataplane.Options{StateDir: t.TempDir(), Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var out bytes.Buffer
	printDataplaneUsage(&out, d)
	for _, want := range []string{d.Endpoint(), d.CredentialsFile(), "AWS_PROFILE=nodeless", "--endpoint-url " + d.Endpoint()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

// TestServiceConnectCIDRRefused: a Service Connect range overlapping the VPC's subnet is refused by
// the data plane, one overlapping the Service range by up; both name the flag.
func TestServiceConnectCIDRRefused(t *testing.T) {
	_, err := dataplane.New(dataplane.Options{StateDir: t.TempDir(), Address: "127.0.0.1:0", ServiceConnectCIDR: "10.244.7.0/24"})
	if err == nil || !strings.Contains(err.Error(), "--service-connect-cidr") || !strings.Contains(err.Error(), "VPC's subnet") {
		t.Errorf("a Service Connect range inside the VPC's subnet: %v", err)
	}
	if err := outsideServiceRange("--service-connect-cidr", netip.MustParsePrefix("10.0.0.128/25"), cloudmap.DefaultAliasCIDR); err == nil || !strings.Contains(err.Error(), "--service-connect-cidr") || !strings.Contains(err.Error(), "Service range") {
		t.Errorf("a Service Connect range inside the Service range: %v", err)
	}
	if err := outsideServiceRange("--service-connect-cidr", netip.MustParsePrefix("10.0.1.0/24"), cloudmap.DefaultAliasCIDR); err != nil {
		t.Errorf("the default range: %v", err)
	}
}
