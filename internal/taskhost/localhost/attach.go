package localhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/fifo"
	"k8s.io/cri-client/pkg/logs"

	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// Attach connects the streams to the container's main process until it stops or ctx ends: its
// output from now on (read from its log file, lines timestamped after the attach began), and for
// a container created with stdin (ECS interactive) its standard input: s.Stdin is written to the
// container's stdin FIFO (runtime.StdinPath); with s.StdinOnce (the container's stdinOnce, which
// `kubectl run -i` sets) its end ends the container's input (see copyStdin), without it the input
// stays open for the next attach, as the kubelet does. With s.TTY, terminal sizes are forwarded. Stdin or a terminal asked of a container created without them is an
// UnsupportedError saying how to run it.
func (h *Host) Attach(ctx context.Context, t taskhost.Task, container string, s taskhost.Streams) error {
	proc, cont, err := h.process(ctx, t, container)
	if err != nil {
		return err
	}
	since := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.Stdin != nil {
		spec, err := cont.Spec(ctx)
		if err != nil {
			return fmt.Errorf("reading the spec of container %s of task %s: %w", container, t.ID, err)
		}
		in, err := h.openStdin(ctx, t, container)
		if err != nil {
			return err
		}
		terminal := spec.Process != nil && spec.Process.Terminal
		go copyStdin(ctx, proc, in, s.Stdin, terminal, s.StdinOnce)
	}
	if s.TTY && s.Resize != nil {
		go forwardResize(ctx, proc, s.Resize, ctx.Done())
	}
	stdout, stderr := s.Stdout, s.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	err = h.readLogs(ctx, t, container, &logs.LogOptions{Follow: true, Since: since}, stdout, stderr)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// openStdin opens the container's stdin FIFO for writing; a container created without stdin
// has none.
func (h *Host) openStdin(ctx context.Context, t taskhost.Task, container string) (io.WriteCloser, error) {
	path := runtime.StdinPath(h.stateDir, t.ID, container)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, &taskhost.UnsupportedError{Op: "kubectl attach -i",
			Remedy: fmt.Sprintf("container %s was created without stdin: set stdin: true in its spec (kubectl run -i) to attach its input, or use kubectl exec -i", container)}
	}
	w, err := fifo.OpenFifo(ctx, path, syscall.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the standard input of container %s of task %s: %w", container, t.ID, err)
	}
	return w, nil
}

// copyStdin copies r to the container's stdin w; at the end of r it ends the container's input
// when once (stdinOnce), else it only closes w (the shim's own writer keeps the input open for
// the next attach). Ending the input without a terminal is CloseIO (the shim holds a writer of its own, so closing w alone
// would not). On a terminal it is the terminal's end-of-file character (^D, twice after an
// unfinished line), as a user ends a terminal's input: CloseIO would make the shim close the
// console at once, hanging up the process and losing the output still in flight (containerd's
// CRI plugin does not close a terminal's stdin at the end of an attach either). When ctx ends
// first (the client went away without ending its input) the container's stdin stays open.
func copyStdin(ctx context.Context, proc containerd.Task, w io.WriteCloser, r io.Reader, terminal, once bool) {
	last := &lastByte{w: w, b: '\n'}
	_, err := io.Copy(last, r)
	if err != nil || ctx.Err() != nil || !once {
		_ = w.Close()
		return
	}
	if terminal {
		eof := []byte{eot}
		if last.b != '\n' {
			eof = append(eof, eot) // the first ^D only ends the unfinished line
		}
		_, _ = w.Write(eof)
		_ = w.Close()
		return
	}
	_ = w.Close()
	_ = proc.CloseIO(context.WithoutCancel(ctx), containerd.WithStdinCloser)
}

// eot is a terminal's end-of-file character (VEOF, ^D).
const eot = 0x04

// lastByte is a writer that remembers the last byte written.
type lastByte struct {
	w io.Writer
	b byte
}

func (l *lastByte) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.b = p[n-1]
	}
	return n, err
}
