package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

const role = "arn:aws:iam::123456789012:role/nodeless-task-execution"

// TestPodLogFlags: the --pod-log-* and --pod-execution-role-arn flags become the Pods' task
// execution role and awslogs configuration; awslogs without a role is left to the Cluster object.
func TestPodLogFlags(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	tests := []struct {
		name     string
		args     []string
		endpoint string
		wantRole string
		want     *translate.AWSLogs
		wantErr  string
	}{
		// The role may come from the Cluster object (pod.ReasonNoExecutionRole otherwise).
		{name: "AWS: awslogs by default, role left to the Cluster object", want: &translate.AWSLogs{Group: "/nodeless/prod", Region: "eu-west-1"}},
		{name: "AWS: awslogs by default", args: []string{"--pod-execution-role-arn", role}, wantRole: role,
			want: &translate.AWSLogs{Group: "/nodeless/prod", Region: "eu-west-1"}},
		{name: "AWS: every option", args: []string{"--pod-execution-role-arn", role, "--pod-log-group", "team-a", "--pod-log-region", "us-west-2", "--pod-log-create-group"},
			wantRole: role, want: &translate.AWSLogs{Group: "team-a", Region: "us-west-2", CreateGroup: true}},
		{name: "AWS: none", args: []string{"--pod-log-driver", "none"}},
		{name: "endpoint: none by default", endpoint: "http://127.0.0.1:4566", args: []string{"--pod-execution-role-arn", role}, wantRole: role},
		{name: "endpoint: awslogs asked for", endpoint: "http://127.0.0.1:4566", args: []string{"--pod-log-driver", "awslogs", "--pod-execution-role-arn", role},
			wantRole: role, want: &translate.AWSLogs{Group: "/nodeless/prod", Region: "eu-west-1"}},
		{name: "endpoint: awslogs without a role", endpoint: "http://127.0.0.1:4566", args: []string{"--pod-log-driver", "awslogs"},
			want: &translate.AWSLogs{Group: "/nodeless/prod", Region: "eu-west-1"}},
		{name: "unknown driver", args: []string{"--pod-log-driver", "json-file"}, wantErr: "--pod-log-driver must be awslogs or none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f podLogFlags
			fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
			f.add(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			opts := &pod.Options{Cluster: "prod"}
			err := f.apply(context.Background(), opts, ecsapi.Options{Endpoint: tt.endpoint}, tt.endpoint)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.ExecutionRoleArn != tt.wantRole {
				t.Errorf("execution role %q, want %q", opts.ExecutionRoleArn, tt.wantRole)
			}
			if d := cmp.Diff(tt.want, opts.Logs); d != "" {
				t.Errorf("logs (-want +got):\n%s", d)
			}
			// What the flags make, the Pod controller accepts (with the Cluster object's role
			// where the flags give none).
			execRole := opts.ExecutionRoleArn
			if execRole == "" && opts.Logs != nil {
				execRole = "arn:aws:iam::123456789012:role/from-the-cluster-object"
			}
			if _, err := translate.Translate(rsPodForFlags(), translate.Options{ExecutionRoleArn: execRole, Logs: opts.Logs}); err != nil {
				t.Errorf("translating with these options: %v", err)
			}
		})
	}
}

// TestAWSLogsFlags: `nodeless logs --aws` maps its flags to the reader's options and names the
// task in --cluster; without --aws, the options only it honours are refused.
func TestAWSLogsFlags(t *testing.T) {
	var f awsLogsFlags
	fs := pflag.NewFlagSet("logs", pflag.ContinueOnError)
	f.add(fs)
	if err := fs.Parse([]string{"--aws", "--cluster", "prod", "--tail", "20", "--since", "5m", "--timestamps", "--limit-bytes", "4096"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	want := taskhost.LogOptions{Follow: true, Tail: 20, SinceTime: now.Add(-5 * time.Minute), Timestamps: true, LimitBytes: 4096}
	if d := cmp.Diff(want, f.options(true, now)); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
	arn := "arn:aws:ecs:eu-west-1:123456789012:task/prod/0abc"
	if d := cmp.Diff(taskhost.Task{Cluster: "prod", TaskArn: arn, ID: "0abc"}, f.task(arn)); d != "" {
		t.Errorf("task of an ARN (-want +got):\n%s", d)
	}
	if d := cmp.Diff(taskhost.Task{Cluster: "prod", ID: "0abc"}, f.task("0abc")); d != "" {
		t.Errorf("task of an ID (-want +got):\n%s", d)
	}

	var local awsLogsFlags
	lfs := pflag.NewFlagSet("logs", pflag.ContinueOnError)
	local.add(lfs)
	if err := lfs.Parse([]string{"--tail", "3"}); err != nil {
		t.Fatal(err)
	}
	if err := local.checkLocal(lfs); err == nil || !strings.Contains(err.Error(), "--tail needs --aws") {
		t.Errorf("--tail without --aws: %v", err)
	}
}

func rsPodForFlags() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"},
		Spec:       corev1.PodSpec{NodeName: translate.DefaultNodeName, Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}
}
