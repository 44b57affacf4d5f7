package awsservice

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ec2api"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Finalizer is held by every Service the controller made AWS resources for.
const Finalizer = "nodeless.dev/aws-service"

// Tags nodeless puts on what it creates: the owner's UID (ecscall.TagOwner, as on ECS
// resources), the Service's namespace/name and the installation (Options.Cluster).
const (
	TagService = "nodeless.dev/service"
	TagCluster = "nodeless.dev/cluster"
)

// Event reasons, spelled as Kubernetes' own service controller spells its own, for what
// Kubernetes users already look for.
const (
	ReasonEnsuredLoadBalancer  = "EnsuredLoadBalancer"
	ReasonDeletedLoadBalancer  = "DeletedLoadBalancer"
	ReasonRegisteredDiscovery  = "RegisteredServiceDiscovery"
	ReasonDeletedDiscovery     = "DeletedServiceDiscovery"
	ReasonInvalidSpec          = ecscall.ReasonInvalidSpec
	ReasonNotOwned             = "NotOwned"
	ReasonDependencyNotDeleted = "DependencyNotDeleted"
)

// Reconciler holds the Steps of Services (reconciler.Steps[*corev1.Service]).
type Reconciler struct {
	client   client.Client
	reader   client.Reader
	aws      Clients
	recorder record.EventRecorder
	opts     Options

	mu     sync.Mutex
	vpc    string
	domain string
	// registered holds the addresses each Service registered (targets, instances); withdrawn
	// the addresses the Pod controller withdrew, and when (Withdraw).
	registered map[types.NamespacedName]map[string]bool
	withdrawn  map[string]withdrawal
	// syncing are the Services being synced (from sync's start to noteRegistered): a Withdraw
	// meanwhile wakes them too, since what they register is not in registered yet.
	syncing map[types.NamespacedName]bool
	// wake reconciles a Service whose registered address was withdrawn.
	wake  chan event.GenericEvent
	now   func() time.Time
	state map[types.NamespacedName]*svcState
}

// svcState is what the controller learnt of one Service's AWS resources, so that a Service at
// rest costs no AWS call; a restarted controller reads it again once.
type svcState struct {
	uid types.UID
	// checkedLB and checkedDiscovery: the resources of a Service that wants none were looked
	// for once (a Service that stopped being a LoadBalancer while the controller was down).
	checkedLB, checkedDiscovery bool

	lbArn, lbDNS, lbName string
	// applied is the last converged load balancer (listeners, target groups, health checks,
	// delay); targets the registered targets by target group ARN.
	applied string
	// wrote: the current convergence changed something in AWS (for the Event).
	wrote   bool
	tgArns  map[string]string
	targets map[string][]Target

	discoveryID string
	instances   []string

	// hcPod is the Pod (namespace/name) whose readiness probe gave hc.
	hcPod string
	hc    HealthCheck
}

var _ reconciler.Steps[*corev1.Service] = (*Reconciler)(nil)

// NewReconciler returns the Steps of Services.
func NewReconciler(c client.Client, reader client.Reader, aws Clients, recorder record.EventRecorder, opts Options) *Reconciler {
	return &Reconciler{client: c, reader: reader, aws: aws, recorder: recorder, opts: opts.WithDefaults(),
		state: map[types.NamespacedName]*svcState{}, registered: map[types.NamespacedName]map[string]bool{},
		withdrawn: map[string]withdrawal{}, syncing: map[types.NamespacedName]bool{}, wake: make(chan event.GenericEvent, 256), now: time.Now}
}

// Register adds the controller to mgr when opts enables anything, and returns it (nil when it
// does not run), a pod.Withdrawer for the Pod controller of the virtual node.
func Register(mgr ctrl.Manager, aws Clients, opts Options) (*Reconciler, error) {
	opts = opts.WithDefaults()
	if !opts.Enabled() {
		return nil, nil
	}
	if err := opts.validate(aws); err != nil {
		return nil, err
	}
	r := NewReconciler(mgr.GetClient(), mgr.GetAPIReader(), aws,
		mgr.GetEventRecorderFor("nodeless-aws-service"), opts) //nolint:staticcheck // docs/upgrading-kubernetes.md: the move to GetEventRecorder (events.k8s.io) is its own change
	rec, err := reconciler.New(r, reconciler.Config[*corev1.Service, corev1.ServiceStatus]{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Finalizer: Finalizer,
		Status: reconciler.Status[*corev1.Service, corev1.ServiceStatus]{Of: func(s *corev1.Service) *corev1.ServiceStatus { return &s.Status }},
	})
	if err != nil {
		return nil, fmt.Errorf("building the AWS service reconciler: %w", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("aws-service").
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		For(&corev1.Service{}, builder.WithPredicates(predicate.NewPredicateFuncs(r.handled), specOrAnnotationsChanged())).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.sliceService)).
		WatchesRawSource(source.Channel(r.wake, &handler.EnqueueRequestForObject{})).
		Complete(rec)
	if err != nil {
		return nil, fmt.Errorf("building the AWS service controller: %w", err)
	}
	return r, nil
}

