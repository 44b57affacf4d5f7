// Package awshost is taskhost.Host for tasks on AWS (`nodeless controller` against ECS): the
// node reaches a task's private IP directly (it must run where the tasks' VPC is routable), runs
// commands in containers through ECS Exec (ExecuteCommand, then the Session Manager data channel
// of package ssmsession), and refuses what needs the task's inside otherwise — logs, attach,
// signals, volume directories — with an UnsupportedError naming what to use instead.
//
// ECS Exec sessions are interactive only: every command runs on a terminal, and ECS does not
// report its exit status. Exec therefore runs the command under a small /bin/sh wrapper that
// prints the status after it on a line of its own, marked with a random nonce, and removes that
// line from the output (see wrapCommand and markerWriter); docs/virtual-node.md says what this
// means for `kubectl exec` without -t.
package awshost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/gorilla/websocket"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ssmsession"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// Options configure the AWS Host.
type Options struct {
	// ECS runs ExecuteCommand; nil: exec is refused with the `aws ecs execute-command` line.
	ECS ecsapi.API
	// Dialer opens the sessions' WebSockets; nil: websocket.DefaultDialer.
	Dialer *websocket.Dialer
}

// Host is taskhost.Host on AWS.
type Host struct {
	dialer net.Dialer
	ecs    ecsapi.API
	ws     *websocket.Dialer
}

var _ taskhost.Host = (*Host)(nil)

// New returns the AWS Host.
func New(o Options) *Host { return &Host{ecs: o.ECS, ws: o.Dialer} }

const (
	remedyLogs   = "the virtual node does not read CloudWatch Logs yet (issue 10); give the task definition an awslogs logConfiguration and read the log group with `aws logs tail`"
	remedyNoECS  = "this virtual node has no ECS client for ECS Exec; enable it on the task and use `aws ecs execute-command`"
	remedyAttach = "ECS Exec starts new processes in a container and cannot attach to its main process; use `kubectl exec -it` for a shell in it, `kubectl logs -f` for its output"
	remedyEnable = "ECS says the Pod's task was run without ECS Exec, or its SSM agent is not running (yet): run nodeless with --pod-enable-execute-command (tasks started afterwards have it; delete the Pod to re-run it) and give the task role the SSM permissions ECS Exec needs (ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel, OpenDataChannel); if it runs so already, the agent may still be starting: try again in a few seconds"
	remedyKMS    = "the cluster encrypts ECS Exec sessions with KMS (executeCommandConfiguration.kmsKeyId), which nodeless cannot open yet; use `aws ecs execute-command`"
)

// Dial connects to the task's private IP from this process.
func (h *Host) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return h.dialer.DialContext(ctx, network, address)
}

// Logs is unsupported on AWS for now.
func (h *Host) Logs(context.Context, taskhost.Task, string, taskhost.LogOptions) (io.ReadCloser, error) {
	return nil, &taskhost.UnsupportedError{Op: "kubectl logs", Remedy: remedyLogs}
}

// Exec runs cmd in the container through ECS Exec and returns when the session ends:
// *taskhost.ExitError for a non-zero exit status. The command always runs on a terminal (ECS
// Exec is interactive only): without s.TTY the wrapper turns the terminal's echo and its
// newline translation off (stty, where the image has it), so output reaches s.Stdout as the
// command wrote it, standard error included (a terminal has one output); s.Stderr is unused.
// s.Stdin reaches the command through the terminal (text; its end is the terminal's end of
// input, ^D); without s.Stdin and s.TTY the command's stdin is /dev/null.
//
// Errors: an UnsupportedError when the task was run without ECS Exec (naming
// --pod-enable-execute-command) or the cluster encrypts sessions with KMS; the session's
// failure; and an error saying the exit status is unknown when the wrapper did not report it
// (the image has no /bin/sh, or the session was ended from the other side).
func (h *Host) Exec(ctx context.Context, t taskhost.Task, container string, cmd []string, s taskhost.Streams) error {
	if h.ecs == nil {
		return &taskhost.UnsupportedError{Op: "kubectl exec", Remedy: remedyNoECS + ": " + executeCommand(t, container, cmd)}
	}
	if len(cmd) == 0 {
		return fmt.Errorf("exec in container %s: no command given", container)
	}
	marker, err := newMarker()
	if err != nil {
		return err
	}
	out, err := h.ecs.ExecuteCommand(ctx, &ecs.ExecuteCommandInput{
		Cluster: aws.String(t.Cluster), Task: aws.String(taskRef(t)), Container: aws.String(container),
		Command: aws.String(wrapCommand(cmd, marker, s.TTY, s.Stdin != nil)), Interactive: true,
	})
	if err != nil {
		return executeCommandError(err, t, container, cmd)
	}
	if out.Session == nil {
		return fmt.Errorf("exec in container %s of task %s: ECS ExecuteCommand returned no session", container, t.ID)
	}
	res, code, err := h.run(ctx, out.Session, marker, s)
	if err != nil {
		var kms *ssmsession.EncryptionRequiredError
		if errors.As(err, &kms) {
			return &taskhost.UnsupportedError{Op: "kubectl exec", Remedy: remedyKMS + ": " + executeCommand(t, container, cmd)}
		}
		return fmt.Errorf("exec in container %s of task %s (ECS Exec session %s): %w", container, t.ID, aws.ToString(out.Session.SessionId), err)
	}
	return exitStatus(res, code, t, container, cmd)
}

