package pod

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/fargate"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

func TestWithClusterDefaults(t *testing.T) {
	flags := Options{Subnets: []string{"subnet-flag"}, SecurityGroups: []string{"sg-flag"}, ExecutionRoleArn: "role-flag",
		Logs: &translate.AWSLogs{Group: "/nodeless/pods", Region: "eu-west-1"}}
	tests := []struct {
		name     string
		o        Options
		d        fargate.Defaults
		want     Options
		wantTook []string
	}{
		{"no Cluster defaults: the flags", flags, fargate.Defaults{}, flags, nil},
		{"member by member: the Cluster's subnets and role, the flags' security groups", flags,
			fargate.Defaults{Subnets: []string{"subnet-cl"}, ExecutionRoleArn: "role-cl", AssignPublicIp: "ENABLED"},
			Options{Subnets: []string{"subnet-cl"}, SecurityGroups: []string{"sg-flag"}, AssignPublicIP: true, ExecutionRoleArn: "role-cl",
				Logs: &translate.AWSLogs{Group: "/nodeless/pods", Region: "eu-west-1"}},
			[]string{"subnets", "assignPublicIp", "executionRoleArn"}},
		{"the log group where the Pods log with awslogs", flags, fargate.Defaults{LogGroup: "/prod"},
			Options{Subnets: []string{"subnet-flag"}, SecurityGroups: []string{"sg-flag"}, ExecutionRoleArn: "role-flag",
				Logs: &translate.AWSLogs{Group: "/prod", Region: "eu-west-1"}},
			[]string{"logGroup"}},
		{"a log group does not turn awslogs on", Options{}, fargate.Defaults{LogGroup: "/prod"}, Options{}, nil},
		{"equal to the flags: nothing taken", flags, fargate.Defaults{Subnets: []string{"subnet-flag"}, ExecutionRoleArn: "role-flag"}, flags, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, took := tt.o.withClusterDefaults(tt.d)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Options{})); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTook, took); diff != "" {
				t.Errorf("members taken (-want +got):\n%s", diff)
			}
		})
	}
	if flags.Logs.Group != "/nodeless/pods" {
		t.Errorf("the controller's own Logs changed: %+v", flags.Logs)
	}
}
