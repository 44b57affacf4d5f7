// Package awshost is taskhost.Host for tasks on AWS (`nodeless controller` against ECS): the
// node reaches a task's private IP directly (it must run where the tasks' VPC is routable), and
// everything that needs the task's inside — logs, exec, attach, signals, volume directories — is
// refused with an UnsupportedError naming what to use instead, until CloudWatch Logs and ECS Exec
// are wired in (issue 10).
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
}

var _ taskhost.Host = (*Host)(nil)

// New returns the AWS Host.
func New() *Host { return &Host{} }

const (
	remedyLogs = "the virtual node does not read CloudWatch Logs yet (issue 10); give the task definition an awslogs logConfiguration and read the log group with `aws logs tail`"
	remedyExec = "the virtual node does not use ECS Exec yet (issue 10); enable it on the task and use `aws ecs execute-command`"
)

// Dial connects to the task's private IP from this process.
func (h *Host) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return h.dialer.DialContext(ctx, network, address)
}

// Logs is unsupported on AWS for now.
func (h *Host) Logs(context.Context, taskhost.Task, string, taskhost.LogOptions) (io.ReadCloser, error) {
	return nil, &taskhost.UnsupportedError{Op: "kubectl logs", Remedy: remedyLogs}
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