// run runs the session with the streams, the output through the marker filter; it returns the
// session's result and the exit status the wrapper printed (nil when it printed none).
func (h *Host) run(ctx context.Context, sess *ecstypes.Session, m marker, s taskhost.Streams) (ssmsession.Result, *int, error) {
	stdout := s.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	filter := newMarkerWriter(stdout, m)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	streams := ssmsession.Streams{Stdout: filter, Stderr: stdout}
	if s.Stdin != nil {
		streams.Stdin = &gatedReader{r: newEOTReader(s.Stdin), ready: filter.ready, done: ctx.Done()}
	}
	if s.TTY && s.Resize != nil {
		sizes := make(chan ssmsession.TermSize)
		streams.Resize = sizes
		go forwardSizes(ctx, s.Resize, sizes)
	}
	res, err := ssmsession.Run(ctx, ssmsession.Channel{
		SessionID: aws.ToString(sess.SessionId), StreamURL: aws.ToString(sess.StreamUrl), TokenValue: aws.ToString(sess.TokenValue),
	}, streams, ssmsession.Options{Dialer: h.ws})
	if ferr := filter.flush(); ferr != nil && err == nil {
		err = ferr
	}
	return res, filter.code(), err
}

func forwardSizes(ctx context.Context, in <-chan taskhost.TermSize, out chan<- ssmsession.TermSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case size, ok := <-in:
			if !ok {
				return
			}
			select {
			case out <- ssmsession.TermSize{Cols: size.Width, Rows: size.Height}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// exitStatus is Exec's outcome from the exit status the agent or the wrapper reported.
func exitStatus(res ssmsession.Result, code *int, t taskhost.Task, container string, cmd []string) error {
	if res.ExitCodeKnown {
		code = &res.ExitCode
	}
	if code == nil {
		why := ""
		if res.Closed != "" {
			why = " (the session ended: " + res.Closed + ")"
		}
		return fmt.Errorf("exec of %q in container %s of task %s: the exit status is unknown%s: ECS Exec does not report it, and nodeless's /bin/sh wrapper that prints it did not run to its end (does the image have /bin/sh?)",
			strings.Join(cmd, " "), container, t.ID, why)
	}
	if *code != 0 {
		return &taskhost.ExitError{Code: *code}
	}
	return nil
}

// executeCommandError maps ExecuteCommand's errors: a task without ECS Exec is an
// UnsupportedError naming the flag that enables it.
func executeCommandError(err error, t taskhost.Task, container string, cmd []string) error {
	var apiErr smithy.APIError
	code := ""
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	switch {
	case code == "InvalidParameterException" && strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "execute command was not enabled"):
		return &taskhost.UnsupportedError{Op: "kubectl exec", Remedy: remedyEnable}
	case code == "TargetNotConnectedException":
		return fmt.Errorf("exec in container %s of task %s: ECS Exec cannot reach the task's SSM agent (it starts shortly after the container; the task role needs the ssmmessages permissions, and a VPC with an ECS endpoint needs one for ssmmessages too): %w", container, t.ID, err)
	}
	return fmt.Errorf("exec in container %s of task %s: ECS ExecuteCommand (as `%s`): %w", container, t.ID, executeCommand(t, container, cmd), err)
}

// Attach is unsupported on AWS: ECS Exec cannot attach to a container's main process.
func (h *Host) Attach(context.Context, taskhost.Task, string, taskhost.Streams) error {
	return &taskhost.UnsupportedError{Op: "kubectl attach", Remedy: remedyAttach}
}

func taskRef(t taskhost.Task) string {
	if t.TaskArn != "" {
		return t.TaskArn
	}
	return t.ID
}

// executeCommand is the AWS CLI's ECS Exec command line for cmd in container of t (the task
// needs enableExecuteCommand and the SSM agent's permissions in its task role).
func executeCommand(t taskhost.Task, container string, cmd []string) string {
	return fmt.Sprintf("aws ecs execute-command --cluster %s --task %s --container %s --interactive --command %q",
		t.Cluster, taskRef(t), container, strings.Join(cmd, " "))
}

// Signal is unsupported on AWS: ECS has no call that signals one container.
func (h *Host) Signal(context.Context, taskhost.Task, string, syscall.Signal) error {
	return &taskhost.UnsupportedError{Op: "signalling a container", Remedy: "ECS cannot signal one container of a task; stop the task (StopTask) to restart the Pod"}
}

// VolumeDir is unsupported on AWS: a task's volumes are not reachable from the node.
func (h *Host) VolumeDir(taskhost.Task, string) (string, error) {
	return "", &taskhost.UnsupportedError{Op: "keeping a task's files current", Remedy: "a Fargate task's volumes are not reachable from the node; the files stay as they were when the task started"}
}
