package translate

import (
	"context"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

const testRole = "arn:aws:iam::123456789012:role/nodeless-task-execution"

// TestLogConfiguration: Options.Logs becomes an awslogs logConfiguration on every container (init
// containers and sidecars too) and Options.ExecutionRoleArn the task definition's
// executionRoleArn, as ECS documents the driver's options.
func TestLogConfiguration(t *testing.T) {
	tests := []struct {
		name      string
		namespace string
		opts      Options
		wantRole  string
		want      *ecstypes.LogConfiguration
	}{
		{name: "no logs, no role: the local data plane's files", namespace: "shop"},
		{name: "role alone", namespace: "shop", opts: Options{ExecutionRoleArn: testRole}, wantRole: testRole},
		{
			name: "awslogs", namespace: "shop",
			opts:     Options{ExecutionRoleArn: testRole, Logs: &AWSLogs{Group: "/nodeless/prod", Region: "eu-west-1"}},
			wantRole: testRole,
			want: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/nodeless/prod", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "shop"}},
		},
		{
			name: "awslogs creating its group", namespace: "batch",
			opts:     Options{ExecutionRoleArn: testRole, Logs: &AWSLogs{Group: "team-a", Region: "us-east-1", CreateGroup: true}},
			wantRole: testRole,
			want: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "team-a", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "batch", "awslogs-create-group": "true"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := rsPod("web-5d8f7c-x7k2p", "0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f")
			pod.Namespace = tt.namespace
			pod.Spec.InitContainers = []corev1.Container{
				{Name: "migrate", Image: "busybox"},
				{Name: "proxy", Image: "envoy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)},
			}
			tr := mustTranslate(t, pod, tt.opts)
			if got := aws.ToString(tr.TaskDefinition.ExecutionRoleArn); got != tt.wantRole {
				t.Errorf("executionRoleArn %q, want %q", got, tt.wantRole)
			}
			if n := len(tr.TaskDefinition.ContainerDefinitions); n != 3 {
				t.Fatalf("%d containers, want 3", n)
			}
			for _, c := range tr.TaskDefinition.ContainerDefinitions {
				if d := diffJSON(t, tt.want, c.LogConfiguration); d != "" {
					t.Errorf("container %s: logConfiguration (-want +got):\n%s", aws.ToString(c.Name), d)
				}
			}
		})
	}
}

// TestLogConfigurationSharedByTemplate: the stream prefix is the namespace, never per Pod, so
// two Pods of one ReplicaSet still share one revision.
func TestLogConfigurationSharedByTemplate(t *testing.T) {
	opts := Options{ExecutionRoleArn: testRole, Logs: &AWSLogs{Group: "/nodeless/prod", Region: "eu-west-1"}}
	a := mustTranslate(t, rsPod("web-5d8f7c-aaaaa", "uid-a"), opts)
	b := mustTranslate(t, rsPod("web-5d8f7c-bbbbb", "uid-b"), opts)
	if a.Revision != b.Revision {
		t.Errorf("revisions differ: %+v and %+v", a.Revision, b.Revision)
	}
	plain := mustTranslate(t, rsPod("web-5d8f7c-aaaaa", "uid-a"), Options{})
	if plain.Revision.Hash == a.Revision.Hash {
		t.Error("the log configuration does not change the revision's hash")
	}
}

// TestBadLogOptions: awslogs without what ECS needs is refused, naming what to give.
func TestBadLogOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no execution role", Options{Logs: &AWSLogs{Group: "g", Region: "eu-west-1"}}, "task execution role"},
		{"no region", Options{ExecutionRoleArn: testRole, Logs: &AWSLogs{Group: "g"}}, "region"},
		{"no group", Options{ExecutionRoleArn: testRole, Logs: &AWSLogs{Region: "eu-west-1"}}, "log group"},
		{"bad group", Options{ExecutionRoleArn: testRole, Logs: &AWSLogs{Group: "has space", Region: "eu-west-1"}}, "letters, digits"},
		{"long group", Options{ExecutionRoleArn: testRole, Logs: &AWSLogs{Group: strings.Repeat("g", 513), Region: "eu-west-1"}}, "1 to 512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Translate(rsPod("p", "u"), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestStreamName(t *testing.T) {
	got := []string{StreamName(StreamPrefix("shop"), "app", "0f3c"), StreamName(StreamPrefix(""), "app", "0f3c")}
	if d := cmp.Diff([]string{"shop/app/0f3c", "default/app/0f3c"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestAWSLogsRoundTrip: a task definition with awslogs conforms to the ECS model, and the local
// data plane accepts it and reports the log configuration and execution role as sent (it keeps
// writing its own log files whatever the driver).
func TestAWSLogsRoundTrip(t *testing.T) {
	opts := Options{Arch: goruntime.GOARCH, ExecutionRoleArn: testRole, Logs: &AWSLogs{Group: "/nodeless/prod", Region: "us-east-1", CreateGroup: true}}
	tr := mustTranslate(t, rsPod("web-5d8f7c-x7k2p", "0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"), opts)
	checkModel(t, "RegisterTaskDefinition", func(c *ecs.Client) error {
		_, err := c.RegisterTaskDefinition(context.Background(), tr.TaskDefinition)
		return err
	})
	dp := newDataPlane(t)
	arn := dp.register(t, tr.TaskDefinition)
	out, err := dp.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.TaskDefinition.ExecutionRoleArn); got != testRole {
		t.Errorf("executionRoleArn %q, want %q", got, testRole)
	}
	for i, c := range out.TaskDefinition.ContainerDefinitions {
		if d := diffJSON(t, tr.TaskDefinition.ContainerDefinitions[i].LogConfiguration, c.LogConfiguration); d != "" {
			t.Errorf("container %s: logConfiguration as described (-sent +described):\n%s", aws.ToString(c.Name), d)
		}
	}
}
