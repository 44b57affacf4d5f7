package containerdproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/procwatch"
)

// Options configures a Supervisor.
type Options struct {
	// Dir holds everything of the daemon: config, root, state, socket, pid file and log.
	Dir string
	// Binary is the containerd executable; default "containerd" from PATH.
	Binary string
	Logger logr.Logger
	// StartTimeout bounds the wait for the daemon's socket after a start; default 30 s.
	StartTimeout time.Duration
	// StopTimeout bounds the wait for the daemon to exit after SIGTERM before SIGKILL; default 10 s.
	StopTimeout time.Duration
	// OnRunning, when set, is called each time the daemon answers on its socket after a start or
	// restart (from Run's goroutine): a client can reconnect at once instead of after its backoff.
	OnRunning func()
}

// Supervisor runs one private containerd daemon.
type Supervisor struct {
	opts      Options
	ready     chan struct{}
	readyOnce sync.Once
	// generation counts the daemons started or adopted (Generation).
	generation atomic.Uint64
}

// Generation counts the daemons this supervisor started or adopted so far; it grows before a new
// daemon is started or adopted, so a call that a daemon answered was answered by the same daemon
// as an earlier one when the generation read before the earlier call is still the current one.
// The runtime uses it to know that the daemon which started a container's shim is the one that
// deleted it (killForgottenShims).
func (s *Supervisor) Generation() uint64 { return s.generation.Load() }

// maxRestarts is how many restarts in a row may fail before Run gives up.
const maxRestarts = 5

// errKilled marks a daemon that died by a signal (or, adopted, vanished) before it answered. A
// daemon that exits on its own during its first start fails Run at once (its configuration or
// installation is wrong); one killed then is started again, as after any crash: nodeless exited
// when its containerd was killed while nodeless was starting (found by the chaos soak,
// bench/chaos), and the data plane stayed down.
var errKilled = errors.New("containerd was killed during start-up")

// New returns a supervisor for the daemon of opts.Dir; nothing starts before Run.
func New(opts Options) (*Supervisor, error) {
	if opts.Dir == "" {
		return nil, errors.New("containerd supervisor: Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("containerd supervisor: resolving %s: %w", opts.Dir, err)
	}
	opts.Dir = dir
	if opts.Binary == "" {
		opts.Binary = "containerd"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 10 * time.Second
	}
	return &Supervisor{opts: opts, ready: make(chan struct{})}, nil
}

// Address is the daemon's gRPC socket.
func (s *Supervisor) Address() string { return SocketPath(s.opts.Dir) }

// SocketPath is the gRPC socket of the daemon supervised for dir.
func SocketPath(dir string) string { return filepath.Join(dir, socketFile) }

// Name implements component.Component.
func (s *Supervisor) Name() string { return "containerd" }

// Ready is closed once the daemon first answers on its socket.
func (s *Supervisor) Ready() <-chan struct{} { return s.ready }

// Run starts the daemon (or adopts one still running for the same directory), restarts it when it
// dies, and stops it when ctx ends. Shims and containers keep running when the daemon stops; the
// next daemon for the same directory picks them up again.
func (s *Supervisor) Run(ctx context.Context) error {
	log := s.opts.Logger.WithValues("dir", s.opts.Dir)
	cfg, err := writeConfig(s.opts.Dir)
	if err != nil {
		return err
	}
	failures := 0
	for {
		d, err := s.startOrAdopt(ctx, cfg)
		switch {
		case ctx.Err() != nil:
			if d != nil {
				s.stop(d)
			}
			return nil
		case err != nil && !s.isReady() && !errors.Is(err, errKilled):
			return err
		case err != nil:
			failures++
			if failures > maxRestarts {
				return fmt.Errorf("containerd failed to restart %d times: %w", failures, err)
			}
			log.Error(err, "restarting containerd failed", "attempt", failures)
			if !sleep(ctx, time.Duration(failures)*time.Second) {
				return nil
			}
			continue
		}
		failures = 0
		log.Info("containerd running", "pid", d.pid, "adopted", d.cmd == nil)
		s.readyOnce.Do(func() { close(s.ready) })
		if s.opts.OnRunning != nil {
			s.opts.OnRunning()
		}
		select {
		case <-ctx.Done():
			s.stop(d)
			return nil
		case <-d.exited:
			log.Info("containerd exited, restarting", "pid", d.pid)
		}
	}
}

func (s *Supervisor) isReady() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// daemon is a running containerd: started by this process (cmd set) or adopted from the pid file.
type daemon struct {
	pid    int
	cmd    *exec.Cmd
	exited chan struct{}
}

// killed reports whether the daemon, which has exited, died by a signal; an adopted daemon's exit
// status is not known, and counts as killed. Call it once exited is closed.
func (d *daemon) killed() bool {
	if d.cmd == nil {
		return true
	}
	ws, ok := d.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

func (s *Supervisor) startOrAdopt(ctx context.Context, cfg string) (*daemon, error) {
	s.generation.Add(1)
	d := s.adopt(cfg)
	if d == nil {
		var err error
		if d, err = s.start(cfg); err != nil {
			return nil, err
		}
	}
	if err := s.waitSocket(ctx, d); err != nil {
		s.stop(d)
		return nil, err
	}
	return d, nil
}

// adopt returns the daemon recorded in the pid file when it still runs with this directory's config,
// or else a daemon found running with it. The pid file can be missing or stale while a daemon runs:
// a nodeless killed between starting containerd and writing the file leaves one (the chaos soak,
// bench/chaos, found it), and a second daemon on the same directory waits for the first's database
// lock until the start timeout and fails the data plane (and `nodeless down`).
func (s *Supervisor) adopt(cfg string) *daemon {
	path := filepath.Join(s.opts.Dir, pidFile)
	pid := 0
	if raw, err := os.ReadFile(path); err == nil {
		pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
	}
	if pid <= 0 || !runsConfig(pid, cfg) {
		if pid = findDaemon(cfg); pid <= 0 {
			return nil
		}
		_ = os.WriteFile(path, []byte(strconv.Itoa(pid)), 0o600)
	}
	d := &daemon{pid: pid, exited: make(chan struct{})}
	go procwatch.Watch(pid, d.exited)
	return d
}

// runsConfig reports whether pid runs with cfg on its command line (a zombie has none).
func runsConfig(pid int, cfg string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(cfg))
}

// findDaemon returns the pid of a live process started with `--config cfg`, or 0.
func findDaemon(cfg string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	want := []byte("\x00--config\x00" + cfg + "\x00")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Contains(cmdline, want) && !procwatch.Zombie(pid) {
			return pid
		}
	}
	return 0
}

