package pod

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/poller"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/controller/revision"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/podstart"
	"github.com/nodeless-dev/nodeless/internal/prober"
)

// Reconciler holds the Pod steps of the reconcile skeleton (reconciler.Steps[*corev1.Pod]).
type Reconciler struct {
	client    client.Client
	apiReader client.Reader
	ecs       ecsapi.API
	recorder  record.EventRecorder
	opts      Options
	poller    *poller.Poller[*ecstypes.Task]
	registry  *revision.Registry
	tokens    podstart.TokenSource
	now       func() time.Time
	pods      states

	clusterMu  sync.Mutex
	clusterArn string

	suspects chan suspect
}

var _ reconciler.Steps[*corev1.Pod] = (*Reconciler)(nil)

// Controller is the Pod controller of one virtual node, as registered: it serves the virtual
// node's questions about the Pods' tasks (PodTasks).
type Controller struct {
	r *Reconciler
}

// CacheOptions are the controller's needs of the manager's cache (cache.Options.ByObject), which
// caches namespaces (all when empty): only the Pods bound to the node (a field selector on
// spec.nodeName), so that nodeless never caches the cluster's other Pods; and, when namespaces
// are limited, the Services of the default namespace too, whose kubernetes Service gives every
// container its KUBERNETES_SERVICE_* variables.
func CacheOptions(opts Options, namespaces []string) map[client.Object]cache.ByObject {
	opts = opts.WithDefaults()
	out := map[client.Object]cache.ByObject{
		&corev1.Pod{}: {Field: fields.OneTermEqualSelector("spec.nodeName", opts.NodeName)},
	}
	if len(namespaces) > 0 {
		ns := map[string]cache.Config{metav1.NamespaceDefault: {}}
		for _, n := range namespaces {
			ns[n] = cache.Config{}
		}
		out[&corev1.Service{}] = cache.ByObject{Namespaces: ns}
	}
	return out
}

// Register adds the Pod controller of the node opts.NodeName to mgr, with its poller (the
// Pods' tasks described in batches) and its sweeper (orphan tasks, unused revisions, mirror
// entries of deleted objects); opts have their defaults applied. The manager's cache must hold
// CacheOptions(opts). It returns the Controller, whose Task method the virtual node uses.
func Register(mgr ctrl.Manager, api ecsapi.API, opts Options) (*Controller, error) {
	opts = opts.WithDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	r := newReconciler(mgr, api, opts)
	if r.opts.Probes == nil && r.opts.Host != nil {
		log := mgr.GetLogger().WithName("pod")
		pm := prober.New(prober.Options{Host: r.opts.Host, Recorder: r.recorder, Logger: &log})
		if err := mgr.Add(pm); err != nil {
			return nil, fmt.Errorf("adding the prober: %w", err)
		}
		r.opts.Probes = pm
	}
	if err := mgr.Add(r.poller); err != nil {
		return nil, fmt.Errorf("adding the pod task poller: %w", err)
	}
	if err := mgr.Add(&sweeper{r: r}); err != nil {
		return nil, fmt.Errorf("adding the pod sweeper: %w", err)
	}
	if err := registerMirrorGC(mgr, opts); err != nil {
		return nil, err
	}
	rec, err := reconciler.New(r, reconciler.Config[*corev1.Pod, corev1.PodStatus]{
		Client:  mgr.GetClient(),
		Reader:  mgr.GetAPIReader(),
		Release: r.release,
		Status:  reconciler.Status[*corev1.Pod, corev1.PodStatus]{Of: func(p *corev1.Pod) *corev1.PodStatus { return &p.Status }},
	})
	if err != nil {
		return nil, fmt.Errorf("building the Pod reconciler: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("pod-"+opts.NodeName).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		For(&corev1.Pod{}, builder.WithPredicates(podChanged())).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.readers("ConfigMap"))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.readers("Secret"))).
		WatchesRawSource(r.poller.Source())
	if r.opts.Probes != nil {
		b = b.WatchesRawSource(r.opts.Probes.Source())
	}
	if err := b.Complete(rec); err != nil {
		return nil, fmt.Errorf("building the pod controller: %w", err)
	}
	return &Controller{r: r}, nil
}

func newReconciler(mgr ctrl.Manager, api ecsapi.API, opts Options) *Reconciler {
	r := &Reconciler{
		client:    mgr.GetClient(),
		apiReader: mgr.GetAPIReader(),
		ecs:       api,
		// virtual-kubelet's convention for the source of a virtual node's Pod Events.
		recorder: mgr.GetEventRecorderFor(opts.NodeName + "/pod-controller"), //nolint:staticcheck // docs/upgrading-kubernetes.md: the move to GetEventRecorder (events.k8s.io) is its own change
		opts:     opts,
		registry: revision.NewRegistry(api, revision.AnyActive),
		tokens:   podstart.TokenRequester{Client: mgr.GetClient()},
		now:      time.Now,
		pods:     states{pods: map[types.NamespacedName]*podState{}},
		suspects: make(chan suspect, 256),
	}
	r.poller = poller.New(poller.Config[*ecstypes.Task]{
		BatchSize:      ecsapi.MaxDescribeTasks,
		Describe:       r.describe,
		Fingerprint:    fingerprint,
		Stable:         stable,
		NewObject:      func() client.Object { return &corev1.Pod{} },
		Interval:       opts.PollInterval,
		StableInterval: opts.StablePollInterval,
		FirstInterval:  opts.FirstPollInterval,
	})
	return r
}

// podChanged lets through the Pod updates the node acts on: a spec change (image, deadline),
// the start of deletion, labels and annotations (the downward API's files), and conditions
// others write (readiness gates). The controller's own status writes do not wake it again.
func podChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1.Pod)
		n, ok2 := e.ObjectNew.(*corev1.Pod)
		if !ok1 || !ok2 {
			return true
		}
		return o.Generation != n.Generation || n.DeletionTimestamp != nil ||
			!equality.Semantic.DeepEqual(o.Labels, n.Labels) || !equality.Semantic.DeepEqual(o.Annotations, n.Annotations) ||
			!equality.Semantic.DeepEqual(gateConditions(o), gateConditions(n))
	}}
}

