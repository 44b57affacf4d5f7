package awshost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/logsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// TaskDescriber is what the log reader needs of ECS: a task's definition and its containers'
// states. ecsapi.API (and *ecs.Client) satisfy it.
type TaskDescriber interface {
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// Defaults of LogReaderOptions.
const (
	// DefaultFollowMinInterval is the first wait between two reads of a followed stream that
	// had nothing new; the wait doubles while nothing comes, up to DefaultFollowMaxInterval, and
	// starts again after new events. CloudWatch Logs allows 25 GetLogEvents per second per
	// account and region: 100 idle followers cost 20 a second at the maximum.
	DefaultFollowMinInterval = 500 * time.Millisecond
	DefaultFollowMaxInterval = 5 * time.Second
	// DefaultStoppedCheckInterval: how often a followed container is checked for having stopped
	// (DescribeTasks) while its stream has nothing new; following ends after one more read.
	DefaultStoppedCheckInterval = 10 * time.Second
	// maxPage is the most events GetLogEvents returns per call.
	maxPage = 10000
	// maxCachedDefinitions bounds the cache of task definitions (they never change; a revision
	// is about 2-20 KB).
	maxCachedDefinitions = 256
)

// LogReaderOptions configure a LogReader; zero durations take their defaults.
type LogReaderOptions struct {
	FollowMinInterval, FollowMaxInterval time.Duration
	StoppedCheckInterval                 time.Duration
}

// LogReader reads a container's output from CloudWatch Logs, where ECS's awslogs log driver
// wrote it: the stream "<awslogs-stream-prefix>/<container>/<task ID>" of the container's
// awslogs-group in awslogs-region, as the task's definition says. The virtual node's `kubectl
// logs` (Host.Logs) and `nodeless logs --aws` use it.
type LogReader struct {
	ecs  TaskDescriber
	logs logsapi.API
	opts LogReaderOptions
	page int32 // events per GetLogEvents call (maxPage; less in tests, to page)

	mu   sync.Mutex
	defs map[string]*ecstypes.TaskDefinition // by ARN
}

// NewLogReader returns a LogReader over ecs and logs.
func NewLogReader(ecsAPI TaskDescriber, logs logsapi.API, opts LogReaderOptions) *LogReader {
	if opts.FollowMinInterval <= 0 {
		opts.FollowMinInterval = DefaultFollowMinInterval
	}
	if opts.FollowMaxInterval < opts.FollowMinInterval {
		opts.FollowMaxInterval = max(DefaultFollowMaxInterval, opts.FollowMinInterval)
	}
	if opts.StoppedCheckInterval <= 0 {
		opts.StoppedCheckInterval = DefaultStoppedCheckInterval
	}
	return &LogReader{ecs: ecsAPI, logs: logs, opts: opts, page: maxPage, defs: map[string]*ecstypes.TaskDefinition{}}
}

// Source is where a container's output is in CloudWatch Logs.
type Source struct {
	Group, Region, Stream string
	// Container is the container's name (the only one of the task when none was asked for).
	Container string
}

// Logs returns container's output in task t, honouring every option as the kubelet does:
// Tail the last events (read backwards from the end), SinceTime as GetLogEvents' startTime
// (with Tail: the last Tail events since then), Timestamps with each event's CloudWatch time
// in RFC 3339 with nanoseconds, UTC, LimitBytes, and Follow by reading on from the last forward
// token, waiting FollowMinInterval..FollowMaxInterval (doubling while nothing comes), until ctx
// ends or the container stopped and its stream was read once more. Each event is one line.
// container "" names the task's only container.
//
// Errors, before anything is read: the task's containers when container is not one of them;
// an UnsupportedError when the container has no awslogs log configuration; an error saying so
// when ECS no longer knows the task or the stream does not exist (yet).
func (r *LogReader) Logs(ctx context.Context, t taskhost.Task, container string, o taskhost.LogOptions) (io.ReadCloser, error) {
	src, err := r.Source(ctx, t, container)
	if err != nil {
		return nil, err
	}
	s := &stream{r: r, t: t, src: src, o: o}
	first, err := s.start(ctx)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { _ = pw.CloseWithError(s.copy(ctx, first, pw)) }()
	return pr, nil
}

// Source finds where container's output in t is: the awslogs options of the container in the
// task's definition (DescribeTasks, then DescribeTaskDefinition, cached: revisions never change).
func (r *LogReader) Source(ctx context.Context, t taskhost.Task, container string) (Source, error) {
	task, err := r.describeTask(ctx, t)
	if err != nil {
		return Source{}, err
	}
	td, err := r.definition(ctx, aws.ToString(task.TaskDefinitionArn))
	if err != nil {
		return Source{}, err
	}
	def, err := containerOf(td, t, container)
	if err != nil {
		return Source{}, err
	}
	name := aws.ToString(def.Name)
	lc := def.LogConfiguration
	if lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs {
		driver := "none"
		if lc != nil {
			driver = string(lc.LogDriver)
		}
		return Source{}, &taskhost.UnsupportedError{Op: "kubectl logs", Remedy: fmt.Sprintf(
			"container %s of task %s has no awslogs log configuration (log driver: %s), so its output is not in CloudWatch Logs; "+
				"nodeless controller gives new tasks one with --pod-execution-role-arn (awslogs is the default against AWS itself; --pod-log-driver=awslogs elsewhere), "+
				"or give the task definition an awslogs logConfiguration with awslogs-stream-prefix", name, t.ID, driver)}
	}
	prefix := lc.Options[translate.AWSLogsStreamPrefix]
	if prefix == "" {
		return Source{}, fmt.Errorf("container %s of task %s logs to CloudWatch without awslogs-stream-prefix: its stream is named after a container ID ECS does not report; find it in log group %s",
			name, t.ID, lc.Options[translate.AWSLogsGroup])
	}
	return Source{Group: lc.Options[translate.AWSLogsGroup], Region: lc.Options[translate.AWSLogsRegion],
		Stream: translate.StreamName(prefix, name, taskID(t)), Container: name}, nil
}

// describeTask describes t. ECS keeps a stopped task about an hour; after that it is MISSING.
func (r *LogReader) describeTask(ctx context.Context, t taskhost.Task) (*ecstypes.Task, error) {
	ref := t.TaskArn
	if ref == "" {
		ref = t.ID
	}
	out, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(t.Cluster), Tasks: []string{ref}})
	if err != nil {
		return nil, fmt.Errorf("describing task %s: %w", ref, err)
	}
	if len(out.Tasks) == 0 {
		return nil, &taskGoneError{ref: ref, cluster: t.Cluster, id: taskID(t)}
	}
	return &out.Tasks[0], nil
}

