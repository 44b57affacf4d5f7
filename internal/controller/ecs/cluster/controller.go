package cluster

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Reconciler holds the Cluster steps of the reconcile skeleton (reconciler.Steps).
type Reconciler struct {
	ECS ecsapi.API
	// Options, with their defaults applied (managed.Options.WithDefaults).
	Options managed.Options
}

var _ reconciler.Steps[*ecsv1alpha1.Cluster] = (*Reconciler)(nil)

// Register adds the Cluster controller to mgr; opts have their defaults applied.
func Register(mgr ctrl.Manager, api ecsapi.API, opts managed.Options) error {
	r := &Reconciler{ECS: api, Options: opts}
	cfg := managed.Config(mgr,
		func(c *ecsv1alpha1.Cluster) *ecsv1alpha1.ClusterStatus { return &c.Status },
		func(s *ecsv1alpha1.ClusterStatus) *ecsv1alpha1.CommonStatus { return &s.CommonStatus })
	// A cluster's counts (SERVICES, RUNNING, PENDING) change as its services and tasks do. Those
	// of the Services and Tasks in Kubernetes are seen as their status changes (their poller
	// describes them every PollInterval while they change): such a change reads the cluster
	// again, so the columns follow them within one poll, with no DescribeClusters at rest. The
	// rest (tasks of Pods, of services nodeless does not manage) are read again every
	// StablePollInterval. Clusters have no poller of their own: they are few.
	cfg.Resync = opts.StablePollInterval
	rec, err := reconciler.New(r, cfg)
	if err != nil {
		return fmt.Errorf("building the Cluster reconciler: %w", err)
	}
	clusters := referencedClusters(mgr.GetClient())
	return ctrl.NewControllerManagedBy(mgr).
		Named("ecs-cluster").
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		For(&ecsv1alpha1.Cluster{}, builder.WithPredicates(reconciler.SpecOrAnnotationsChanged())).
		Watches(&ecsv1alpha1.Service{}, handler.EnqueueRequestsFromMapFunc(clusters),
			builder.WithPredicates(countedChange(func(s *ecsv1alpha1.Service) serviceCounts {
				return serviceCounts{s.Status.Status, s.Status.RunningCount, s.Status.PendingCount}
			}))).
		Watches(&ecsv1alpha1.Task{}, handler.EnqueueRequestsFromMapFunc(clusters),
			builder.WithPredicates(countedChange(func(t *ecsv1alpha1.Task) [2]string {
				return [2]string{t.Status.LastStatus, t.Status.TaskArn}
			}))).
		Complete(rec)
}

// serviceCounts are the members of a Service's status its cluster's counts follow.
type serviceCounts struct {
	status           string
	running, pending int32
}

// countedChange passes the creation and deletion of an object of type T, and the updates that
// change what counts returns (the members of its status a cluster's counts follow).
func countedChange[T client.Object, K comparable](counts func(T) K) predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, okOld := e.ObjectOld.(T)
			n, okNew := e.ObjectNew.(T)
			return okOld && okNew && counts(o) != counts(n)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// referencedClusters maps a Service or Task to the Cluster it runs in: its clusterRef, or the
// Clusters of its namespace whose ECS name or ARN its cluster member names.
func referencedClusters(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var ref *ecsv1alpha1.LocalObjectReference
		var cluster string
		switch o := obj.(type) {
		case *ecsv1alpha1.Service:
			ref, cluster = o.Spec.ClusterRef, o.Spec.Cluster
		case *ecsv1alpha1.Task:
			ref, cluster = o.Spec.ClusterRef, o.Spec.Cluster
		default:
			return nil
		}
		if ref != nil {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: ref.Name}}}
		}
		if cluster == "" {
			return nil
		}
		var list ecsv1alpha1.ClusterList
		if err := c.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
			return nil // the stable resync reads the cluster anyway
		}
		var out []reconcile.Request
		for i := range list.Items {
			cl := &list.Items[i]
			if cluster == cl.ECSName() || (cl.Status.ClusterArn != "" && cluster == cl.Status.ClusterArn) {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(cl)})
			}
		}
		return out
	}
}

func (r *Reconciler) name(c *ecsv1alpha1.Cluster) string {
	if n := managed.AdoptName(c); n != "" {
		return n
	}
	return c.ECSName()
}

// Sync creates the ECS cluster (CreateCluster is idempotent by name), keeps the settings the
// spec names in sync, and mirrors what ECS reports.
func (r *Reconciler) Sync(ctx context.Context, c *ecsv1alpha1.Cluster) *reconciler.Problem {
	c.Status.MoveDeprecatedMembers() // stored as clusterARN before the status rename
	name := r.name(c)
	observed, err := r.describe(ctx, name)
	if err != nil {
		return ecscall.FromECS("describing cluster "+name, err)
	}
	if p := r.inPlace(ctx, c, name, observed); p != nil {
		return p
	}
	if observed == nil {
		if observed, err = r.create(ctx, c, name); err != nil {
			return reconciler.AsProblem(err)
		}
		mirror(&c.Status, observed)
		return nil
	}
	if !settingsMatch(c.Spec.Settings, observed.Settings) {
		if managed.IsReadOnly(c, r.Options) {
			mirror(&c.Status, observed)
			return managed.ReadOnlyDrift("settings differ from ECS cluster " + name)
		}
		out, err := r.ECS.UpdateCluster(ctx, &ecs.UpdateClusterInput{
			Cluster: observed.ClusterArn, Settings: settings(c.Spec.Settings),
		})
		if err != nil {
			return ecscall.FromECS("updating settings of cluster "+name, err)
		}
		observed = keepTags(out.Cluster, observed)
	}
	observed, p := r.syncMembers(ctx, c, observed)
	mirror(&c.Status, observed)
	return p
}

