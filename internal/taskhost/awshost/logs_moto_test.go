package awshost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
	"github.com/nodeless-dev/nodeless/internal/logsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

const (
	testGroup  = "/nodeless/test"
	testPrefix = "shop"
)

// motoLogs is CloudWatch Logs served by moto_server and ECS served by the local data plane's own
// API server (ecsmem: moto's RunTask and DescribeTasks answers do not decode with the SDK), with
// a cluster, a task of two containers ("app" with awslogs, "quiet" without) and the log group.
type motoLogs struct {
	ecs          *ecs.Client
	logs         *cloudwatchlogs.Client
	task         taskhost.Task
	reader       *LogReader
	motoEndpoint string
}

func startMotoLogs(t *testing.T) *motoLogs {
	t.Helper()
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	endpoint := ecstest.StartMoto(t)
	ctx := context.Background()
	logs, err := logsapi.NewClient(ctx, ecsapi.Options{Endpoint: endpoint, Region: ecstest.Region,
		AccessKeyID: ecstest.AccessKeyID, SecretAccessKey: ecstest.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	m := &motoLogs{ecs: ecsmem.Start(t, ecsmem.Options{}).Client, logs: logs, motoEndpoint: endpoint}
	if _, err := m.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	lc := &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
		translate.AWSLogsGroup: testGroup, translate.AWSLogsRegion: ecstest.Region, translate.AWSLogsStreamPrefix: testPrefix}}
	m.task = m.runTask(t, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("shop_deploy_web"), ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/exec"),
		NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("busybox"), Essential: aws.Bool(true), LogConfiguration: lc},
			{Name: aws.String("quiet"), Image: aws.String("busybox"), Essential: aws.Bool(false)},
		},
	})
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(testGroup)}); err != nil {
		t.Fatal(err)
	}
	m.reader = NewLogReader(m.ecs, logs, LogReaderOptions{FollowMinInterval: 10 * time.Millisecond, FollowMaxInterval: 50 * time.Millisecond,
		StoppedCheckInterval: 10 * time.Millisecond})
	return m
}

// runTask registers td and runs one task of it in cluster c1.
func (m *motoLogs) runTask(t *testing.T, td *ecs.RegisterTaskDefinitionInput) taskhost.Task {
	t.Helper()
	ctx := context.Background()
	reg, err := m.ecs.RegisterTaskDefinition(ctx, td)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	run, err := m.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c1"), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn, LaunchType: ecstypes.LaunchTypeFargate})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %+v", err, run)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	return taskhost.Task{Cluster: "c1", TaskArn: arn, ID: arn[strings.LastIndexByte(arn, '/')+1:]}
}

// put writes messages to the container's stream (created when missing), one second apart from
// base.
func (m *motoLogs) put(t *testing.T, task taskhost.Task, container string, base time.Time, messages ...string) {
	t.Helper()
	ctx := context.Background()
	stream := translate.StreamName(testPrefix, container, task.ID)
	_, err := m.logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(testGroup), LogStreamName: aws.String(stream)})
	var exists *cwtypes.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	var events []cwtypes.InputLogEvent
	for i, msg := range messages {
		events = append(events, cwtypes.InputLogEvent{Message: aws.String(msg), Timestamp: aws.Int64(base.Add(time.Duration(i) * time.Second).UnixMilli())})
	}
	if _, err := m.logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(testGroup), LogStreamName: aws.String(stream), LogEvents: events}); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, rc io.ReadCloser, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLogsMoto reads a container's stream through every option of `kubectl logs`.
func TestLogsMoto(t *testing.T) {
	m := startMotoLogs(t)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	m.put(t, m.task, "app", base, "line 1", "line 2", "line 3", "line 4", "line 5")
	stamp := func(i int) string { return base.Add(time.Duration(i-1) * time.Second).UTC().Format(time.RFC3339Nano) }
	lines := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name string
		opts taskhost.LogOptions
		page int32
		want string
	}{
		{name: "whole", want: lines(1, 5)},
		{name: "whole, paged", page: 2, want: lines(1, 5)},
		{name: "tail", opts: taskhost.LogOptions{Tail: 2}, want: lines(4, 5)},
		{name: "tail, paged backwards", opts: taskhost.LogOptions{Tail: 3}, page: 2, want: lines(3, 5)},
		{name: "tail beyond the start", opts: taskhost.LogOptions{Tail: 10}, page: 2, want: lines(1, 5)},
		{name: "since", opts: taskhost.LogOptions{SinceTime: base.Add(2 * time.Second)}, want: lines(3, 5)},
		{name: "since and tail", opts: taskhost.LogOptions{SinceTime: base.Add(time.Second), Tail: 2}, want: lines(4, 5)},
		{name: "timestamps", opts: taskhost.LogOptions{Timestamps: true, Tail: 2}, want: stamp(4) + " line 4\n" + stamp(5) + " line 5\n"},
		{name: "limit bytes", opts: taskhost.LogOptions{LimitBytes: 10}, want: "line 1\nlin"},
		{name: "limit bytes at a line's end", opts: taskhost.LogOptions{LimitBytes: 14}, want: lines(1, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.reader.page = maxPage
			if tt.page > 0 {
				m.reader.page = tt.page
			}
			rc, err := m.reader.Logs(context.Background(), m.task, "app", tt.opts)
			if d := cmp.Diff(tt.want, readAll(t, rc, err)); d != "" {
				t.Errorf("log (-want +got):\n%s", d)
			}
		})
	}
	t.Run("through the Host", func(t *testing.T) {
		h := New(Options{Logs: m.reader})
		rc, err := h.Logs(context.Background(), m.task, "app", taskhost.LogOptions{Tail: 1})
		if got := readAll(t, rc, err); got != "line 5\n" {
			t.Errorf("log %q", got)
		}
	})
}

