package pod

import (
	"strings"
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

// TestNeedsExecutionRole: a Pod whose task logs with awslogs waits for a task execution role,
// from the flags or the Cluster object, with a message naming both.
func TestNeedsExecutionRole(t *testing.T) {
	logs := &translate.AWSLogs{Group: "/nodeless/prod", Region: "eu-west-1"}
	for _, tt := range []struct {
		name string
		o    Options
		want bool
	}{
		{"local log files", Options{}, false},
		{"awslogs with the flags' role", Options{Logs: logs, ExecutionRoleArn: "role-flag"}, false},
		{"awslogs with the Cluster's role", Options{Logs: logs}.withClusterDefaultsOnly(fargate.Defaults{ExecutionRoleArn: "role-cl"}), false},
		{"awslogs without a role", Options{Cluster: "prod", Logs: logs}, true},
	} {
		p := tt.o.needsExecutionRole()
		if (p != nil) != tt.want {
			t.Errorf("%s: %v, want a problem: %v", tt.name, p, tt.want)
			continue
		}
		if p != nil {
			for _, part := range []string{"spec.defaults.executionRoleArn", "ECS cluster prod", "--pod-execution-role-arn", "/nodeless/prod"} {
				if !strings.Contains(p.Message, part) {
					t.Errorf("%s: message %q does not say %q", tt.name, p.Message, part)
				}
			}
			if p.Reason != ReasonNoExecutionRole || p.RequeueAfter <= 0 {
				t.Errorf("%s: reason %s, retry after %s; want %s and a retry", tt.name, p.Reason, p.RequeueAfter, ReasonNoExecutionRole)
			}
		}
	}
}

func (o Options) withClusterDefaultsOnly(d fargate.Defaults) Options {
	o, _ = o.withClusterDefaults(d)
	return o
}
