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
