package integration

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/config/crd"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

func TestMain(m *testing.M) {
	// Errors only: the controllers' progress is what the tests assert.
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(testenv.Main(m))
}

// kube starts (or joins) the control plane with the CRDs installed and returns a client and a
// fresh namespace.
func kube(t *testing.T) (client.Client, *testenv.Env) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the embedded control plane")
	}
	manifests, err := crd.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, testenv.WithCRDs(manifests...))
	scheme, err := controller.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, env
}

// runControllers runs the controllers on env against api until the returned stop is called or
// the test ends.
func runControllers(t *testing.T, env *testenv.Env, api ecsapi.API) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := controller.New(ctx, controller.Config{
		RestConfig: env.Config,
		ECS:        api,
		Limits:     controller.NoRateLimit(),
		Controllers: managed.Options{
			PollInterval: 300 * time.Millisecond, StablePollInterval: 2 * time.Second, KeepRevisions: 2,
		},
		SyncPeriod: time.Second,
		// Tests share one API server: never touch another test's objects.
		Namespaces:   []string{env.Namespace},
		AllowRestart: true,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("controllers exited before ready: %v", err)
	case <-time.After(time.Minute):
		cancel()
		t.Fatal("controllers not ready after a minute")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controllers: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// eventually polls cond every 100ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state: %s", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func errContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("accepted; want a refusal mentioning %q", parts)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}
