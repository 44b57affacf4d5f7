// Package taskhost is the seam between the virtual node and the place where its Pods' tasks run,
// for what the ECS API does not carry: a container's log, exec and attach streams, connections to
// a task's address (probes, kubectl port-forward), signals to one container (liveness restarts),
// and the host directory of a task volume (files kept current).
//
// Two implementations satisfy Host: the local data plane's (in-process under `nodeless up`: log
// files, containerd exec and attach, sockets made inside the local VPC), and AWS's (CloudWatch
// Logs, ECS Exec where the task has it enabled, the task's private IP). A call an implementation
// cannot serve returns an error for which IsUnsupported is true, whose message says what the user
// can do instead (for example: enable ECS Exec on the task).
//
// Contract:
//   - Task names one ECS task; the caller (the virtual node) decides which task of a Pod is meant
//     (the current one, or the previous one for `kubectl logs --previous`).
//   - Dial, Exec and Attach block until the connection or stream ends or ctx is cancelled; they
//     must never block beyond ctx.
//   - Exec returns an *ExitError when the command ran and exited non-zero.
//   - Nothing here changes ECS state: StopTask, RunTask and their bookkeeping stay with the Pod
//     controller, behind the ECS seam (internal/ecsapi).
package taskhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Task names one ECS task.
type Task struct {
	// Cluster and TaskArn as ECS reports them.
	Cluster string
	TaskArn string
	// ID is the last element of TaskArn.
	ID string
	// IP is the task's private IPv4 address (its ENI's privateIPv4Address); "" before it has one.
	IP string
}

// LogOptions select part of a container's log, as `kubectl logs` asks for it
// (k8s.io/api/core/v1 PodLogOptions).
type LogOptions struct {
	// Follow keeps the stream open and writes new lines as they come, until ctx ends or the
	// container's log is closed for good (the task stopped).
	Follow bool
	// Tail > 0 starts at the last Tail lines; 0 or less: from the beginning.
	Tail int64
	// SinceTime, when not zero, skips lines written before it.
	SinceTime time.Time
	// Timestamps prefixes every line with its RFC 3339 time (nanoseconds) and a space.
	Timestamps bool
	// LimitBytes > 0 stops after that many bytes.
	LimitBytes int64
}

// TermSize is a terminal size in character cells.
type TermSize struct {
	Width, Height uint16
}

// Streams are the standard streams of an exec or attach. A nil Stdin sends nothing; a nil
// Stdout or Stderr discards that stream. With TTY, Stderr is unused (the terminal merges them)
// and Resize delivers the terminal's size changes until it is closed.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	Resize <-chan TermSize
	// StdinOnce is the container's stdinOnce (Attach only): the end of Stdin (the first attach
	// detaching) ends the container's input, as the kubelet closes it; false leaves the input
	// open for the next attach.
	StdinOnce bool
}

// Host serves what the virtual node needs from where tasks run.
type Host interface {
	// Dial connects to address ("IP:port" of a task) with network "tcp" or "udp".
	Dial(ctx context.Context, network, address string) (net.Conn, error)
	// Logs returns a container's log.
	Logs(ctx context.Context, t Task, container string, opts LogOptions) (io.ReadCloser, error)
	// Exec runs cmd in a running container with the given streams.
	Exec(ctx context.Context, t Task, container string, cmd []string, s Streams) error
	// Attach connects the streams to a running container's main process.
	Attach(ctx context.Context, t Task, container string, s Streams) error
	// Signal sends sig to a container's main process (SIGKILL ends it: its restart policy or
	// the end of its task follows, as ECS would do on its own exit).
	Signal(ctx context.Context, t Task, container string, sig syscall.Signal) error
	// VolumeDir returns the host directory of a task volume, where the node keeps configMap,
	// secret and projected files current; IsUnsupported where the node cannot reach it (AWS).
	VolumeDir(t Task, volume string) (string, error)
}

// ExitError is a command that ran and exited with a non-zero Code.
type ExitError struct {
	Code int
}

func (e *ExitError) Error() string { return fmt.Sprintf("command exited with code %d", e.Code) }

// UnsupportedError is an operation a Host cannot serve; Remedy says what the user can do.
type UnsupportedError struct {
	Op     string
	Remedy string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s is not available here: %s", e.Op, e.Remedy)
}

// IsUnsupported reports whether err (or one it wraps) is an *UnsupportedError.
func IsUnsupported(err error) bool {
	var u *UnsupportedError
	return errors.As(err, &u)
}
