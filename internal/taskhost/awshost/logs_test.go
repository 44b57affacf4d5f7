package awshost

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// oneTask describes one running task whose only container "app" uses awslogs; stopped makes it
// STOPPED.
type oneTask struct {
	mu      sync.Mutex
	stopped bool
}

func (o *oneTask) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	status := "RUNNING"
	if o.stopped {
		status = "STOPPED"
	}
	return &ecs.DescribeTasksOutput{Tasks: []ecstypes.Task{{TaskArn: aws.String("arn:aws:ecs:us-east-1:1:task/c1/t1"),
		TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:1:task-definition/web:1"), LastStatus: aws.String(status)}}}, nil
}

func (o *oneTask) DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{ContainerDefinitions: []ecstypes.ContainerDefinition{{
		Name: aws.String("app"), LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
			translate.AWSLogsGroup: "g", translate.AWSLogsRegion: "us-east-1", translate.AWSLogsStreamPrefix: "shop"}}}}}}, nil
}

// script answers GetLogEvents from a list: each answer is events or an error; past its end, the
// end of the stream. It checks the stream name and that forward tokens come with startFromHead.
type script struct {
	t       *testing.T
	mu      sync.Mutex
	answers []any // []string (messages) or error
	n       int
}

func (s *script) GetLogEvents(_ context.Context, in *cloudwatchlogs.GetLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if got := aws.ToString(in.LogStreamName); got != "shop/app/t1" {
		s.t.Errorf("stream %q, want shop/app/t1", got)
	}
	if in.NextToken != nil && !aws.ToBool(in.StartFromHead) {
		s.t.Errorf("a forward token without startFromHead")
	}
	token := aws.String("f/" + string(rune('0'+s.n)))
	if s.n >= len(s.answers) {
		return &cloudwatchlogs.GetLogEventsOutput{NextForwardToken: in.NextToken}, nil
	}
	a := s.answers[s.n]
	s.n++
	if err, ok := a.(error); ok {
		return nil, err
	}
	var events []cwtypes.OutputLogEvent
	for _, m := range a.([]string) {
		events = append(events, cwtypes.OutputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(0)})
	}
	return &cloudwatchlogs.GetLogEventsOutput{Events: events, NextForwardToken: token}, nil
}

// TestFollowThroughThrottling: a follower waits out ThrottlingException (after the SDK's own
// retries) and ends after one more read once the task stopped.
func TestFollowThroughThrottling(t *testing.T) {
	task := &oneTask{}
	logs := &script{t: t, answers: []any{
		[]string{"one"},
		&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
		[]string{"two"},
	}}
	r := NewLogReader(task, logs, LogReaderOptions{FollowMinInterval: time.Millisecond, FollowMaxInterval: 5 * time.Millisecond, StoppedCheckInterval: time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := r.Logs(ctx, taskhost.Task{Cluster: "c1", TaskArn: "arn:aws:ecs:us-east-1:1:task/c1/t1", ID: "t1"}, "app", taskhost.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	buf := make([]byte, len("one\ntwo\n"))
	if _, err := io.ReadFull(rc, buf); err != nil || string(buf) != "one\ntwo\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	task.mu.Lock()
	task.stopped = true
	task.mu.Unlock()
	if rest, err := io.ReadAll(rc); err != nil || len(rest) != 0 {
		t.Errorf("after the task stopped: %q, %v; want the end of the log", rest, err)
	}
	if ctx.Err() != nil {
		t.Error("the follower did not end when the task stopped")
	}
}

// TestThrottledWithoutFollow: a plain read reports the throttling.
func TestThrottledWithoutFollow(t *testing.T) {
	logs := &script{t: t, answers: []any{[]string{"one"}, &smithy.GenericAPIError{Code: "ThrottlingException"}}}
	r := NewLogReader(&oneTask{}, logs, LogReaderOptions{})
	rc, err := r.Logs(context.Background(), taskhost.Task{Cluster: "c1", ID: "t1"}, "", taskhost.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	got, err := io.ReadAll(rc)
	if string(got) != "one\n" || err == nil {
		t.Errorf("read %q, %v; want one line, then the throttling error", got, err)
	}
}
