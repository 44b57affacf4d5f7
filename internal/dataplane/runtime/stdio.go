package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/containerd/containerd/cio"
	"github.com/containerd/fifo"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/crilog"
)

// Interactive containers (ECS interactive, pseudoTerminal; Kubernetes stdin, tty).
//
// A container's output normally goes to the logging binary (binary:// URI, logs.go). The runc
// shim of containerd 1.7 cannot combine that with a standard input: its binary IO has no stdin
// (pkg/process binaryIO.Stdin returns nil and the stdin FIFO is never copied); only a terminal's
// console copy reads a stdin FIFO next to a binary:// stdout. So interactive containers get
// FIFOs for all three streams, as containerd's own clients use them, and nodeless copies stdout
// and stderr into the same CRI log file (package crilog) the logging binary writes for the
// others; `kubectl logs` and attach's output read that file as for any container.
//
// Standard input: the shim opens the stdin FIFO for reading and, to keep the container's stdin
// open between writers, for writing too; nodeless holds no writer. An attach opens StdinPath,
// writes, and ends the container's input with containerd's CloseIO (WithStdinCloser) when its
// own input ends — Kubernetes' stdinOnce, which `kubectl run -i` sets. A restart of nodeless
// therefore changes nothing for a container waiting for its input. The FIFOs live in the state
// directory (stdio/<task>/), so after a restart the output is copied again (resumeStdio); while
// nodeless is down the output waits in the pipe (64 KiB), and a container writing more blocks
// until nodeless is back (the shim keeps a reader open, so no write fails and nothing is lost).

// StdinPath is the FIFO an interactive container reads its standard input from: write to it to
// reach the container; CloseIO (containerd.WithStdinCloser) on its process ends the input.
func StdinPath(stateDir, taskID, container string) string {
	return filepath.Join(stdioDir(stateDir, taskID), container+"-stdin")
}

func stdioDir(stateDir, taskID string) string { return filepath.Join(stateDir, "stdio", taskID) }

// stdioCreator is how the shim gets the FIFOs of an interactive container c.
func (t *task) stdioCreator(c *ctr) cio.Creator {
	return func(string) (cio.IO, error) { return t.openStdio(c) }
}

// resumeStdio copies the output of an interactive container that runs since before this
// process into its log again.
func (t *task) resumeStdio(c *ctr) {
	if _, err := t.openStdio(c); err != nil {
		t.log.Info("interactive container's output cannot be copied to its log", "container", c.spec.Name, "error", err.Error())
	}
}

// openStdio makes (or finds) c's FIFOs and copies its stdout and stderr into its CRI log file
// until the container's process ends or the task's context ends.
func (t *task) openStdio(c *ctr) (cio.IO, error) {
	dir := stdioDir(t.c.opts.StateDir, t.id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the stdio directory of container %s: %w", c.spec.Name, err)
	}
	cfg := cio.Config{
		Stdin:    StdinPath(t.c.opts.StateDir, t.id, c.spec.Name),
		Stdout:   filepath.Join(dir, c.spec.Name+"-stdout"),
		Terminal: c.spec.Terminal,
	}
	if !c.spec.Terminal {
		cfg.Stderr = filepath.Join(dir, c.spec.Name+"-stderr") // a terminal has one stream
	}
	if err := unix.Mkfifo(cfg.Stdin, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("creating the stdin FIFO of container %s: %w", c.spec.Name, err)
	}
	logPath := LogPath(t.c.opts.StateDir, t.id, c.spec.Name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening the log of container %s: %w", c.spec.Name, err)
	}
	s := &stdio{config: cfg, log: logFile}
	ctx, cancel := context.WithCancel(t.ctx)
	s.cancel = cancel
	for _, p := range [][2]string{{crilog.Stdout, cfg.Stdout}, {crilog.Stderr, cfg.Stderr}} {
		if p[1] == "" {
			continue
		}
		r, err := fifo.OpenFifo(ctx, p[1], syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NONBLOCK, 0o600)
		if err != nil {
			_ = s.Close()
			_ = logFile.Close()
			return nil, fmt.Errorf("opening the %s FIFO of container %s: %w", p[0], c.spec.Name, err)
		}
		s.readers = append(s.readers, r)
		s.copy(p[0], r)
	}
	go func() { <-ctx.Done(); s.closeReaders() }()
	go func() { s.wg.Wait(); cancel(); _ = logFile.Close() }()
	return s, nil
}

// stdio is cio.IO over an interactive container's FIFOs; the copies into the log end by
// themselves when the process's output ends.
type stdio struct {
	config  cio.Config
	log     *os.File
	w       *crilog.Writer
	readers []io.ReadCloser
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	once    sync.Once
}

func (s *stdio) copy(stream string, r io.Reader) {
	if s.w == nil {
		s.w = crilog.New(s.log)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.w.Copy(stream, r) // ends at the end of the output, or when the readers are closed
	}()
}

func (s *stdio) closeReaders() {
	s.once.Do(func() {
		for _, r := range s.readers {
			_ = r.Close()
		}
	})
}

// Config implements cio.IO.
func (s *stdio) Config() cio.Config { return s.config }

// Cancel implements cio.IO: it stops the copies.
func (s *stdio) Cancel() { s.cancel() }

// Wait implements cio.IO: it waits for the copies to end.
func (s *stdio) Wait() { s.wg.Wait() }

// Close implements cio.IO. containerd closes a task's IO when the task is deleted; the copies
// have ended by then, or end now.
func (s *stdio) Close() error {
	s.cancel()
	s.closeReaders()
	return nil
}