func (s *Supervisor) start(cfg string) (*daemon, error) {
	_ = os.Remove(s.Address())
	logf, err := os.OpenFile(filepath.Join(s.opts.Dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening containerd log: %w", err)
	}
	defer func() { _ = logf.Close() }()
	cmd := exec.Command(s.opts.Binary, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a signal to nodeless's group (Ctrl-C) must not reach the daemon.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.opts.Binary, err)
	}
	d := &daemon{pid: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	if err := os.WriteFile(filepath.Join(s.opts.Dir, pidFile), []byte(strconv.Itoa(d.pid)), 0o600); err != nil {
		s.stop(d)
		return nil, fmt.Errorf("writing containerd pid file: %w", err)
	}
	return d, nil
}

func (s *Supervisor) waitSocket(ctx context.Context, d *daemon) error {
	deadline := time.NewTimer(s.opts.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial("unix", s.Address()); err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.exited:
			if d.killed() {
				return fmt.Errorf("%w (pid %d)", errKilled, d.pid)
			}
			return fmt.Errorf("containerd exited during start-up; see %s", filepath.Join(s.opts.Dir, logFile))
		case <-deadline.C:
			return fmt.Errorf("containerd socket %s not ready after %s", s.Address(), s.opts.StartTimeout)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, then SIGKILL after StopTimeout, and removes the pid file.
func (s *Supervisor) stop(d *daemon) {
	_ = unix.Kill(d.pid, unix.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(s.opts.StopTimeout):
		_ = unix.Kill(d.pid, unix.SIGKILL)
		<-d.exited
	}
	// Another supervisor may have started a new daemon meanwhile: only remove our own pid.
	path := filepath.Join(s.opts.Dir, pidFile)
	if raw, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(raw)) == strconv.Itoa(d.pid) {
		_ = os.Remove(path)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// RunFor starts a containerd in opts.Dir (or adopts the one running there), calls f with its
// socket's address once it is ready, and stops it when f returns: for commands that need the
// daemon for one call while no data plane runs (`nodeless image load`, `nodeless down`).
// Errors: the daemon's failure to start (naming opts.Dir), ctx's, or f's.
func RunFor(ctx context.Context, opts Options, f func(address string) error) error {
	sup, err := New(opts)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sup.Run(runCtx) }()
	select {
	case <-sup.Ready():
	case err := <-done:
		cancel()
		return fmt.Errorf("starting containerd in %s: %w", opts.Dir, err)
	case <-ctx.Done():
		cancel()
		<-done
		return ctx.Err()
	}
	err = f(sup.Address())
	cancel()
	<-done
	return err
}
