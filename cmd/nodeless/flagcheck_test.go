package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Values the components would silently replace with their defaults (a zero or negative
// duration, size or count) are refused before anything starts, naming the flag.
func TestUpRefusesValuesThatWouldBeReplacedByDefaults(t *testing.T) {
	tests := []struct {
		args []string
		want string // "" for no error
	}{
		{nil, ""},
		{[]string{"--healthy-after-running", "1s", "--deregistration-delay", "1s", "--log-max-size", "1", "--log-max-files", "1"}, ""},
		{[]string{"--healthy-after-running", "0s"}, "--healthy-after-running"},
		{[]string{"--healthy-after-running", "-5s"}, "--healthy-after-running"},
		{[]string{"--deregistration-delay", "0s"}, "--deregistration-delay"},
		{[]string{"--deregistration-delay", "-1s"}, "--deregistration-delay"},
		{[]string{"--deregistration-delay", "2h"}, "--deregistration-delay"},
		{[]string{"--log-max-size", "0"}, "--log-max-size"},
		{[]string{"--log-max-size", "-1"}, "--log-max-size"},
		{[]string{"--log-max-files", "-3"}, "--log-max-files"},
		{[]string{"--spare-namespaces", "0"}, ""},
		{[]string{"--spare-namespaces", "-1"}, "--spare-namespaces"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := newUpCmd()
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			err := checkUpFlags(cmd.Flags())
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestDataplaneRefusesAHealthyAfterRunningThatWouldBeReplaced(t *testing.T) {
	for args, wantErr := range map[string]bool{"1s": false, "0s": true, "-1s": true} {
		cmd := newDataplaneCmd()
		if err := cmd.ParseFlags([]string{"--healthy-after-running", args}); err != nil {
			t.Fatal(err)
		}
		if err := checkDataplaneFlags(cmd.Flags()); (err != nil) != wantErr {
			t.Errorf("--healthy-after-running %s: error %v, want error %v", args, err, wantErr)
		}
	}
}

// --spare-namespaces 0 means none, which dataplane.Options spells as a negative count (its 0 is
// the default); a negative flag value is refused.
func TestSpareNamespacesFlag(t *testing.T) {
	for _, tt := range []struct {
		flag       string
		wantErr    bool
		wantOption int
	}{
		{flag: "8", wantOption: 8},
		{flag: "0", wantOption: -1},
		{flag: "-2", wantErr: true},
	} {
		cmd := newDataplaneCmd()
		if err := cmd.ParseFlags([]string{"--spare-namespaces", tt.flag}); err != nil {
			t.Fatal(err)
		}
		if err := checkDataplaneFlags(cmd.Flags()); (err != nil) != tt.wantErr {
			t.Errorf("--spare-namespaces %s: error %v, want error %v", tt.flag, err, tt.wantErr)
		}
		n, _ := cmd.Flags().GetInt("spare-namespaces")
		if got := spareNamespacesOption(n); !tt.wantErr && got != tt.wantOption {
			t.Errorf("--spare-namespaces %s: option %d, want %d", tt.flag, got, tt.wantOption)
		}
	}
}

// The ranges of the local VPC, the region and the virtual node's capacity are refused before
// anything starts (up, dataplane, controller), by the parsers the data plane and the node apply
// later; the error names the flag, the value and what to give.
func TestRangesRegionAndCapacityRefusedUpFront(t *testing.T) {
	up, dataplane, controller := newUpCmd, newDataplaneCmd, newControllerCmd
	tests := []struct {
		name  string
		cmd   func() *cobra.Command
		check func(*pflag.FlagSet) error
		args  []string
		want  []string // substrings of the error; none for no error
	}{
		{"up defaults", up, checkUpFlags, nil, nil},
		{"dataplane defaults", dataplane, checkDataplaneFlags, nil, nil},
		{"vpc-cidr not a CIDR", up, checkUpFlags, []string{"--vpc-cidr", "10.244.0.0"}, []string{"--vpc-cidr", `"10.244.0.0"`, "such as 10.244.0.0/16"}},
		{"vpc-cidr not a CIDR, dataplane", dataplane, checkDataplaneFlags, []string{"--vpc-cidr", "big"}, []string{"--vpc-cidr", `"big"`, "such as 10.244.0.0/16"}},
		{"vpc-cidr IPv6", dataplane, checkDataplaneFlags, []string{"--vpc-cidr", "fd00::/64"}, []string{"--vpc-cidr", "fd00::/64", "IPv4 only"}},
		{"vpc-cidr too small", up, checkUpFlags, []string{"--vpc-cidr", "10.50.0.0/30"}, []string{"--vpc-cidr", "10.50.0.0/30", "from /8 to /28"}},
		{"vpc-cidr host bits", up, checkUpFlags, []string{"--vpc-cidr", "10.50.0.1/16"}, []string{"--vpc-cidr", "10.50.0.1/16", "network address 10.50.0.0/16"}},
		{"vpc-cidr loopback", dataplane, checkDataplaneFlags, []string{"--vpc-cidr", "127.0.0.0/16"}, []string{"--vpc-cidr", "127.0.0.0/16", "loopback"}},
		{"vpc-cidr uplink", up, checkUpFlags, []string{"--vpc-cidr", "10.0.2.0/24"}, []string{"--vpc-cidr", "10.0.2.0/24", "uplink"}},
		{"vpc-cidr elsewhere", up, checkUpFlags, []string{"--vpc-cidr", "10.50.0.0/16"}, nil},
		{"vpc-cidr is the Service range", up, checkUpFlags, []string{"--vpc-cidr", "10.0.0.0/24"}, []string{"--vpc-cidr", "10.0.0.0/24", "Service range 10.0.0.0/24", "such as 10.244.0.0/16"}},
		{"vpc-cidr in up's Service range, dataplane", dataplane, checkDataplaneFlags, []string{"--vpc-cidr", "10.0.0.0/25"}, nil},
		{"service-connect-cidr not a CIDR", dataplane, checkDataplaneFlags, []string{"--service-connect-cidr", "10.0.1.0"}, []string{"--service-connect-cidr", `"10.0.1.0"`, "such as 10.0.1.0/24"}},
		{"service-connect-cidr in the VPC", up, checkUpFlags, []string{"--service-connect-cidr", "10.244.7.0/24"}, []string{"--service-connect-cidr", "10.244.7.0/24", "VPC's subnet 10.244.0.0/16"}},
		{"service-connect-cidr in a moved VPC", dataplane, checkDataplaneFlags, []string{"--vpc-cidr", "10.50.0.0/16", "--service-connect-cidr", "10.50.1.0/24"}, []string{"--service-connect-cidr", "10.50.1.0/24", "VPC's subnet 10.50.0.0/16"}},
		{"service-connect-cidr too small", dataplane, checkDataplaneFlags, []string{"--service-connect-cidr", "10.0.1.0/31"}, []string{"--service-connect-cidr", "10.0.1.0/31", "prefix length"}},
		{"service-connect-cidr in the Service range", up, checkUpFlags, []string{"--service-connect-cidr", "10.0.0.128/25"}, []string{"--service-connect-cidr", "10.0.0.128/25", "Service range"}},
		// The Service range is up's: the data plane alone has none.
		{"service-connect-cidr in up's Service range, dataplane", dataplane, checkDataplaneFlags, []string{"--service-connect-cidr", "10.0.0.128/25"}, nil},
		{"both ranges bad", up, checkUpFlags, []string{"--vpc-cidr", "x", "--service-connect-cidr", "y"}, []string{"--vpc-cidr", "--service-connect-cidr"}},
		{"node-pods zero", up, checkUpFlags, []string{"--node-pods", "0"}, []string{"--node-pods", `"0"`, "positive whole number"}},
		{"node-pods negative", up, checkUpFlags, []string{"--node-pods", "-3"}, []string{"--node-pods", `"-3"`, "positive whole number"}},
		{"node-pods fraction", up, checkUpFlags, []string{"--node-pods", "1.5"}, []string{"--node-pods", `"1.5"`, "positive whole number"}},
		{"node-pods word", up, checkUpFlags, []string{"--node-pods", "many"}, []string{"--node-pods", `"many"`, "positive whole number"}},
		{"node-cpu word", up, checkUpFlags, []string{"--node-cpu", "lots"}, []string{"--node-cpu", `"lots"`, "positive Kubernetes quantity"}},
		{"node-cpu zero", up, checkUpFlags, []string{"--node-cpu", "0"}, []string{"--node-cpu", `"0"`, "positive Kubernetes quantity"}},
		{"node-cpu negative", up, checkUpFlags, []string{"--node-cpu", "-4"}, []string{"--node-cpu", `"-4"`, "positive Kubernetes quantity"}},
		{"node-cpu and node-memory", up, checkUpFlags, []string{"--node-cpu", "4x", "--node-memory", "lots"}, []string{"--node-cpu", `"4x"`, "--node-memory", `"lots"`}},
		{"node-ephemeral-storage", up, checkUpFlags, []string{"--node-ephemeral-storage", "1TB"}, []string{"--node-ephemeral-storage", `"1TB"`, "such as 64 or 256Gi"}},
		{"controller defaults", controller, checkControllerFlags, nil, nil},
		{"controller region", controller, checkControllerFlags, []string{"--region", "US_EAST_1"}, []string{"--region", `"US_EAST_1"`, "us-east-1"}},
		{"controller node-cpu", controller, checkControllerFlags, []string{"--node-cpu", "0"}, []string{"--node-cpu", `"0"`, "positive Kubernetes quantity"}},
		{"controller region given", controller, checkControllerFlags, []string{"--region", "eu-west-3"}, nil},
		{"node capacity given", up, checkUpFlags, []string{"--node-pods", "20", "--node-cpu", "64", "--node-memory", "256Gi", "--node-ephemeral-storage", "2Ti"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := tt.cmd()
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			err := tt.check(cmd.Flags())
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one saying %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want it to say %q", err, w)
				}
			}
		})
	}
}

// --region is refused up front unless it is shaped like an AWS Region's name (regionName); the
// error names the flag and the value and gives an example.
func TestRegionShape(t *testing.T) {
	tests := []struct {
		region string
		ok     bool
	}{
		{"us-east-1", true},
		{"eu-central-2", true},
		{"ap-southeast-5", true},
		{"us-gov-west-1", true},
		{"cn-north-1", true},
		{"us-isob-east-1", true},
		{"eusc-de-east-1", true},
		{"", false},
		{"US-EAST-1", false},
		{"us-east", false},
		{"useast1", false},
		{"us-east-1a", false}, // an Availability Zone
		{"us_east_1", false},
		{"us-east-1 ", false},
		{"-us-east-1", false},
		{"us--east-1", false},
		{"arn:aws:ecs:us-east-1", false},
	}
	for _, tt := range tests {
		for name, c := range map[string]struct {
			cmd   func() *cobra.Command
			check func(*pflag.FlagSet) error
		}{"up": {newUpCmd, checkUpFlags}, "dataplane": {newDataplaneCmd, checkDataplaneFlags}} {
			t.Run(name+" "+tt.region, func(t *testing.T) {
				cmd := c.cmd()
				if err := cmd.ParseFlags([]string{"--region", tt.region}); err != nil {
					t.Fatal(err)
				}
				err := c.check(cmd.Flags())
				switch {
				case tt.ok && err != nil:
					t.Errorf("error %v, want none", err)
				case !tt.ok && err == nil:
					t.Error("no error, want one")
				case !tt.ok:
					for _, w := range []string{"--region", strconv.Quote(tt.region), "such as us-east-1"} {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q, want it to say %s", err, w)
						}
					}
				}
			})
		}
	}
}
