package localhost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// Exec runs cmd in the container as a new process of its task (containerd's exec): in the
// container's namespaces, with its environment, user and working directory, a terminal with TTY.
// It returns when the process exited and its output is delivered; *taskhost.ExitError for a
// non-zero exit. When ctx ends first the process is killed.
func (h *Host) Exec(ctx context.Context, t taskhost.Task, container string, cmd []string, s taskhost.Streams) error {
	if len(cmd) == 0 {
		return fmt.Errorf("exec in container %s: no command given", container)
	}
	task, cont, err := h.process(ctx, t, container)
	if err != nil {
		return err
	}
	spec, err := cont.Spec(ctx)
	if err != nil {
		return fmt.Errorf("reading the spec of container %s of task %s: %w", container, t.ID, err)
	}
	pspec := *spec.Process
	pspec.Args, pspec.Terminal = cmd, s.TTY
	stdinDone := make(chan struct{})
	proc, err := task.Exec(ctx, execID(), &pspec, cio.NewCreator(h.ioOpts(s, stdinDone)...))
	if err != nil {
		return fmt.Errorf("exec in container %s of task %s: %w", container, t.ID, err)
	}
	defer deleteProcess(proc)
	code, err := runProcess(ctx, proc, s, stdinDone)
	if err != nil {
		return fmt.Errorf("exec in container %s of task %s: %w", container, t.ID, err)
	}
	if code != 0 {
		return &taskhost.ExitError{Code: int(code)}
	}
	return nil
}

// ioOpts are the exec's streams; stdinDone is closed when stdin ends.
func (h *Host) ioOpts(s taskhost.Streams, stdinDone chan struct{}) []cio.Opt {
	var stdin io.Reader
	if s.Stdin != nil {
		stdin = &eofReader{r: s.Stdin, done: stdinDone}
	}
	stdout, stderr := s.Stdout, s.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || s.TTY {
		stderr = io.Discard
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(h.fifoDir())}
	if s.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	return opts
}

// runProcess starts proc and waits for its exit, forwarding terminal sizes and the end of stdin;
// it kills proc when ctx ends.
func runProcess(ctx context.Context, proc containerd.Process, s taskhost.Streams, stdinDone <-chan struct{}) (uint32, error) {
	exited, err := proc.Wait(context.WithoutCancel(ctx))
	if err != nil {
		return 0, err
	}
	if err := proc.Start(ctx); err != nil {
		return 0, err
	}
	stop := make(chan struct{})
	defer close(stop)
	if s.TTY && s.Resize != nil {
		go forwardResize(ctx, proc, s.Resize, stop)
	}
	go func() {
		select {
		case <-stdinDone:
			_ = proc.CloseIO(context.WithoutCancel(ctx), containerd.WithStdinCloser)
		case <-stop:
		}
	}()
	var st containerd.ExitStatus
	select {
	case st = <-exited:
	case <-ctx.Done():
		_ = proc.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		st = <-exited
	}
	// The output still in flight reaches the streams before the exit is reported.
	proc.IO().Wait()
	code, _, err := st.Result()
	return code, err
}

func forwardResize(ctx context.Context, proc containerd.Process, sizes <-chan taskhost.TermSize, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case size, ok := <-sizes:
			if !ok {
				return
			}
			_ = proc.Resize(ctx, uint32(size.Width), uint32(size.Height))
		}
	}
}

// deleteProcess removes an exec'd process from its task (its FIFOs too).
func deleteProcess(proc containerd.Process) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := proc.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		proc.IO().Cancel()
	}
	_ = proc.IO().Close()
}

// execID names one exec process.
func execID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "exec-" + hex.EncodeToString(b[:])
}

// eofReader closes done once r is read to its end (or fails).
type eofReader struct {
	r    io.Reader
	done chan struct{}
	once sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.done) })
	}
	return n, err
}