// specOrAnnotationsChanged lets through the updates of a Service that change its spec or
// annotations, or start its deletion; not its status (ours or another controller's).
// reconciler.SpecOrAnnotationsChanged does not do for Services: the API server does not count
// their spec changes in metadata.generation.
func specOrAnnotationsChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1.Service)
		n, ok2 := e.ObjectNew.(*corev1.Service)
		if !ok1 || !ok2 {
			return true
		}
		return !equality.Semantic.DeepEqual(o.Spec, n.Spec) || !maps.Equal(o.Annotations, n.Annotations) ||
			!n.DeletionTimestamp.IsZero()
	}}
}

// sliceService maps an EndpointSlice to its Service (label kubernetes.io/service-name) when the
// controller handles that Service.
func (r *Reconciler) sliceService(ctx context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[discoveryv1.LabelServiceName]
	if name == "" {
		return nil
	}
	key := types.NamespacedName{Namespace: o.GetNamespace(), Name: name}
	var svc corev1.Service
	if err := r.client.Get(ctx, key, &svc); err != nil || !r.handled(&svc) {
		return nil
	}
	return []reconcile.Request{{NamespacedName: key}}
}

// handled: the Service wants something of this controller, or holds its finalizer (what it got
// must go).
func (r *Reconciler) handled(o client.Object) bool {
	svc, ok := o.(*corev1.Service)
	if !ok {
		return false
	}
	return r.wantsLoadBalancer(svc) || r.wantsDiscovery(svc) || controllerutil.ContainsFinalizer(svc, Finalizer)
}

func (r *Reconciler) wantsLoadBalancer(svc *corev1.Service) bool {
	if !r.opts.LoadBalancers || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if c := svc.Spec.LoadBalancerClass; c != nil {
		return *c == r.opts.LoadBalancerClass
	}
	return r.opts.DefaultLoadBalancer
}

func (r *Reconciler) wantsDiscovery(svc *corev1.Service) bool {
	return r.opts.NamespaceID != "" && svc.Spec.Type != corev1.ServiceTypeExternalName &&
		svc.Annotations[DiscoveryAnnotation] != "false"
}

// Sync converges the Service's load balancer and Cloud Map service, and reports a Problem also
// as a Warning Event (a Service has no condition of nodeless's to carry it).
func (r *Reconciler) Sync(ctx context.Context, svc *corev1.Service) *reconciler.Problem {
	p := r.sync(ctx, svc)
	if p != nil {
		r.recorder.Event(svc, corev1.EventTypeWarning, p.Reason, p.Message)
	}
	return p
}

func (r *Reconciler) sync(ctx context.Context, svc *corev1.Service) *reconciler.Problem {
	st := r.stateOf(svc)
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	r.beginSync(key)
	defer r.noteRegistered(key, st)
	var p *reconciler.Problem
	if r.wantsLoadBalancer(svc) {
		st.checkedLB = false // look again once it stops wanting one
		p = r.syncLoadBalancer(ctx, svc, st)
	} else if r.opts.LoadBalancers && !st.checkedLB {
		p = r.removeLoadBalancer(ctx, svc, st)
		st.checkedLB = p == nil
	}
	if p != nil {
		return p
	}
	if r.wantsDiscovery(svc) {
		st.checkedDiscovery = false
		return r.syncDiscovery(ctx, svc, st)
	}
	if r.opts.NamespaceID != "" && !st.checkedDiscovery {
		p = r.removeDiscovery(ctx, svc, st)
		st.checkedDiscovery = p == nil
	}
	return p
}

// Readiness is not used: a Service has no Ready condition of nodeless's.
func (r *Reconciler) Readiness(*corev1.Service) (reconciler.Readiness, bool) {
	return reconciler.Readiness{}, true
}

// Finalize deletes the load balancer, its target groups and the Cloud Map service of svc.
func (r *Reconciler) Finalize(ctx context.Context, svc *corev1.Service) *reconciler.Problem {
	st := r.stateOf(svc)
	var p *reconciler.Problem
	if r.opts.LoadBalancers {
		p = r.removeLoadBalancer(ctx, svc, st)
	}
	if p == nil && r.opts.NamespaceID != "" {
		p = r.removeDiscovery(ctx, svc, st)
	}
	if p != nil {
		r.recorder.Event(svc, corev1.EventTypeWarning, p.Reason, p.Message)
	}
	return p
}

// Forget drops what the controller remembers of key.
func (r *Reconciler) Forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.state, key)
	delete(r.registered, key)
}

// stateOf returns the state of svc (a new one for a Service created again under its name).
func (r *Reconciler) stateOf(svc *corev1.Service) *svcState {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	st := r.state[key]
	if st == nil || st.uid != svc.UID {
		st = &svcState{uid: svc.UID, tgArns: map[string]string{}, targets: map[string][]Target{}}
		r.state[key] = st
	}
	return st
}

