package dataplanetest

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
)

// startTimeout bounds how long the data plane may take to serve (containerd start included).
const startTimeout = 60 * time.Second

// HealthyAfterRunning is how long a service task without a container health check must be
// RUNNING before it counts as healthy, unless the test's options say otherwise: short, so that
// rollouts complete within seconds rather than after ECS's 40 s (the data plane's default).
const HealthyAfterRunning = 2 * time.Second

// Env is a running data plane and an ECS client for it.
type Env struct {
	Endpoint    string
	Region      string
	Credentials aws.Credentials
	// CredentialsFile is the shared-credentials file (profile nodeless) the data plane wrote.
	CredentialsFile string
	ECS             *ecs.Client
	StateDir        string
	DataPlane       *dataplane.DataPlane

	t      testing.TB
	cancel context.CancelFunc
	done   chan error
}

// Requirements returns why the full data plane cannot run here (not root, a binary missing), or nil.
func Requirements() error { return dataplane.Preflight() }

// skipUnlessRunnable skips tests that need real containers under -short (make test-unit) and where
// the data plane cannot run.
func skipUnlessRunnable(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: the full data plane runs real containers; not in -short mode")
	}
	if err := Requirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// Start runs a data plane on a new temporary state dir; the test is skipped in -short mode and
// when Requirements fails.
func Start(t testing.TB) *Env {
	t.Helper()
	skipUnlessRunnable(t)
	dir := t.TempDir()
	t.Cleanup(func() { UnmountUnder(t, dir) }) // runs after every Env on dir has stopped
	return StartIn(t, dir)
}

// StartIn runs a data plane on an existing state dir (a restart).
func StartIn(t testing.TB, stateDir string) *Env {
	t.Helper()
	return StartWith(t, dataplane.Options{StateDir: stateDir})
}

// StartWith runs a data plane with opts; StateDir defaults to a new temporary directory, Address
// to a free port on 127.0.0.1, Logger to the test's log, HealthyAfterRunning to the package's.
func StartWith(t testing.TB, opts dataplane.Options) *Env {
	t.Helper()
	skipUnlessRunnable(t)
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
		dir := opts.StateDir
		t.Cleanup(func() { UnmountUnder(t, dir) })
	}
	if opts.Address == "" {
		opts.Address = "127.0.0.1:0"
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logger(t)
	}
	if opts.HealthyAfterRunning == 0 {
		opts.HealthyAfterRunning = HealthyAfterRunning
	}
	stateDir := opts.StateDir
	d, err := dataplane.New(opts)
	if err != nil {
		t.Fatalf("starting the data plane: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{
		Endpoint: d.Endpoint(), Region: d.Region(), Credentials: d.Credentials(), CredentialsFile: d.CredentialsFile(),
		StateDir: stateDir, DataPlane: d, t: t, cancel: cancel, done: make(chan error, 1),
	}
	go func() { e.done <- d.Run(ctx) }()
	select {
	case <-d.Ready():
	case err := <-e.done:
		cancel()
		e.cancel = nil
		t.Fatalf("the data plane failed before serving: %v", err)
	case <-time.After(startTimeout):
		t.Fatalf("the data plane did not serve within %s", startTimeout)
	}
	e.ECS = ecs.New(ecs.Options{
		Region:       e.Region,
		BaseEndpoint: aws.String(e.Endpoint),
		Credentials:  aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return e.Credentials, nil }),
		HTTPClient:   &http.Client{Transport: ConformanceTransport(t)},
	})
	t.Cleanup(func() {
		if e.cancel != nil {
			e.purge()
			e.Stop()
		}
	})
	return e
}

// ConformanceTransport checks every response against the ECS model and fails t (without stopping
// it) on any that does not conform: the Env's client uses it, so every end-to-end test is also a
// conformance test of what the scheduler writes.
func ConformanceTransport(t testing.TB) http.RoundTripper {
	return &ecsmodel.Transport{Report: func(op string, problems []error) {
		t.Errorf("%s response does not conform to the ECS model: %v", op, problems)
	}}
}

func logger(t testing.TB) logr.Logger {
	if tt, ok := t.(*testing.T); ok {
		return testr.NewWithOptions(tt, testr.Options{Verbosity: 0})
	}
	return logr.Discard()
}

// Stop ends the data plane as a shutdown would: containers keep running, and a data plane started
// on the same state dir re-attaches to them. It is a no-op when already stopped.
func (e *Env) Stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("data plane Run: %v", err)
		}
	case <-time.After(startTimeout):
		e.t.Errorf("the data plane did not stop within %s", startTimeout)
	}
}

// Restart stops the data plane and starts a new one on the same state dir.
func (e *Env) Restart(t testing.TB) *Env {
	t.Helper()
	e.Stop()
	return StartIn(t, e.StateDir)
}

// purge kills and removes every container of the data plane's containerd.
func (e *Env) purge() {
	client := e.DataPlane.Runtime().Client()
	if client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), runtime.Namespace), 30*time.Second)
	defer cancel()
	containers, err := client.Containers(ctx)
	if err != nil {
		e.t.Logf("listing containers to remove: %v", err)
		return
	}
	for _, c := range containers {
		if task, err := c.Task(ctx, nil); err == nil {
			if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
				e.t.Logf("killing container %s: %v", c.ID(), err)
			}
		}
		if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			e.t.Logf("removing container %s: %v", c.ID(), err)
		}
	}
}

// UnmountUnder detaches every mount below dir (network namespaces, container root filesystems),
// deepest first, so the temporary directory can be removed.
func UnmountUnder(t testing.TB, dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	prefix := filepath.Clean(dir) + "/"
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], prefix) {
			mounts = append(mounts, fields[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := unix.Unmount(mounts[i], unix.MNT_DETACH); err != nil {
			t.Logf("unmounting %s: %v", mounts[i], err)
		}
	}
}
