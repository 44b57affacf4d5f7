package service

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/poller"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Reconciler holds the Service steps of the reconcile skeleton (reconciler.Steps).
type Reconciler struct {
	Client   client.Client
	ECS      ecsapi.API
	Recorder record.EventRecorder
	// Options, with their defaults applied (managed.Options.WithDefaults).
	Options managed.Options
	Poller  *poller.Poller[*ecstypes.Service]

	// lastEvents remembers, per Service, the newest ECS event already emitted: the status says
	// the same after a restart, but the informer cache may still show an older status when the
	// next reconcile starts, and an event must not be emitted twice.
	lastEvents sync.Map // types.NamespacedName -> eventMark
}

var _ reconciler.Steps[*ecsv1alpha1.Service] = (*Reconciler)(nil)

type eventMark struct {
	id string
	at *metav1.Time
}

// NewReconciler returns a Reconciler with its poller; opts have their defaults applied.
func NewReconciler(c client.Client, api ecsapi.API, rec record.EventRecorder, opts managed.Options) *Reconciler {
	r := &Reconciler{Client: c, ECS: api, Recorder: rec, Options: opts}
	r.Poller = poller.New(poller.Config[*ecstypes.Service]{
		BatchSize:      ecsapi.MaxDescribeServices,
		Describe:       r.describeBatch,
		Fingerprint:    Fingerprint,
		Stable:         Stable,
		NewObject:      func() client.Object { return &ecsv1alpha1.Service{} },
		Interval:       opts.PollInterval,
		StableInterval: opts.StablePollInterval,
	})
	return r
}

// Register adds the Service controller and its poller to mgr; opts have their defaults
// applied. It needs the field indexes on spec.clusterRef.name and spec.taskDefinitionRef.name
// (managed.IndexClusterRef, managed.IndexTaskDefinitionRef), which the manager sets up.
func Register(mgr ctrl.Manager, api ecsapi.API, opts managed.Options) error {
	r := NewReconciler(mgr.GetClient(), api, mgr.GetEventRecorderFor("service-controller"), opts) //nolint:staticcheck // docs/upgrading-kubernetes.md: the move to GetEventRecorder (events.k8s.io) is its own change
	if err := mgr.Add(r.Poller); err != nil {
		return fmt.Errorf("adding service poller: %w", err)
	}
	// No Resync: the poller wakes a Service whenever what ECS reports about it changes.
	rec, err := reconciler.New(r, managed.Config(mgr,
		func(s *ecsv1alpha1.Service) *ecsv1alpha1.ServiceStatus { return &s.Status },
		func(s *ecsv1alpha1.ServiceStatus) *ecsv1alpha1.CommonStatus { return &s.CommonStatus }))
	if err != nil {
		return fmt.Errorf("building the Service reconciler: %w", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("ecs-service").
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		For(&ecsv1alpha1.Service{}, builder.WithPredicates(reconciler.SpecOrAnnotationsChanged())).
		Watches(&ecsv1alpha1.TaskDefinition{}, handler.EnqueueRequestsFromMapFunc(r.referencing(managed.IndexTaskDefinitionRef))).
		Watches(&ecsv1alpha1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.usingCluster)).
		WatchesRawSource(r.Poller.Source()).
		Complete(rec)
	if err != nil {
		return fmt.Errorf("building service controller: %w", err)
	}
	return nil
}

// referencing maps a TaskDefinition or Cluster to the Services that reference it.
func (r *Reconciler) referencing(index string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list ecsv1alpha1.ServiceList
		if err := r.Client.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{index: obj.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing referencing services", "index", index)
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for i := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
		return reqs
	}
}

// usingCluster maps a Cluster to the Services that use it: by clusterRef, or by naming its ECS
// cluster in spec.cluster (its spec.defaults apply to both).
func (r *Reconciler) usingCluster(ctx context.Context, obj client.Object) []reconcile.Request {
	users, err := managed.UsersOfCluster(ctx, r.Client, obj, &ecsv1alpha1.ServiceList{})
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the services of a cluster")
	}
	reqs := make([]reconcile.Request, 0, len(users))
	for _, u := range users {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(u)})
	}
	return reqs
}