// vpcID is the VPC of the load balancers' subnets, asked of EC2 once.
func (r *Reconciler) vpcID(ctx context.Context) (string, *reconciler.Problem) {
	r.mu.Lock()
	vpc := r.vpc
	r.mu.Unlock()
	if vpc != "" {
		return vpc, nil
	}
	vpc, err := ec2api.VPCOf(ctx, r.aws.EC2, r.opts.Subnets)
	if err != nil {
		return "", fromAWS("finding the VPC of the load balancers' subnets", ec2api.KindOf(err), err)
	}
	r.mu.Lock()
	r.vpc = vpc
	r.mu.Unlock()
	return vpc, nil
}

// endpointSlices are the EndpointSlices of svc.
func (r *Reconciler) endpointSlices(ctx context.Context, svc *corev1.Service) ([]discoveryv1.EndpointSlice, *reconciler.Problem) {
	var list discoveryv1.EndpointSliceList
	err := r.client.List(ctx, &list, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name})
	if err != nil {
		return nil, reconciler.AsProblem(fmt.Errorf("listing the EndpointSlices of %s/%s: %w", svc.Namespace, svc.Name, err))
	}
	return r.withoutWithdrawn(list.Items), nil
}

// healthCheck is the health check of svc's target groups: from the readiness probe of the Pod
// behind the first ready endpoint (HealthCheckFor), read from the API server once per Pod (a
// Pod's probes cannot change) and not through the cache, which holds at most the virtual node's
// Pods and would otherwise start an informer of every Pod of the cluster.
func (r *Reconciler) healthCheck(ctx context.Context, st *svcState, eps []discoveryv1.EndpointSlice, spec LoadBalancerSpec) HealthCheck {
	port := firstTargetPort(eps, spec)
	key, ok := firstReadyPod(eps)
	if !ok {
		return HealthCheckFor(nil, port)
	}
	if st.hcPod == key.String() {
		return st.hc
	}
	var pod corev1.Pod
	if err := r.reader.Get(ctx, key, &pod); err != nil {
		// Gone since the slice was written, or not readable: the default check until the next
		// change of the endpoints.
		return HealthCheckFor(nil, port)
	}
	st.hcPod, st.hc = key.String(), HealthCheckFor(&pod, port)
	return st.hc
}

// firstReadyPod names the Pod of the first ready endpoint that names one.
func firstReadyPod(eps []discoveryv1.EndpointSlice) (types.NamespacedName, bool) {
	for _, s := range eps {
		for _, e := range s.Endpoints {
			if (e.Conditions.Ready != nil && !*e.Conditions.Ready) || e.TargetRef == nil || e.TargetRef.Kind != "Pod" {
				continue
			}
			key := types.NamespacedName{Namespace: e.TargetRef.Namespace, Name: e.TargetRef.Name}
			if key.Namespace == "" {
				key.Namespace = s.Namespace
			}
			return key, true
		}
	}
	return types.NamespacedName{}, false
}

// Delays before a call that failed is tried again (ecscall's, for the same kinds of trouble).
const (
	retryConflict = ecscall.RetryConflict
	retryDeleting = 5 * time.Second
)

// fromAWS turns an error of an AWS seam, classified as kind, into a Problem whose message names
// the action and says what to do.
func fromAWS(action string, kind ecsapi.Kind, err error) *reconciler.Problem {
	msg := fmt.Sprintf("%s: %s", action, ecsapi.Message(err))
	switch kind {
	case ecsapi.KindNotFound:
		return &reconciler.Problem{Reason: ecscall.ReasonNotFound, RequeueAfter: ecscall.RetryNotFound, Message: msg + "; check the controller's --service-* flags"}
	case ecsapi.KindThrottled:
		return &reconciler.Problem{Reason: ecscall.ReasonThrottled, RequeueAfter: ecscall.RetryThrottled, Message: msg + "; AWS throttled the call, it is retried shortly"}
	case ecsapi.KindInvalidParameter:
		return &reconciler.Problem{Reason: ecscall.ReasonInvalidSpec, Message: msg + "; change the Service (or the controller's --service-* flags) to fix it"}
	case ecsapi.KindConflict:
		return &reconciler.Problem{Reason: ecscall.ReasonConflict, RequeueAfter: retryConflict, Message: msg + "; retried once the resource's state allows it"}
	case ecsapi.KindAccessDenied, ecsapi.KindUnauthenticated:
		return &reconciler.Problem{Reason: ecscall.ReasonAccessDenied, RequeueAfter: ecscall.RetryNotAllowed, Message: msg + "; grant the controller docs/iam-policy.json (retried every minute)"}
	case ecsapi.KindQuota:
		return &reconciler.Problem{Reason: ecscall.ReasonQuotaExceeded, RequeueAfter: ecscall.RetryNotAllowed, Message: msg + "; raise the quota or delete unused resources (retried every minute)"}
	}
	return &reconciler.Problem{Reason: ecscall.ReasonECSError, Message: msg, Err: err}
}
