package integration

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/config/crd"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const finalizer = "test.nodeless.dev/finalizer"

// env is one test's view of the shared control plane: a plain client for the test's own reads
// and writes, and the counting client the Reconciler writes through.
type env struct {
	t      *testing.T
	ctx    context.Context
	ns     string
	direct client.Client
	writes *writes
	// rc is what the Reconciler reads and writes with: direct, counted, with the hooks below.
	rc client.Client
	// beforeStatusPatch, when set, runs before each status patch reaches the API server.
	beforeStatusPatch func(obj client.Object)
	// get, when set, answers the Reconciler's (cached) reads instead of the API server.
	get func(key client.ObjectKey, obj client.Object) error
}

// writes counts the Reconciler's writes to the API server, per kind of write.
type writes struct {
	mu            sync.Mutex
	patches       int // metadata (finalizers)
	statusPatches int
}

func (w *writes) counts() (patches, statusPatches int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.patches, w.statusPatches
}

func scheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := ecsv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// start joins the control plane (the ecs.nodeless.dev CRDs installed: the tests reconcile
// Cluster objects, whose status has the Ready/Synced conditions, with steps that are not ECS's).
func start(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the embedded control plane")
	}
	manifests, err := crd.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	te := testenv.Start(t, testenv.WithCRDs(manifests...))
	s := scheme(t)
	direct, err := client.NewWithWatch(te.Config, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), ns: te.Namespace, direct: direct, writes: &writes{}}
	e.rc = interceptor.NewClient(direct, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if e.get != nil {
				return e.get(key, obj)
			}
			return c.Get(ctx, key, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			e.writes.mu.Lock()
			e.writes.patches++
			e.writes.mu.Unlock()
			return c.Patch(ctx, obj, patch, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			e.writes.mu.Lock()
			e.writes.statusPatches++
			e.writes.mu.Unlock()
			if e.beforeStatusPatch != nil {
				e.beforeStatusPatch(obj)
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	return e
}

// steps is a small recording reconciler.Steps for Cluster objects: Sync writes status.status
// and returns syncProblem; Finalize returns finalizeProblem; both count their calls.
type steps struct {
	mu sync.Mutex
	// What the next calls do.
	status          string
	exists          bool
	syncProblem     *reconciler.Problem
	finalizeProblem *reconciler.Problem
	duringSync      func(obj *ecsv1alpha1.Cluster)
	// What happened.
	syncs, finalizes int
	forgotten        []types.NamespacedName
}

func (s *steps) Sync(_ context.Context, obj *ecsv1alpha1.Cluster) *reconciler.Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	obj.Status.Status = s.status
	if s.duringSync != nil {
		s.duringSync(obj)
	}
	return s.syncProblem
}

func (s *steps) Readiness(obj *ecsv1alpha1.Cluster) (reconciler.Readiness, bool) {
	if obj.Status.Status == "ACTIVE" {
		return reconciler.Readiness{Ready: true, Reason: "Active", Message: "it is ACTIVE"}, s.exists
	}
	return reconciler.Readiness{Reason: "NotActive", Message: "it is " + obj.Status.Status}, s.exists
}

func (s *steps) Finalize(context.Context, *ecsv1alpha1.Cluster) *reconciler.Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finalizes++
	return s.finalizeProblem
}

func (s *steps) Forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgotten = append(s.forgotten, key)
}

func clusterStatus() reconciler.Status[*ecsv1alpha1.Cluster, ecsv1alpha1.ClusterStatus] {
	return reconciler.Status[*ecsv1alpha1.Cluster, ecsv1alpha1.ClusterStatus]{
		Of:                 func(c *ecsv1alpha1.Cluster) *ecsv1alpha1.ClusterStatus { return &c.Status },
		Conditions:         func(s *ecsv1alpha1.ClusterStatus) *[]metav1.Condition { return &s.Conditions },
		ObservedGeneration: func(s *ecsv1alpha1.ClusterStatus) *int64 { return &s.ObservedGeneration },
	}
}

// reconcilerFor returns the Reconciler of st, reading through e.rc and, after a conflict, from
// the API server directly.
func (e *env) reconcilerFor(st *steps, resync time.Duration) *reconciler.Reconciler[*ecsv1alpha1.Cluster, ecsv1alpha1.ClusterStatus] {
	e.t.Helper()
	r, err := reconciler.New[*ecsv1alpha1.Cluster](st, reconciler.Config[*ecsv1alpha1.Cluster, ecsv1alpha1.ClusterStatus]{
		Client: e.rc, Reader: e.direct, Finalizer: finalizer, Status: clusterStatus(), Resync: resync,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// cluster creates a Cluster named name with the given finalizers.
func (e *env) cluster(name string, finalizers ...string) *ecsv1alpha1.Cluster {
	e.t.Helper()
	c := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Finalizers: finalizers}}
	if err := e.direct.Create(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) reconcile(r interface {
	Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
}, obj client.Object) (ctrl.Result, error) {
	return r.Reconcile(e.ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
}

func (e *env) fetch(obj client.Object) {
	e.t.Helper()
	if err := e.direct.Get(e.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		e.t.Fatalf("getting %s: %v", obj.GetName(), err)
	}
}

// cond is the part of a condition the tests compare.
type cond struct {
	Status metav1.ConditionStatus
	Reason string
}

func conds(c *ecsv1alpha1.Cluster) map[string]cond {
	out := map[string]cond{}
	for _, x := range c.Status.Conditions {
		out[x.Type] = cond{x.Status, x.Reason}
	}
	return out
}