// Readiness derives Ready from what ECS reports (Readiness of the status).
func (r *Reconciler) Readiness(svc *ecsv1alpha1.Service) (reconciler.Readiness, bool) {
	ok, reason, msg := Readiness(&svc.Status)
	return reconciler.Readiness{Ready: ok, Reason: reason, Message: msg}, svc.Status.ServiceArn != ""
}

// Forget stops polling the Service and drops its last emitted event.
func (r *Reconciler) Forget(key types.NamespacedName) {
	r.Poller.Untrack(key)
	r.lastEvents.Delete(key)
}

// Sync converges the ECS service to the Service's spec and mirrors its state.
func (r *Reconciler) Sync(ctx context.Context, svc *ecsv1alpha1.Service) *reconciler.Problem {
	cluster, p := managed.ResolveCluster(ctx, r.Client, svc.Namespace, svc.Spec.Cluster, svc.Spec.ClusterRef)
	if p != nil {
		return p
	}
	ls := managed.LaunchSpec{
		Namespace: svc.Namespace, Cluster: svc.Spec.Cluster, ClusterRef: svc.Spec.ClusterRef, LaunchType: svc.Spec.LaunchType,
		PlatformVersion: svc.Spec.PlatformVersion, NetworkConfiguration: svc.Spec.NetworkConfiguration,
	}
	td, p := managed.ResolveTaskDefinition(ctx, r.Client, ls, svc.Spec.TaskDefinition, svc.Spec.TaskDefinitionRef)
	if p != nil {
		return p
	}
	nc, p := managed.LaunchNetwork(ctx, r.Client, ls, r.Options.Defaults)
	if p != nil {
		return managed.RecordRefusal(r.Recorder, svc, p)
	}
	observed, err := r.observe(ctx, svc, cluster)
	if err != nil {
		return ecscall.FromECS("describing service "+svc.ECSName(), err)
	}
	if observed, p = r.inPlace(ctx, svc, cluster, observed); p != nil {
		return p
	}
	var drift *reconciler.Problem
	if observed == nil {
		observed, p = r.create(ctx, svc, cluster, td, nc)
	} else {
		drift, p = r.update(ctx, svc, td, nc, observed)
	}
	if p != nil {
		return p
	}
	if o, ok := r.Poller.Get(client.ObjectKeyFromObject(svc)); ok && o != nil {
		observed = o
	}
	if TaskDefinitionMatches(td, aws.ToString(observed.TaskDefinition)) {
		svc.Status.AppliedTaskDefinition = td
	}
	MirrorStatus(&svc.Status, observed)
	r.emitEvents(svc, observed)
	return drift
}

// observe returns the ECS service of svc: from the poller when it has a current description,
// otherwise with one DescribeServices call. nil: no ACTIVE or DRAINING service exists.
func (r *Reconciler) observe(ctx context.Context, svc *ecsv1alpha1.Service, cluster string) (*ecstypes.Service, error) {
	key := client.ObjectKeyFromObject(svc)
	if s, ok := r.Poller.Get(key); ok {
		return live(s), nil
	}
	id := svc.Status.ServiceArn
	if id == "" {
		id = managed.AdoptName(svc)
	}
	if id == "" {
		id = svc.ECSName()
	}
	start := time.Now()
	got, err := r.describe(ctx, cluster, []string{id})
	if err != nil {
		return nil, err
	}
	s := got[id]
	if s == nil {
		return nil, nil
	}
	r.Poller.Track(key, aws.ToString(s.ClusterArn), aws.ToString(s.ServiceArn))
	r.Poller.Put(key, s, start)
	return live(s), nil
}

func live(s *ecstypes.Service) *ecstypes.Service {
	if s == nil || aws.ToString(s.Status) == "INACTIVE" {
		return nil
	}
	return s
}

