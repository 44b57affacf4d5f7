package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
		{name: "AWS needs subnets", f: podFlags{cluster: "c"}, wantErr: "--pod-subnets"},
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