// gateConditions are the Pod's conditions its readiness gates name.
func gateConditions(p *corev1.Pod) []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, g := range p.Spec.ReadinessGates {
		for _, c := range p.Status.Conditions {
			if c.Type == g.ConditionType {
				out = append(out, c)
			}
		}
	}
	return out
}

// readers maps a ConfigMap or Secret to the Pods that read it: those waiting for it to start,
// and those whose files follow it.
func (r *Reconciler) readers(kind string) handler.MapFunc {
	return func(_ context.Context, obj client.Object) []reconcile.Request {
		var reqs []reconcile.Request
		r.pods.each(func(key types.NamespacedName, st *podState) {
			if key.Namespace != obj.GetNamespace() || st.tr == nil {
				return
			}
			for _, ref := range st.tr.Start.Objects {
				if ref.Kind == kind && ref.Name == obj.GetName() {
					reqs = append(reqs, reconcile.Request{NamespacedName: key})
					return
				}
			}
		})
		return reqs
	}
}

// Readiness is not used: a Pod's status has no metav1.Condition list.
func (r *Reconciler) Readiness(*corev1.Pod) (reconciler.Readiness, bool) {
	return reconciler.Readiness{}, true
}

// ensureCluster creates the Pods' cluster once (CreateCluster returns an ACTIVE cluster of the
// name as it is).
func (r *Reconciler) ensureCluster(ctx context.Context) (string, *reconciler.Problem) {
	r.clusterMu.Lock()
	defer r.clusterMu.Unlock()
	if r.clusterArn != "" {
		return r.clusterArn, nil
	}
	out, err := r.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(r.opts.Cluster)})
	if err != nil {
		return "", ecscall.FromECS("creating the Pods' cluster "+r.opts.Cluster, err)
	}
	r.clusterArn = aws.ToString(out.Cluster.ClusterArn)
	return r.clusterArn, nil
}

// emit records the events not recorded before for the Pod.
func (r *Reconciler) emit(pod *corev1.Pod, st *podState, evs ...podEvent) {
	for _, e := range evs {
		if st.events[e.Key] {
			continue
		}
		st.events[e.Key] = true
		r.recorder.Event(pod, e.Type, e.Reason, e.Message)
	}
}

// isRequeue reports whether p is nil or only asks to be reconciled again (requeue).
func isRequeue(p *reconciler.Problem) bool {
	return p == nil || (p.Reason == reasonRequeue && p.Err == nil)
}

const reasonRequeue = "Requeue"

// requeue is how a Pod asks to be reconciled again after d without anything being wrong (a
// Pod's status has no conditions for the skeleton to write).
func requeue(d time.Duration) *reconciler.Problem {
	if d <= 0 {
		return nil
	}
	return &reconciler.Problem{Reason: reasonRequeue, Message: "reconciled again later", RequeueAfter: d}
}
