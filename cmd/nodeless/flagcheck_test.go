package main

import (
	"strings"
	"testing"
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
