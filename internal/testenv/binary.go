package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
)

// BinaryEnvVar names the environment variable holding the nodeless binary to test. The Makefile
// sets it to bin/nodeless.
const BinaryEnvVar = "NODELESS_BIN"

// UpArgsEnvVar names the environment variable whose space-separated words are added to every
// `nodeless up` a test starts, for debugging a failure (e.g. NODELESS_TEST_UP_ARGS=--v=2 for the
// controllers' and the prober's V(1) and V(2) logs in <state-dir>/logs/nodeless.log).
const UpArgsEnvVar = "NODELESS_TEST_UP_ARGS"

// process is one `nodeless up` started by WithBinary.
type process struct {
	bin     string
	args    []string
	cmd     *exec.Cmd
	out     *SyncBuffer
	done    chan struct{}
	exitErr error
}

// startBinary runs `nodeless up` in a temp state dir on free ports: the control plane only, or with
// nodeless's parts (CRDs, controllers, local data plane) when parts is set.
func startBinary(t testing.TB, parts bool, extraArgs []string) (*Env, error) {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	stateDir := t.TempDir()
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	args := []string{"up", "--state-dir", stateDir,
		"--apiserver-port", strconv.Itoa(ports[0]),
		"--etcd-client-port", strconv.Itoa(ports[1]),
		"--etcd-peer-port", strconv.Itoa(ports[2])}
	env := &Env{StateDir: stateDir, Kubeconfig: controlplane.KubeconfigPath(stateDir)}
	if parts {
		dataplaneAddr := net.JoinHostPort(controlplane.Host, strconv.Itoa(ports[3]))
		// Rollouts of tasks without health checks complete within seconds, not after ECS's 40 s.
		args = append(args, "--dataplane-address", dataplaneAddr, "--healthy-after-running", "2s",
			// Tests run side by side: the virtual node's kubelet API must not take 10250.
			"--kubelet-port", strconv.Itoa(ports[4]))
		env.DataPlaneEndpoint = "http://" + dataplaneAddr
	} else {
		args = append(args, "--control-plane-only")
	}
	args = append(args, strings.Fields(os.Getenv(UpArgsEnvVar))...)
	p := &process{bin: bin, args: append(args, extraArgs...)}
	env.proc = p
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("stopping nodeless up: %v\n%s", err, p.out)
		}
		if parts {
			down(t, bin, stateDir)
		}
	})
	if err := p.start(); err != nil {
		return nil, err
	}
	if env.Config, err = controlplane.RESTConfigFromKubeconfig(env.Kubeconfig); err != nil {
		return nil, err
	}
	return env, nil
}

// down runs `nodeless down` on stateDir, as a user who wants the machine back would: `nodeless up`
// leaves task containers running when it stops (the next start re-attaches them), and their shims
// would otherwise outlive the test and race the removal of its temp dir.
func down(t testing.TB, bin, stateDir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "down", "--state-dir", stateDir, "--grace", "5s").CombinedOutput()
	if err != nil {
		t.Errorf("nodeless down: %v\n%s", err, out)
	}
}

// Output is what `nodeless up` printed so far (binary mode only).
func (e *Env) Output() string {
	if e.proc == nil || e.proc.out == nil {
		return ""
	}
	return e.proc.out.String()
}

// PID is the process id of `nodeless up` (binary mode only; 0 otherwise).
func (e *Env) PID() int {
	if e.proc == nil || e.proc.cmd == nil || e.proc.cmd.Process == nil {
		return 0
	}
	return e.proc.cmd.Process.Pid
}

// Stop stops `nodeless up` with SIGTERM and waits for it to exit (binary mode only). It returns
// the time the process took to exit.
func (e *Env) Stop(t testing.TB) time.Duration {
	t.Helper()
	if e.proc == nil {
		t.Fatal("Env.Stop: only a control plane started WithBinary can be stopped")
	}
	begin := time.Now()
	if err := e.proc.stop(); err != nil {
		t.Fatalf("stopping nodeless up: %v\n%s", err, e.proc.out)
	}
	return time.Since(begin)
}

