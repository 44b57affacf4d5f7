package cluster

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/core"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Reconciler reconciles Cluster objects.
type Reconciler struct {
	Client   client.Client
	ECS      ecsapi.API
	Recorder record.EventRecorder
	Options  core.Options
}

// Register adds the Cluster controller to mgr.
func Register(mgr ctrl.Manager, api ecsapi.API, opts core.Options) error {
	r := &Reconciler{
		Client: mgr.GetClient(), ECS: api, Options: opts.Defaults(),
		Recorder: mgr.GetEventRecorderFor("cluster-controller"), //nolint:staticcheck // see docs/upgrading-kubernetes.md: GetEventRecorder is next
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("ecs-cluster").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.Workers}).
		For(&ecsv1alpha1.Cluster{}, builder.WithPredicates(core.SpecOrAnnotationsChanged())).
		Complete(r)
}

// Reconcile converges the ECS cluster to the Cluster's spec and mirrors its counts.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	c := &ecsv1alpha1.Cluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, c); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	orig := c.DeepCopy()
	if !c.DeletionTimestamp.IsZero() {
		p := r.finalize(ctx, c)
		if p == nil {
			return ctrl.Result{}, core.RemoveFinalizer(ctx, r.Client, c)
		}
		core.SetReady(&c.Status.CommonStatus, c.Generation, false, core.ReasonDeleting, p.Message)
		if err := core.PatchStatus(ctx, r.Client, c, orig, c.Status, orig.Status); err != nil {
			return ctrl.Result{}, err
		}
		return core.Result(p)
	}
	if _, err := core.EnsureFinalizer(ctx, r.Client, c); err != nil {
		return ctrl.Result{}, err
	}
	orig = c.DeepCopy()
	p := r.sync(ctx, c)
	st := &c.Status.CommonStatus
	if p != nil {
		core.SetNotSynced(st, c.Generation, p.Reason, p.Message)
		if c.Status.ClusterARN == "" {
			core.SetReady(st, c.Generation, false, p.Reason, p.Message)
		}
	} else {
		core.SetSynced(st, c.Generation)
		ok := c.Status.Status == "ACTIVE"
		reason := core.ReasonActive
		if !ok {
			reason = core.ReasonNotActive
		}
		core.SetReady(st, c.Generation, ok, reason, fmt.Sprintf("ECS reports the cluster %s", c.Status.Status))
	}
	if err := core.PatchStatus(ctx, r.Client, c, orig, c.Status, orig.Status); err != nil {
		return ctrl.Result{}, err
	}
	if p == nil {
		// Counts change without any event Kubernetes sees; clusters are few, one read a minute each.
		return ctrl.Result{RequeueAfter: r.Options.StablePollInterval}, nil
	}
	return core.Result(p)
}

func (r *Reconciler) name(c *ecsv1alpha1.Cluster) string {
	if n := core.AdoptName(c); n != "" {
		return n
	}
	return c.ECSName()
}

func (r *Reconciler) sync(ctx context.Context, c *ecsv1alpha1.Cluster) *core.Problem {
	name := r.name(c)
	observed, err := r.describe(ctx, name)
	if err != nil {
		return core.FromECS("describing cluster "+name, err)
	}
	if observed == nil {
		if core.AdoptName(c) != "" {
			return core.Waiting(core.ReasonAdoptionNotFound, fmt.Sprintf("the ECS cluster %q named by annotation %s does not exist: fix the annotation or remove it to create the cluster", name, ecsv1alpha1.AnnotationAdopt))
		}
		if core.IsReadOnly(c, r.Options) {
			return core.Waiting(core.ReasonReadOnly, fmt.Sprintf("the ECS cluster %q does not exist and the object is read-only", name))
		}
		out, err := r.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{
			ClusterName: aws.String(name), Settings: settings(c.Spec.Settings), Tags: core.Tags(c.Spec.Tags),
		})
		if err != nil {
			return core.FromECS("creating cluster "+name, err)
		}
		ctrl.LoggerFrom(ctx).Info("created ECS cluster", "arn", aws.ToString(out.Cluster.ClusterArn))
		observed = out.Cluster
	} else if !settingsMatch(c.Spec.Settings, observed.Settings) && !core.IsReadOnly(c, r.Options) {
		out, err := r.ECS.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{
			Cluster: observed.ClusterArn, Settings: settings(c.Spec.Settings),
		})
		if err != nil {
			return core.FromECS("updating settings of cluster "+name, err)
		}
		observed = out.Cluster
	}
	mirror(&c.Status, observed)
	return nil
}

// describe returns the ACTIVE (or PROVISIONING) cluster name, nil when ECS does not know it or
// it is INACTIVE.
func (r *Reconciler) describe(ctx context.Context, name string) (*ecstypes.Cluster, error) {
	out, err := r.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings},
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
	st.ClusterARN = aws.ToString(c.ClusterArn)
	st.ClusterName = aws.ToString(c.ClusterName)
	st.Status = aws.ToString(c.Status)
	st.RunningTasksCount = c.RunningTasksCount
	st.PendingTasksCount = c.PendingTasksCount
	st.ActiveServicesCount = c.ActiveServicesCount
}

// finalize deletes the ECS cluster (policy delete); nil means the finalizer may go.
func (r *Reconciler) finalize(ctx context.Context, c *ecsv1alpha1.Cluster) *core.Problem {
	if core.DeletionPolicyOf(c, r.Options.DeletionPolicy) != ecsv1alpha1.DeletionPolicyDelete || core.IsReadOnly(c, r.Options) || c.Status.ClusterARN == "" {
		return nil
	}
	_, err := r.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(c.Status.ClusterARN)})
	if err == nil || ecsapi.IsNotFound(err) {
		ctrl.LoggerFrom(ctx).Info("deleted ECS cluster", "arn", c.Status.ClusterARN)
		return nil
	}
	p := core.FromECS("deleting cluster "+c.Status.ClusterARN, err)
	if ecsapi.IsConflict(err) {
		p.Message += "; delete the Services and Tasks running in it first (they are deleted in the background when they are being deleted too)"
	}
	return p
}
