// Package controllertest runs nodeless's controllers on the real kube-apiserver for tests:
// Kube joins the shared embedded control plane (internal/testenv) with the ecs.nodeless.dev CRDs
// installed, Run starts a controller.Manager on it and stops it when the test ends.
//
// It is imported only by tests (the ECS controllers' and the Pod controller's integration
// tests), so that both start, wait for and stop the controllers the same way.
package controllertest

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/config/crd"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// readyTimeout bounds the wait for the manager's caches and controllers to start; it only ends
// a test that would hang.
const readyTimeout = time.Minute

// Kube starts (or joins) the control plane with the CRDs installed and returns a client that can
// also watch, with nodeless's scheme, and the test's environment (a fresh namespace). It skips
// the test under -short.
func Kube(t *testing.T) (client.WithWatch, *testenv.Env) {
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
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, env
}

// Run creates the controllers of cfg, runs them until they are ready and returns the manager
// and a stop function; stop (idempotent, also called when the test ends) cancels them, waits
// for them to return and reports an error they returned. It fails the test when the manager
// cannot be created or does not become ready within a minute.
func Run(t *testing.T, cfg controller.Config) (m *controller.Manager, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := controller.New(ctx, cfg)
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
	case <-time.After(readyTimeout):
		cancel()
		t.Fatalf("controllers not ready after %v", readyTimeout)
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
	return m, stop
}
