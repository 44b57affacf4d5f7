// Package testenv starts nodeless's embedded Kubernetes control plane (real etcd, kube-apiserver
// and kube-controller-manager, see internal/controlplane) for tests, and hands back an admin
// rest.Config. It replaces controller-runtime's envtest, whose binaries cannot be downloaded here.
//
// Two modes:
//
//   - In-process (the default): one control plane per test binary, started by the first Start and
//     shared by every test after it. The embedded kube-apiserver keeps process-wide state and can
//     run only once per process, so it is never stopped between tests; isolate tests with the
//     fresh namespace each Start creates (Env.Namespace). Stop it at the end with Main:
//
//     func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
//     Without Main the control plane simply dies with the test process and its temp state dir stays
//     behind under os.TempDir().
//
//     Everything else in the API server is shared too: cluster-scoped objects, and the objects of
//     earlier tests (their namespaces are deleted in the background). A controller-runtime
//     manager under test sees them all unless its cache is limited to the test's namespace
//     (cache.Options{DefaultNamespaces: map[string]cache.Config{env.Namespace: {}}}).
//
//   - Binary (WithBinary): each Start runs its own `nodeless up --control-plane-only` process (the
//     binary in $NODELESS_BIN, which the Makefile sets to bin/nodeless, or one built once per test
//     process) with a temp state dir and free ports, stopped with SIGTERM on t.Cleanup. Use it to
//     test the binary itself: restarts (Env.Restart), signals, the kubeconfig it writes.
//
// Typical controller test:
//
//	env := testenv.Start(t, testenv.WithCRDs(crds.Manifests()...))
//	c, err := client.New(env.Config, client.Options{Scheme: scheme})
//	... create objects in env.Namespace ...
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/crdinstall"
)

// startTimeout bounds how long a control plane may take to be ready.
const startTimeout = 2 * time.Minute

// Env is a running control plane as seen by one test.
type Env struct {
	// Config is an admin (system:masters) client config, with client-side rate limits raised for
	// tests (200 QPS). Each Start returns its own copy.
	Config *rest.Config
	// Namespace is a namespace created for this test, deleted when it ends.
	Namespace string
	// StateDir is the control plane's state dir; Kubeconfig the admin kubeconfig in it.
	StateDir   string
	Kubeconfig string
	// DataPlaneEndpoint is the local data plane's ECS API (WithNodelessParts only); its
	// credentials are in StateDir/credentials, profile nodeless.
	DataPlaneEndpoint string

	proc *process // binary mode only
}

type options struct {
	crds   [][]byte
	binary bool
	parts  bool
	upArgs []string
}

// Option configures Start.
type Option func(*options)

// WithCRDs installs (or updates) these CustomResourceDefinition manifests and waits until they
// are served. Safe to use from many tests sharing one control plane.
func WithCRDs(manifests ...[]byte) Option {
	return func(o *options) { o.crds = append(o.crds, manifests...) }
}

// WithBinary runs the nodeless binary ($NODELESS_BIN, or built once) as its own process for this
// test instead of sharing the in-process control plane.
func WithBinary() Option { return func(o *options) { o.binary = true } }

// WithNodelessParts runs the whole of `nodeless up` as its own process (implies WithBinary): the
// control plane, nodeless's CRDs and controllers, and the local data plane (root, containerd and
// runc needed) on a free port.
func WithNodelessParts() Option {
	return func(o *options) { o.binary, o.parts = true, true }
}

// WithUpArgs adds arguments to `nodeless up` in binary mode (for example "-v", "2").
func WithUpArgs(args ...string) Option {
	return func(o *options) { o.upArgs = append(o.upArgs, args...) }
}

// Start returns a ready control plane for t (see the package doc for the two modes), with a fresh
// namespace and the CRDs of WithCRDs installed. It fails t when the control plane cannot start.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var env *Env
	var err error
	if o.binary {
		env, err = startBinary(t, o.parts, o.upArgs)
	} else {
		env, err = shared()
	}
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	// client-go's default 5 QPS would make tests wait on their own client, not on the server.
	env.Config.QPS, env.Config.Burst = 200, 400
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := crdinstall.Install(ctx, env.Config, o.crds); err != nil {
		t.Fatalf("installing CRDs: %v", err)
	}
	env.Namespace = createNamespace(ctx, t, env.Config)
	return env
}

// createNamespace creates a namespace named after the test and deletes it when the test ends
// (without waiting: the namespace controller finishes the job in the background).
func createNamespace(ctx context.Context, t testing.TB, cfg *rest.Config) string {
	t.Helper()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceName(t.Name())}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// namespaceName turns a test name into a valid, unique namespace name.
func namespaceName(test string) string {
	name := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(test), "-"), "-")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("t-%s-%s", name, hex.EncodeToString(b[:]))
}