// describe calls DescribeServices once (ids ≤ 10) and returns the services found, keyed by each
// id that names them (ARN or name).
func (r *Reconciler) describe(ctx context.Context, cluster string, ids []string) (map[string]*ecstypes.Service, error) {
	out, err := r.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: ids,
		Include:  []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
	})
	if err != nil {
		return nil, err
	}
	got := make(map[string]*ecstypes.Service, len(out.Services))
	for i := range out.Services {
		s := &out.Services[i]
		// ECS returns up to 100 events per service; a reconcile mirrors at most the newest
		// maxEvents, so the poller need not keep the rest for every service it tracks.
		s.Events = s.Events[:min(len(s.Events), maxEvents)]
		got[aws.ToString(s.ServiceArn)] = s
		got[aws.ToString(s.ServiceName)] = s
	}
	return got, nil
}

func (r *Reconciler) describeBatch(ctx context.Context, cluster string, ids []string) (map[string]*ecstypes.Service, error) {
	return r.describe(ctx, cluster, ids)
}

// owned reports whether the ECS service found by name belongs to svc.
func owned(svc *ecsv1alpha1.Service, observed *ecstypes.Service) bool {
	arn := aws.ToString(observed.ServiceArn)
	switch {
	case svc.Status.ServiceArn != "" && svc.Status.ServiceArn == arn:
		return true
	case managed.AdoptName(svc) != "":
		return true
	}
	return ecscall.TagValue(observed.Tags, ecscall.TagOwner) == string(svc.UID)
}

// create creates the ECS service of svc, launched with nc (LaunchNetwork: the spec's network with
// the Cluster's and the controller's defaults).
func (r *Reconciler) create(ctx context.Context, svc *ecsv1alpha1.Service, cluster, td string, nc *ecsv1alpha1.NetworkConfiguration) (*ecstypes.Service, *reconciler.Problem) {
	if name := managed.AdoptName(svc); name != "" {
		return nil, reconciler.Waiting(managed.ReasonAdoptionNotFound, fmt.Sprintf(
			"the ECS service %q named by annotation %s does not exist in cluster %s: fix the annotation or remove it to create the service",
			name, ecsv1alpha1.AnnotationAdopt, cluster))
	}
	if managed.IsReadOnly(svc, r.Options) {
		return nil, reconciler.Waiting(managed.ReasonReadOnly, fmt.Sprintf("the ECS service %q does not exist in cluster %s and the object is read-only", svc.ECSName(), cluster))
	}
	start := time.Now()
	out, err := r.ECS.CreateService(ctx, CreateInput(withNetwork(svc, nc), cluster, td))
	if err != nil {
		return nil, ecscall.FromECS("creating service "+svc.ECSName(), err)
	}
	s := out.Service
	if len(s.Tags) == 0 {
		// Not every endpoint echoes the tags; the owner tag is what proves the service ours.
		s.Tags = CreateInput(withNetwork(svc, nc), cluster, td).Tags
	}
	ctrl.LoggerFrom(ctx).Info("created ECS service", "arn", aws.ToString(s.ServiceArn))
	key := client.ObjectKeyFromObject(svc)
	r.Poller.Track(key, aws.ToString(s.ClusterArn), aws.ToString(s.ServiceArn))
	r.Poller.Put(key, s, start)
	svc.Status.AppliedTaskDefinition = td
	return s, nil
}

// update converges the ECS service with one UpdateService. drift: the object is read-only and
// the spec differs (nothing written); p: the update failed or the service is not ours.
func (r *Reconciler) update(ctx context.Context, svc *ecsv1alpha1.Service, td string, nc *ecsv1alpha1.NetworkConfiguration, observed *ecstypes.Service) (drift, p *reconciler.Problem) {
	if !owned(svc, observed) {
		return nil, reconciler.Waiting(managed.ReasonNameTaken, fmt.Sprintf(
			"an ECS service named %q that nodeless did not create already exists in %s: set annotation %s: %s to manage it, or choose another spec.serviceName",
			aws.ToString(observed.ServiceName), aws.ToString(observed.ClusterArn), ecsv1alpha1.AnnotationAdopt, aws.ToString(observed.ServiceName)))
	}
	in, changed := UpdateInput(withNetwork(svc, nc), td, observed)
	if in == nil {
		return nil, nil
	}
	if managed.IsReadOnly(svc, r.Options) {
		return managed.ReadOnlyDrift(fmt.Sprintf("%s of ECS service %s", differ(changed), svc.ECSName())), nil
	}
	key := client.ObjectKeyFromObject(svc)
	r.Poller.Invalidate(key)
	start := time.Now()
	out, err := r.ECS.UpdateService(ctx, in)
	if err != nil {
		return nil, ecscall.FromECS("updating service "+svc.ECSName(), err)
	}
	ctrl.LoggerFrom(ctx).Info("updated ECS service", "arn", aws.ToString(observed.ServiceArn), "changed", changed)
	if in.TaskDefinition != nil {
		svc.Status.AppliedTaskDefinition = td
		r.Recorder.Eventf(svc, corev1.EventTypeNormal, managed.ReasonRollingOut, "Rolling out %s", td)
	}
	if len(out.Service.Tags) == 0 {
		out.Service.Tags = observed.Tags // UpdateService does not return them
	}
	r.Poller.Put(key, out.Service, start)
	return nil, nil
}

