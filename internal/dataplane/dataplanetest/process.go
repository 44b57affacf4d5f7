package dataplanetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/containerd/containerd"

	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/containerdproc"
)

// Process is `nodeless dataplane` running as a child process of the test, so that the test can
// kill -9 it as a crash would and start it again on the same state dir.
type Process struct {
	cmd  *exec.Cmd
	done chan error
	// Log is the file the process writes its stdout and stderr to, under the state dir.
	Log string
}

// StartProcess starts `bin dataplane` on stateDir and addr (a host:port on 127.0.0.1), with
// --healthy-after-running HealthyAfterRunning and then args; its output goes to
// <stateDir>/e2e-dataplane-<n>.log. It does not wait for the API: see Process.Client.
func StartProcess(t testing.TB, bin, stateDir, addr string, n int, args ...string) *Process {
	t.Helper()
	logPath := filepath.Join(stateDir, fmt.Sprintf("e2e-dataplane-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"dataplane", "--state-dir", stateDir, "--address", addr,
		"--healthy-after-running", HealthyAfterRunning.String()}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("starting %s dataplane: %v", bin, err)
	}
	p := &Process{cmd: cmd, done: make(chan error, 1), Log: logPath}
	go func() {
		p.done <- cmd.Wait()
		_ = logFile.Close()
	}()
	t.Logf("nodeless dataplane #%d: pid %d, log %s", n, cmd.Process.Pid, logPath)
	return p
}

// Pid is the process's ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill9 kills the process with SIGKILL, as a crash would (no shutdown code runs), and waits until
// it is gone.
func (p *Process) Kill9(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill -9: %v", err)
	}
	p.wait()
}

// Terminate asks the process to shut down (SIGTERM), killing it if it does not within a minute.
func (p *Process) Terminate(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(time.Minute):
		t.Errorf("nodeless dataplane did not stop within a minute of SIGTERM; killing it")
		_ = p.cmd.Process.Kill()
		p.wait()
	}
}

func (p *Process) wait() {
	err := <-p.done
	p.done <- err // later waits return at once
}

// Exited returns the process's exit error and true once it has exited.
func (p *Process) Exited() (error, bool) { return p.exited() }

// exited returns the process's exit error and true once it has exited.
func (p *Process) exited() (error, bool) {
	select {
	case err := <-p.done:
		p.done <- err
		return err, true
	default:
		return nil, false
	}
}

// Client waits, polling every 50 ms for at most timeout, until the process's API answers
// ListClusters, and returns an ECS client that signs with the credentials the data plane wrote
// (<stateDir>/credentials, profile nodeless), as a user's client would; opts change the client
// (a retryer, a transport). Errors: the process exited, or the timeout passed (with the last error).
func (p *Process) Client(ctx context.Context, stateDir, addr string, timeout time.Duration, opts ...func(*ecs.Options)) (*ecs.Client, error) {
	credentialsFile := filepath.Join(stateDir, "credentials")
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if err, ok := p.exited(); ok {
			return nil, fmt.Errorf("nodeless dataplane exited: %w (see its log %s)", err, p.Log)
		}
		c, err := clientAt(ctx, credentialsFile, addr, opts)
		if err == nil {
			return c, nil
		}
		last = err
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("the data plane at %s did not answer within %s: %w", addr, timeout, last)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func clientAt(ctx context.Context, credentialsFile, addr string, opts []func(*ecs.Options)) (*ecs.Client, error) {
	if _, err := os.Stat(credentialsFile); err != nil {
		return nil, fmt.Errorf("no credentials file yet: %w", err)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedCredentialsFiles([]string{credentialsFile}),
		config.WithSharedConfigProfile(credentials.Profile), config.WithRegion("us-east-1"))
	if err != nil {
		return nil, err
	}
	c := ecs.NewFromConfig(cfg, append([]func(*ecs.Options){func(o *ecs.Options) { o.BaseEndpoint = aws.String("http://" + addr) }}, opts...)...)
	callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = c.ListClusters(callCtx, &ecs.ListClustersInput{}, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
	return c, err
}

// FreeAddress returns a free 127.0.0.1:port.
func FreeAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// ShimsOf returns the pids and command lines of the live containerd shims of stateDir (processes
// whose command line names containerd-shim and a path under stateDir). Zombies have no command
// line and are not listed.
func ShimsOf(stateDir string) map[int]string {
	shims := map[int]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(raw), "\x00", " ")
		if !strings.Contains(cmd, "containerd-shim") || !strings.Contains(cmd, stateDir+"/") {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(filepath.Dir(p)), "%d", &pid); err == nil {
			shims[pid] = cmd
		}
	}
	return shims
}

// KillLeftoverShims kills the containerd shims of stateDir still running after the data plane and
// its containers are gone (a shim whose task creation a kill -9 interrupted can outlive
// everything), so that the test leaves no process behind; it logs them, since they are a runtime
// leak.
func KillLeftoverShims(t testing.TB, stateDir string) {
	for pid, cmd := range ShimsOf(stateDir) {
		t.Logf("killing a containerd shim left behind (pid %d): %s", pid, cmd)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// ContainerTaskIDs lists, sorted, the task IDs of the containers in the private containerd of
// stateDir (container IDs are "<task ID>-<container name>"; a task with two containers is listed
// twice). The daemon must be running.
func ContainerTaskIDs(ctx context.Context, stateDir string) ([]string, error) {
	sock := containerdproc.SocketPath(runtime.ContainerdDir(stateDir))
	client, err := containerd.New(sock, containerd.WithDefaultNamespace(runtime.Namespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connecting to containerd at %s: %w", sock, err)
	}
	defer func() { _ = client.Close() }()
	containers, err := client.Containers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	ids := make([]string, 0, len(containers))
	for _, c := range containers {
		id, _, _ := strings.Cut(c.ID(), "-")
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}