// taskGoneError is a task ECS does not know (any more).
type taskGoneError struct{ ref, cluster, id string }

func (e *taskGoneError) Error() string {
	return fmt.Sprintf("task %s of cluster %s is not known to ECS (it keeps stopped tasks for about an hour): its log, if it had one, "+
		"is still in CloudWatch Logs, in the stream <stream prefix>/<container>/%s", e.ref, e.cluster, e.id)
}

// definition returns the task definition arn, from the cache or ECS.
func (r *LogReader) definition(ctx context.Context, arn string) (*ecstypes.TaskDefinition, error) {
	r.mu.Lock()
	td := r.defs[arn]
	r.mu.Unlock()
	if td != nil {
		return td, nil
	}
	out, err := r.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("describing task definition %s: %w", arn, err)
	}
	if out.TaskDefinition == nil {
		return nil, fmt.Errorf("describing task definition %s: ECS returned none", arn)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.defs) >= maxCachedDefinitions {
		clear(r.defs)
	}
	r.defs[arn] = out.TaskDefinition
	return out.TaskDefinition, nil
}

// containerOf finds container in td; "" is td's only container.
func containerOf(td *ecstypes.TaskDefinition, t taskhost.Task, container string) (*ecstypes.ContainerDefinition, error) {
	var names []string
	for i := range td.ContainerDefinitions {
		d := &td.ContainerDefinitions[i]
		if aws.ToString(d.Name) == container || (container == "" && len(td.ContainerDefinitions) == 1) {
			return d, nil
		}
		names = append(names, aws.ToString(d.Name))
	}
	sort.Strings(names)
	if container == "" {
		return nil, fmt.Errorf("task %s has several containers (%s): name one", t.ID, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("task %s has no container %q (its containers: %s)", t.ID, container, strings.Join(names, ", "))
}

// taskID is t.ID, or the last element of its ARN.
func taskID(t taskhost.Task) string {
	if t.ID != "" {
		return t.ID
	}
	return t.TaskArn[strings.LastIndexByte(t.TaskArn, '/')+1:]
}

// stopped reports whether the container (or its whole task) has stopped, or ECS no longer
// knows the task.
func (r *LogReader) stopped(ctx context.Context, t taskhost.Task, container string) (bool, error) {
	task, err := r.describeTask(ctx, t)
	var gone *taskGoneError
	if errors.As(err, &gone) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if aws.ToString(task.LastStatus) == string(ecstypes.DesiredStatusStopped) {
		return true, nil
	}
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == container {
			return aws.ToString(c.LastStatus) == string(ecstypes.DesiredStatusStopped), nil
		}
	}
	return false, nil
}

// stream reads one container's stream.
type stream struct {
	r     *LogReader
	t     taskhost.Task
	src   Source
	o     taskhost.LogOptions
	token *string // the forward token to read on from
}

// call is GetLogEvents of the stream in its region.
func (s *stream) call(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput) (*cloudwatchlogs.GetLogEventsOutput, error) {
	in.LogGroupName, in.LogStreamName = aws.String(s.src.Group), aws.String(s.src.Stream)
	if !s.o.SinceTime.IsZero() {
		in.StartTime = aws.Int64(s.o.SinceTime.UnixMilli())
	}
	out, err := s.r.logs.GetLogEvents(ctx, in, func(o *cloudwatchlogs.Options) {
		if s.src.Region != "" {
			o.Region = s.src.Region
		}
	})
	if logsapi.KindOf(err) == logsapi.KindNotFound {
		return nil, fmt.Errorf("container %s of task %s has no log in CloudWatch Logs yet (log group %s, stream %s, region %s): "+
			"the container has not started or has written nothing yet, or the log group does not exist (%w)",
			s.src.Container, s.t.ID, s.src.Group, s.src.Stream, s.src.Region, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading log stream %s of group %s: %w", s.src.Stream, s.src.Group, err)
	}
	return out, nil
}

// start reads what is there: the last Tail events (backwards from the end) or the first page.
func (s *stream) start(ctx context.Context) ([]cwtypes.OutputLogEvent, error) {
	if s.o.Tail <= 0 {
		out, err := s.call(ctx, &cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), Limit: aws.Int32(s.r.page)})
		if err != nil {
			return nil, err
		}
		s.token = out.NextForwardToken
		return out.Events, nil
	}
	out, err := s.call(ctx, &cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(false), Limit: aws.Int32(int32(min(s.o.Tail, int64(s.r.page))))})
	if err != nil {
		return nil, err
	}
	s.token = out.NextForwardToken
	events := out.Events
	for back := out.NextBackwardToken; int64(len(events)) < s.o.Tail; {
		page, err := s.call(ctx, &cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(false), NextToken: back,
			Limit: aws.Int32(int32(min(s.o.Tail-int64(len(events)), int64(s.r.page))))})
		if err != nil {
			return nil, err
		}
		if len(page.Events) == 0 || aws.ToString(page.NextBackwardToken) == aws.ToString(back) {
			break
		}
		events, back = append(page.Events, events...), page.NextBackwardToken
	}
	if n := int64(len(events)); n > s.o.Tail {
		events = events[n-s.o.Tail:]
	}
	return events, nil
}