// differ says which spec members differ: "spec.desiredCount differs from what is set", ...
func differ(members []string) string {
	verb := "differs from what is set"
	if len(members) > 1 {
		verb = "differ from what is set"
	}
	return "spec." + strings.Join(members, ", spec.") + " " + verb
}

// maxEvents is how many of a service's newest ECS events are kept and mirrored per reconcile.
const maxEvents = 10

// emitEvents turns the ECS service events not seen yet into Kubernetes Events, oldest first, at
// most 10 per reconciliation, and remembers the newest.
func (r *Reconciler) emitEvents(svc *ecsv1alpha1.Service, observed *ecstypes.Service) {
	key := client.ObjectKeyFromObject(svc)
	if m, ok := r.lastEvents.Load(key); ok {
		mark := m.(eventMark)
		svc.Status.LastEventID, svc.Status.LastEventTime = mark.id, mark.at
	}
	fresh := newEvents(&svc.Status, observed.Events, maxEvents)
	for i := len(fresh) - 1; i >= 0; i-- {
		msg := aws.ToString(fresh[i].Message)
		r.Recorder.Event(svc, eventType(msg), managed.ReasonServiceEvent, msg)
	}
	if len(fresh) > 0 {
		svc.Status.LastEventID = aws.ToString(fresh[0].Id)
		if t := fresh[0].CreatedAt; t != nil {
			svc.Status.LastEventTime = &metav1.Time{Time: t.UTC().Truncate(time.Second)}
		}
		r.lastEvents.Store(key, eventMark{id: svc.Status.LastEventID, at: svc.Status.LastEventTime})
	}
}

// eventType makes the ECS events that report a failure Warnings.
func eventType(msg string) string {
	m := strings.ToLower(msg)
	for _, w := range []string{"unable", "failed", "failure", "error", "unhealthy", "rolled back", "circuit breaker"} {
		if strings.Contains(m, w) {
			return corev1.EventTypeWarning
		}
	}
	return corev1.EventTypeNormal
}

// newEvents returns the events (newest first, as ECS lists them) newer than the last one seen.
func newEvents(st *ecsv1alpha1.ServiceStatus, events []ecstypes.ServiceEvent, max int) []ecstypes.ServiceEvent {
	var out []ecstypes.ServiceEvent
	for _, e := range events {
		if aws.ToString(e.Id) == st.LastEventID && st.LastEventID != "" {
			break
		}
		if st.LastEventTime != nil && e.CreatedAt != nil && e.CreatedAt.Before(st.LastEventTime.Time) {
			break
		}
		out = append(out, e)
		if len(out) == max {
			break
		}
	}
	return out
}

// withNetwork is svc as CreateInput and UpdateInput read it: with networkConfiguration nc (the
// spec's own, completed with the defaults). A shallow copy, for those pure functions only: the
// object itself, whose status the reconciler writes, keeps its spec as the user wrote it.
func withNetwork(svc *ecsv1alpha1.Service, nc *ecsv1alpha1.NetworkConfiguration) *ecsv1alpha1.Service {
	c := *svc
	c.Spec.NetworkConfiguration = nc
	return &c
}