// create creates the ECS cluster name, unless the object adopts one or is read-only.
func (r *Reconciler) create(ctx context.Context, c *ecsv1alpha1.Cluster, name string) (*ecstypes.Cluster, error) {
	if managed.AdoptName(c) != "" {
		return nil, reconciler.Waiting(managed.ReasonAdoptionNotFound, fmt.Sprintf("the ECS cluster %q named by annotation %s does not exist: fix the annotation or remove it to create the cluster", name, ecsv1alpha1.AnnotationAdopt))
	}
	if managed.IsReadOnly(c, r.Options) {
		return nil, reconciler.Waiting(managed.ReasonReadOnly, fmt.Sprintf("the ECS cluster %q does not exist and the object is read-only", name))
	}
	in := &ecs.CreateClusterInput{ClusterName: aws.String(name), Settings: settings(c.Spec.Settings), Tags: managed.Tags(c.Spec.Tags)}
	createMembers(&c.Spec, in)
	out, err := r.ECS.CreateCluster(ctx, in)
	if err != nil {
		return nil, ecscall.FromECS("creating cluster "+name, err)
	}
	ctrl.LoggerFrom(ctx).Info("created ECS cluster", "arn", aws.ToString(out.Cluster.ClusterArn))
	return out.Cluster, nil
}

// Readiness: Ready while ECS reports the cluster ACTIVE.
func (r *Reconciler) Readiness(c *ecsv1alpha1.Cluster) (reconciler.Readiness, bool) {
	exists := c.Status.ClusterArn != ""
	if c.Status.Status == "ACTIVE" {
		return reconciler.Readiness{Ready: true, Reason: managed.ReasonActive, Message: "ECS reports the cluster ACTIVE"}, exists
	}
	return reconciler.Readiness{Reason: managed.ReasonNotActive, Message: fmt.Sprintf("ECS reports the cluster %s", c.Status.Status)}, exists
}

// Forget: the Cluster steps keep nothing in memory.
func (r *Reconciler) Forget(types.NamespacedName) {}

// describe returns the ACTIVE (or PROVISIONING) cluster name, nil when ECS does not know it or
// it is INACTIVE.
func (r *Reconciler) describe(ctx context.Context, name string) (*ecstypes.Cluster, error) {
	out, err := r.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings, ecstypes.ClusterFieldTags, ecstypes.ClusterFieldConfigurations},
	})
	if err != nil {
		return nil, err
	}
	for i := range out.Clusters {
		if s := aws.ToString(out.Clusters[i].Status); s != "INACTIVE" {
			return &out.Clusters[i], nil
		}
	}
	return nil, nil
}

func settings(in []ecsv1alpha1.ClusterSetting) []ecstypes.ClusterSetting {
	var out []ecstypes.ClusterSetting
	for _, s := range in {
		out = append(out, ecstypes.ClusterSetting{Name: ecstypes.ClusterSettingName(s.Name), Value: aws.String(s.Value)})
	}
	return out
}

// settingsMatch compares only the settings the spec names.
func settingsMatch(want []ecsv1alpha1.ClusterSetting, got []ecstypes.ClusterSetting) bool {
	for _, w := range want {
		found := false
		for _, g := range got {
			if string(g.Name) == w.Name && aws.ToString(g.Value) == w.Value {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func mirror(st *ecsv1alpha1.ClusterStatus, c *ecstypes.Cluster) {
	st.ClusterArn = aws.ToString(c.ClusterArn)
	st.ClusterName = aws.ToString(c.ClusterName)
	st.Status = aws.ToString(c.Status)
	st.RunningTasksCount = aws.Int32(c.RunningTasksCount)
	st.PendingTasksCount = aws.Int32(c.PendingTasksCount)
	st.ActiveServicesCount = aws.Int32(c.ActiveServicesCount)
}

// Finalize deletes the ECS cluster (policy delete, not read-only, created or adopted); ECS
// refuses while services or tasks run in it, which the Problem says.
func (r *Reconciler) Finalize(ctx context.Context, c *ecsv1alpha1.Cluster) *reconciler.Problem {
	c.Status.MoveDeprecatedMembers() // deleted before its first Sync after an upgrade
	if !managed.DeletesECSResource(c, r.Options) || c.Status.ClusterArn == "" {
		return nil
	}
	_, err := r.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(c.Status.ClusterArn)})
	if err == nil || ecsapi.IsNotFound(err) {
		ctrl.LoggerFrom(ctx).Info("deleted ECS cluster", "arn", c.Status.ClusterArn)
		return nil
	}
	p := ecscall.FromECS("deleting cluster "+c.Status.ClusterArn, err)
	if ecsapi.IsConflict(err) {
		p.Message += "; delete the Services and Tasks running in it first (they are deleted in the background when they are being deleted too)"
	}
	return p
}