// Kill kills `nodeless up` with SIGKILL, as a crash or an OOM kill would, and waits for it to
// exit (binary mode only).
func (e *Env) Kill(t testing.TB) {
	t.Helper()
	if e.proc == nil || e.proc.cmd == nil {
		t.Fatal("Env.Kill: only a running control plane started WithBinary can be killed")
	}
	_ = e.proc.cmd.Process.Kill()
	<-e.proc.done
}

// Restart starts `nodeless up` again on the same state dir and ports after Stop (binary mode
// only).
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	if e.proc == nil {
		t.Fatal("Env.Restart: only a control plane started WithBinary can be restarted")
	}
	if err := e.proc.start(); err != nil {
		t.Fatalf("restarting nodeless up: %v", err)
	}
}

// start runs the process and waits until it prints that it is ready.
func (p *process) start() error {
	p.out = &SyncBuffer{}
	p.cmd = exec.Command(p.bin, p.args...)
	ready := make(chan struct{})
	p.cmd.Stdout = &readyWriter{w: p.out, ready: ready}
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.bin, err)
	}
	p.done = make(chan struct{})
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
		return nil
	case <-p.done:
		return fmt.Errorf("nodeless up exited while starting (%w):\n%s", p.exitErr, p.out)
	case <-time.After(startTimeout):
		_ = p.stop()
		return fmt.Errorf("nodeless up not ready after %s:\n%s", startTimeout, p.out)
	}
}

// stop sends SIGTERM and waits; it is a no-op when the process is not running.
func (p *process) stop() error {
	if p.cmd == nil || p.done == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil // already exited (its error was reported by whoever saw it exit)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("nodeless up did not exit within 30s of SIGTERM; killed")
	}
	var exit *exec.ExitError
	if errors.As(p.exitErr, &exit) {
		return fmt.Errorf("nodeless up exited with %w", p.exitErr)
	}
	return p.exitErr
}

// readyWriter copies output to w and closes ready at the line `nodeless up` prints when ready.
type readyWriter struct {
	w     io.Writer
	ready chan struct{}
	line  []byte
	seen  bool
}

func (r *readyWriter) Write(b []byte) (int, error) {
	if !r.seen {
		r.line = append(r.line, b...)
		sc := bufio.NewScanner(bytes.NewReader(r.line))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready in ") {
				r.seen = true
				r.line = nil
				close(r.ready)
				break
			}
		}
	}
	return r.w.Write(b)
}

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// Binary returns the nodeless binary to test: $NODELESS_BIN, or else one built once per test
// process with `go build` into a temp dir (removed by Main).
func Binary() (string, error) {
	if bin := os.Getenv(BinaryEnvVar); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%s=%s: %w (run `make build`)", BinaryEnvVar, bin, err)
		}
		return bin, nil
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "nodeless-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "nodeless")
		built.err = goBuild(built.bin)
	})
	return built.bin, built.err
}

// goBuild builds cmd/nodeless as the Makefile does, with the Kubernetes version stamped in.
func goBuild(out string) error {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("finding the module root: %w", err)
	}
	script := filepath.Join(strings.TrimSpace(string(root)), "hack", "kube-version-ldflags.sh")
	ldflags, err := exec.Command(script).Output()
	if err != nil {
		return fmt.Errorf("%s: %w", script, err)
	}
	cmd := exec.Command("go", "build", "-ldflags", strings.TrimSpace(string(ldflags)), "-o", out,
		"github.com/nodeless-dev/nodeless/cmd/nodeless")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building nodeless (set %s to skip): %w\n%s", BinaryEnvVar, err, b)
	}
	return nil
}

func removeBuiltBinary() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}

// freePorts returns n ports on 127.0.0.1 that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close() // only held to get distinct ports
		}
	}()
	for range n {
		l, err := net.Listen("tcp", controlplane.Host+":0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
