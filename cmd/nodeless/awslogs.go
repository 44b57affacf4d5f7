package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/logsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/awshost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Log drivers of --pod-log-driver.
const (
	logDriverAWSLogs = "awslogs"
	logDriverNone    = "none"
)

// podLogFlags configure where the output of the Pods' containers goes under `controller`, and
// the task execution role that lets ECS write it.
type podLogFlags struct {
	executionRoleArn string
	driver           string
	group            string
	region           string
	createGroup      bool
}

func (f *podLogFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.executionRoleArn, "pod-execution-role-arn", "", "task execution role of the Pods' task definitions (executionRoleArn): lets ECS pull private images, read secrets and write logs; with --pod-log-driver=awslogs, this or the Cluster object's spec.defaults.executionRoleArn is required")
	fs.StringVar(&f.driver, "pod-log-driver", "", "where the Pods' containers' output goes: awslogs (CloudWatch Logs, read back by kubectl logs) or none (default: awslogs against AWS itself, none with --ecs-endpoint)")
	fs.StringVar(&f.group, "pod-log-group", "", "CloudWatch Logs group of the Pods' containers (default /nodeless/<pod-cluster>); streams are <namespace>/<container>/<task ID>")
	fs.StringVar(&f.region, "pod-log-region", "", "region of --pod-log-group (default: the controller's region)")
	fs.BoolVar(&f.createGroup, "pod-log-create-group", false, "let ECS create --pod-log-group when missing (awslogs-create-group; the execution role then needs logs:CreateLogGroup)")
}

// apply sets the execution role and log configuration of the Pods' tasks in opts, or returns an
// error naming the flag to give. endpoint is --ecs-endpoint ("": AWS itself).
func (f *podLogFlags) apply(ctx context.Context, opts *pod.Options, ecsOpts ecsapi.Options, endpoint string) error {
	opts.ExecutionRoleArn = f.executionRoleArn
	driver := f.driver
	if driver == "" {
		driver = logDriverNone
		if endpoint == "" {
			driver = logDriverAWSLogs
		}
	}
	switch driver {
	case logDriverNone:
		return nil
	case logDriverAWSLogs:
	default:
		return fmt.Errorf("--pod-log-driver must be %s or %s, not %q", logDriverAWSLogs, logDriverNone, f.driver)
	}
	// Without --pod-execution-role-arn the role may come from the Cluster object's
	// spec.defaults.executionRoleArn; a Pod whose task would have none waits with a Warning Event
	// (pod.ReasonNoExecutionRole) naming both.
	l := &translate.AWSLogs{Group: f.group, Region: f.region, CreateGroup: f.createGroup}
	if l.Group == "" {
		l.Group = "/nodeless/" + opts.Cluster
	}
	if l.Region == "" {
		cfg, err := ecsapi.LoadConfig(ctx, ecsOpts)
		if err != nil {
			return fmt.Errorf("--pod-log-region: %w", err)
		}
		l.Region = cfg.Region
	}
	opts.Logs = l
	return nil
}

// newLogReader reads containers' logs from CloudWatch Logs, with ECS and CloudWatch Logs clients
// of ecsOpts (the standard AWS configuration chain and its overrides).
func newLogReader(ctx context.Context, ecsOpts ecsapi.Options) (*awshost.LogReader, error) {
	ecsClient, err := ecsapi.NewClient(ctx, ecsOpts)
	if err != nil {
		return nil, err
	}
	logs, err := logsapi.NewClient(ctx, ecsOpts)
	if err != nil {
		return nil, err
	}
	return awshost.NewLogReader(ecsClient, logs, awshost.LogReaderOptions{}), nil
}

// awsLogsFlags are the flags of `nodeless logs --aws`.
type awsLogsFlags struct {
	enabled    bool
	cluster    string
	endpoint   string
	region     string
	tail       int64
	since      time.Duration
	timestamps bool
	limitBytes int64
}

func (f *awsLogsFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "aws", false, "read the task's log from CloudWatch Logs (its task definition's awslogs options), through ECS at --ecs-endpoint or AWS")
	fs.StringVar(&f.cluster, "cluster", pod.DefaultCluster, "ECS cluster of the task (with --aws)")
	fs.StringVar(&f.endpoint, "ecs-endpoint", "", "ECS and CloudWatch Logs endpoint URL (with --aws; default: AWS's regional endpoints)")
	fs.StringVar(&f.region, "region", "", "AWS region (with --aws; default: from the AWS configuration chain)")
	fs.Int64Var(&f.tail, "tail", 0, "print only the last N lines (with --aws)")
	fs.DurationVar(&f.since, "since", 0, "print only lines newer than this, e.g. 5m (with --aws)")
	fs.BoolVar(&f.timestamps, "timestamps", false, "prefix each line with its CloudWatch time, RFC 3339 (with --aws)")
	fs.Int64Var(&f.limitBytes, "limit-bytes", 0, "stop after this many bytes (with --aws)")
}

// checkLocal refuses the options only --aws honours.
func (f *awsLogsFlags) checkLocal(fs *pflag.FlagSet) error {
	for _, name := range []string{"cluster", "ecs-endpoint", "region", "tail", "since", "timestamps", "limit-bytes"} {
		if fs.Changed(name) {
			return fmt.Errorf("--%s needs --aws (a local data plane's log is printed whole; kubectl logs reads it with every option)", name)
		}
	}
	return nil
}

// run prints the log of container ("": the task's only one) of task (an ID or ARN) from
// CloudWatch Logs.
func (f *awsLogsFlags) run(ctx context.Context, out io.Writer, task, container string, follow bool) error {
	reader, err := newLogReader(ctx, ecsapi.Options{Endpoint: f.endpoint, Region: f.region})
	if err != nil {
		return err
	}
	return printAWSLog(ctx, out, reader, f.task(task), container, f.options(follow, time.Now()))
}

// task names task (an ID or ARN) in --cluster.
func (f *awsLogsFlags) task(task string) taskhost.Task {
	t := taskhost.Task{Cluster: f.cluster, ID: taskIDOf(task)}
	if taskIDOf(task) != task {
		t.TaskArn = task
	}
	return t
}

func (f *awsLogsFlags) options(follow bool, now time.Time) taskhost.LogOptions {
	o := taskhost.LogOptions{Follow: follow, Tail: f.tail, Timestamps: f.timestamps, LimitBytes: f.limitBytes}
	if f.since > 0 {
		o.SinceTime = now.Add(-f.since)
	}
	return o
}

// printAWSLog copies the log to out; a follow ended by ctx (^C) is no error.
func printAWSLog(ctx context.Context, out io.Writer, r *awshost.LogReader, t taskhost.Task, container string, o taskhost.LogOptions) error {
	rc, err := r.Logs(ctx, t, container, o)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	if _, err := io.Copy(out, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("reading the log: %w", err)
	}
	return nil
}