// errLimit ends a copy at LimitBytes.
var errLimit = errors.New("limit reached")

// copy writes first, then reads on to the end of the stream, and with Follow keeps reading
// until ctx ends or the container stopped.
func (s *stream) copy(ctx context.Context, first []cwtypes.OutputLogEvent, w io.Writer) error {
	out := &lineWriter{w: w, timestamps: s.o.Timestamps, limit: s.o.LimitBytes}
	err := s.follow(ctx, first, out)
	if errors.Is(err, errLimit) || (s.o.Follow && ctx.Err() != nil) {
		return nil
	}
	return err
}

func (s *stream) follow(ctx context.Context, events []cwtypes.OutputLogEvent, out *lineWriter) error {
	wait, lastCheck, final := s.r.opts.FollowMinInterval, time.Now(), false
	for {
		if err := out.write(events); err != nil {
			return err
		}
		prev := aws.ToString(s.token)
		page, err := s.call(ctx, &cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), NextToken: s.token, Limit: aws.Int32(s.r.page)})
		if s.o.Follow && logsapi.KindOf(err) == logsapi.KindThrottled {
			// Still throttled after the SDK's retries: a follower can wait.
			page, err = &cloudwatchlogs.GetLogEventsOutput{NextForwardToken: s.token}, nil
			wait = s.r.opts.FollowMaxInterval
		}
		if err != nil {
			return err
		}
		events, s.token = page.Events, page.NextForwardToken
		if len(events) > 0 || aws.ToString(s.token) != prev {
			wait = s.r.opts.FollowMinInterval
			continue
		}
		// At the end of the stream.
		if !s.o.Follow || final {
			return nil
		}
		if time.Since(lastCheck) >= s.r.opts.StoppedCheckInterval {
			lastCheck = time.Now()
			// Read once more after a stop: the driver may have flushed its last events. A failed
			// check (ECS throttling, say) is tried again at the next one.
			stopped, err := s.r.stopped(ctx, s.t, s.src.Container)
			final = err == nil && stopped
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, s.r.opts.FollowMaxInterval)
	}
}

// lineWriter writes events as lines, with their times, up to a limit of bytes.
type lineWriter struct {
	w          io.Writer
	timestamps bool
	limit      int64 // 0: none
	written    int64
	buf        []byte
}

func (l *lineWriter) write(events []cwtypes.OutputLogEvent) error {
	for _, e := range events {
		l.buf = l.buf[:0]
		if l.timestamps {
			l.buf = time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC().AppendFormat(l.buf, time.RFC3339Nano)
			l.buf = append(l.buf, ' ')
		}
		l.buf = append(l.buf, aws.ToString(e.Message)...)
		if len(l.buf) == 0 || l.buf[len(l.buf)-1] != '\n' {
			l.buf = append(l.buf, '\n')
		}
		b, limited := l.buf, false
		if l.limit > 0 && l.written+int64(len(b)) > l.limit {
			b, limited = b[:l.limit-l.written], true
		}
		n, err := l.w.Write(b)
		l.written += int64(n)
		if err != nil {
			return err
		}
		if limited {
			return errLimit
		}
	}
	return nil
}
