// Package awshost is taskhost.Host for tasks on AWS (`nodeless controller` against ECS): the
// node reaches a task's private IP directly (it must run where the tasks' VPC is routable), reads
// a container's log from CloudWatch Logs, where ECS's awslogs log driver wrote it (LogReader; the
// stream the task definition's awslogs options name), and refuses what needs the task's inside —
// exec, attach, signals, volume directories — with an UnsupportedError naming what to use instead,
// until ECS Exec is wired in (issue 10).
package awshost

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// Host is taskhost.Host on AWS.
type Host struct {
	dialer net.Dialer
	logs   *LogReader
}

var _ taskhost.Host = (*Host)(nil)

// Options are the AWS Host's dependencies.
type Options struct {
	// Logs reads containers' logs from CloudWatch Logs; nil: Logs is an UnsupportedError.
	Logs *LogReader
}

// New returns the AWS Host without dependencies: logs are an UnsupportedError too.
func New() *Host { return NewWithOptions(Options{}) }

// NewWithOptions returns the AWS Host with opts.
func NewWithOptions(opts Options) *Host { return &Host{logs: opts.Logs} }

const (
	remedyLogs = "this node was started without a CloudWatch Logs reader; the tasks' logs are where their task definitions' awslogs options say: read them with `nodeless logs --aws --cluster CLUSTER TASK CONTAINER` or `aws logs tail GROUP --log-stream-name-prefix PREFIX/CONTAINER/TASK_ID`"
	remedyExec = "the virtual node does not use ECS Exec yet (issue 10); enable it on the task and use `aws ecs execute-command`"
)

// Dial connects to the task's private IP from this process.
func (h *Host) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return h.dialer.DialContext(ctx, network, address)
}

// Logs reads the container's log from CloudWatch Logs (LogReader.Logs).
func (h *Host) Logs(ctx context.Context, t taskhost.Task, container string, o taskhost.LogOptions) (io.ReadCloser, error) {
	if h.logs == nil {
		return nil, &taskhost.UnsupportedError{Op: "kubectl logs", Remedy: remedyLogs}
	}
	return h.logs.Logs(ctx, t, container, o)
}

// Exec is unsupported on AWS for now; the error gives the ECS Exec command for t.
func (h *Host) Exec(_ context.Context, t taskhost.Task, container string, cmd []string, _ taskhost.Streams) error {
	return &taskhost.UnsupportedError{Op: "kubectl exec", Remedy: remedyExec + ": " + executeCommand(t, container, cmd)}
}

// Attach is unsupported on AWS for now; the error gives the ECS Exec command for t.
func (h *Host) Attach(_ context.Context, t taskhost.Task, container string, _ taskhost.Streams) error {
	return &taskhost.UnsupportedError{Op: "kubectl attach", Remedy: remedyExec + ": " + executeCommand(t, container, []string{"/bin/sh"})}
}

// executeCommand is the AWS CLI's ECS Exec command line for cmd in container of t (the task
// needs enableExecuteCommand and the SSM agent's permissions in its task role).
func executeCommand(t taskhost.Task, container string, cmd []string) string {
	task := t.TaskArn
	if task == "" {
		task = t.ID
	}
	return fmt.Sprintf("aws ecs execute-command --cluster %s --task %s --container %s --interactive --command %q",
		t.Cluster, task, container, strings.Join(cmd, " "))
}

// Signal is unsupported on AWS: ECS has no call that signals one container.
func (h *Host) Signal(context.Context, taskhost.Task, string, syscall.Signal) error {
	return &taskhost.UnsupportedError{Op: "signalling a container", Remedy: "ECS cannot signal one container of a task; stop the task (StopTask) to restart the Pod"}
}

// VolumeDir is unsupported on AWS: a task's volumes are not reachable from the node.
func (h *Host) VolumeDir(taskhost.Task, string) (string, error) {
	return "", &taskhost.UnsupportedError{Op: "keeping a task's files current", Remedy: "a Fargate task's volumes are not reachable from the node; the files stay as they were when the task started"}
}