// TestLogsMotoFollow: a follower sees events written after it started, and ends when its context
// does or when the task stopped.
func TestLogsMotoFollow(t *testing.T) {
	m := startMotoLogs(t)
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	m.put(t, m.task, "app", base, "before")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, err := m.reader.Logs(ctx, m.task, "app", taskhost.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	lines := bufio.NewReader(rc)
	next := func() string {
		s, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the followed log: %v (so far %q)", err, s)
		}
		return s
	}
	if got := next(); got != "before\n" {
		t.Fatalf("first line %q", got)
	}
	m.put(t, m.task, "app", base.Add(10*time.Second), "after 1", "after 2")
	if got := next() + next(); got != "after 1\nafter 2\n" {
		t.Errorf("followed lines %q", got)
	}
	cancel()
	if rest, err := io.ReadAll(lines); err != nil || len(rest) != 0 {
		t.Errorf("after cancel: %q, %v; want the end of the log", rest, err)
	}

	// A stopped task: following reads what is left and ends.
	if _, err := m.ecs.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String("c1"), Task: aws.String(m.task.TaskArn)}); err != nil {
		t.Fatal(err)
	}
	m.put(t, m.task, "app", base.Add(20*time.Second), "last words")
	rc, err = m.reader.Logs(context.Background(), m.task, "app", taskhost.LogOptions{Follow: true, Tail: 1})
	if got := readAll(t, rc, err); got != "last words\n" {
		t.Errorf("following a stopped task: %q", got)
	}
}

// TestLogsMotoErrors: what cannot be read says why, before anything is read.
func TestLogsMotoErrors(t *testing.T) {
	m := startMotoLogs(t)
	gone := m.task
	gone.TaskArn, gone.ID = strings.TrimSuffix(gone.TaskArn, gone.ID)+"00000000000000000000000000000000", "00000000000000000000000000000000"
	tests := []struct {
		name        string
		task        taskhost.Task
		container   string
		unsupported bool
		want        string
	}{
		{name: "no stream yet", task: m.task, container: "app", want: "has no log in CloudWatch Logs yet"},
		{name: "no awslogs", task: m.task, container: "quiet", unsupported: true, want: "has no awslogs log configuration"},
		{name: "no such container", task: m.task, container: "web", want: `has no container "web" (its containers: app, quiet)`},
		{name: "container not named", task: m.task, want: "several containers (app, quiet): name one"},
		{name: "task unknown", task: gone, container: "app", want: "not known to ECS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := m.reader.Logs(context.Background(), tt.task, tt.container, taskhost.LogOptions{Follow: true})
			if err == nil {
				_ = rc.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || taskhost.IsUnsupported(err) != tt.unsupported {
				t.Errorf("error %q (unsupported %v), want one containing %q (unsupported %v)", err, taskhost.IsUnsupported(err), tt.want, tt.unsupported)
			}
		})
	}
}

// TestGeneratedTaskDefinitionMoto: the task definition translate makes for a Pod on AWS carries
// awslogs on every container and an execution role; moto's ECS registers it and its answer
// decodes with the SDK with the log configuration intact; and a task of it (on the local data
// plane's ECS) is read back from the stream the awslogs driver would write.
func TestGeneratedTaskDefinitionMoto(t *testing.T) {
	m := startMotoLogs(t)
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f7c-x7k2p", Namespace: "shop", UID: "0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"},
		Spec: corev1.PodSpec{NodeName: translate.DefaultNodeName, Containers: []corev1.Container{
			{Name: "app", Image: "nodeless.local/hello:v1"}, {Name: "sidecar", Image: "nodeless.local/hello:v1"}}},
	}
	tr, err := translate.Translate(pod, translate.Options{ExecutionRoleArn: "arn:aws:iam::123456789012:role/exec",
		Logs: &translate.AWSLogs{Group: testGroup, Region: ecstest.Region}})
	if err != nil {
		t.Fatal(err)
	}
	moto := ecstest.Client(t, m.motoEndpoint)
	reg, err := moto.RegisterTaskDefinition(ctx, tr.TaskDefinition)
	if err != nil {
		t.Fatalf("moto's RegisterTaskDefinition: %v", err)
	}
	desc, err := moto.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: reg.TaskDefinition.TaskDefinitionArn})
	if err != nil {
		t.Fatalf("moto's DescribeTaskDefinition: %v", err)
	}
	if got := aws.ToString(desc.TaskDefinition.ExecutionRoleArn); got != "arn:aws:iam::123456789012:role/exec" {
		t.Errorf("executionRoleArn %q", got)
	}
	want := map[string]string{"awslogs-group": testGroup, "awslogs-region": ecstest.Region, "awslogs-stream-prefix": "shop"}
	for _, c := range desc.TaskDefinition.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs {
			t.Fatalf("container %s: logConfiguration %+v, want awslogs", aws.ToString(c.Name), lc)
		}
		if d := cmp.Diff(want, lc.Options); d != "" {
			t.Errorf("container %s: awslogs options (-want +got):\n%s", aws.ToString(c.Name), d)
		}
	}

	task := m.runTask(t, tr.TaskDefinition)
	stream := translate.StreamName("shop", "sidecar", task.ID)
	if _, err := m.logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(testGroup), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(testGroup), LogStreamName: aws.String(stream),
		LogEvents: []cwtypes.InputLogEvent{{Message: aws.String("hello from the sidecar"), Timestamp: aws.Int64(time.Now().UnixMilli())}}}); err != nil {
		t.Fatal(err)
	}
	rc, err := m.reader.Logs(ctx, task, "sidecar", taskhost.LogOptions{})
	if got := readAll(t, rc, err); got != "hello from the sidecar\n" {
		t.Errorf("log %q", got)
	}
}
