package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/pod"
)

func TestPodFlags(t *testing.T) {
	node := nodeFlags{name: "nodeless"}
	tests := []struct {
		name     string
		f        podFlags
		endpoint string
		want     *pod.Options
		wantErr  string
	}{
		{name: "AWS without subnets: the Cluster object's", f: podFlags{cluster: "c"},
			want: &pod.Options{NodeName: "nodeless", Cluster: "c", FirstPollInterval: time.Second}},
		{name: "an ECS-compatible endpoint needs none", f: podFlags{cluster: "c"}, endpoint: "http://127.0.0.1:8944",
			want: &pod.Options{NodeName: "nodeless", Cluster: "c"}},
		{name: "awsvpc from the flags", f: podFlags{cluster: "c", subnets: []string{"subnet-1"}, securityGroups: []string{"sg-1"}, assignPublicIP: true, execute: true},
			want: &pod.Options{NodeName: "nodeless", Cluster: "c", Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"}, AssignPublicIP: true, EnableExecuteCommand: true, FirstPollInterval: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.options(node, tt.endpoint)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLeaderFlags(t *testing.T) {
	defaults := leaderFlags{enabled: true, id: DefaultLeaderElectionID, leaseDuration: 15 * time.Second, renewDeadline: 10 * time.Second, retryPeriod: 2 * time.Second}
	inCluster := func(string) ([]byte, error) { return []byte("nodeless-system\n"), nil }
	outside := func(string) ([]byte, error) { return nil, os.ErrNotExist }
	with := func(change func(*leaderFlags)) leaderFlags { f := defaults; change(&f); return f }
	tests := []struct {
		name     string
		f        leaderFlags
		readFile func(string) ([]byte, error)
		want     *controller.LeaderElection
		wantErr  string
	}{
		{name: "off", f: leaderFlags{}, readFile: outside},
		{name: "the Pod's namespace by default", f: defaults, readFile: inCluster,
			want: &controller.LeaderElection{Namespace: "nodeless-system", ID: DefaultLeaderElectionID, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}},
		{name: "the flag wins", f: with(func(f *leaderFlags) { f.namespace = "ops" }), readFile: inCluster,
			want: &controller.LeaderElection{Namespace: "ops", ID: DefaultLeaderElectionID, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}},
		{name: "outside a cluster the namespace is required", f: defaults, readFile: outside, wantErr: "--leader-election-namespace"},
		{name: "an id is required", f: with(func(f *leaderFlags) { f.id = "" }), readFile: inCluster, wantErr: "--leader-election-id"},
		{name: "timings in order", f: with(func(f *leaderFlags) { f.renewDeadline = time.Minute }), readFile: inCluster, wantErr: "must hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.config(tt.readFile)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("leader election (-want +got):\n%s", diff)
			}
		})
	}
}
