package integration

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/controllertest"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

func TestMain(m *testing.M) {
	// Errors only: the controllers' progress is what the tests assert.
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(testenv.Main(m))
}

// kube joins the control plane with the CRDs installed (controllertest.Kube).
func kube(t *testing.T) (client.Client, *testenv.Env) {
	t.Helper()
	return controllertest.Kube(t)
}

// runControllers runs the controllers on env against api until the returned stop is called or
// the test ends.
func runControllers(t *testing.T, env *testenv.Env, api ecsapi.API) (stop func()) {
	t.Helper()
	_, stop = controllertest.Run(t, controller.Config{
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
	return stop
}

// eventually polls cond every 100ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testwait.For(t, timeout, 100*time.Millisecond, what, cond)
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
