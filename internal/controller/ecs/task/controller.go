package task

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/core"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Reconciler reconciles Task objects.
type Reconciler struct {
	Client   client.Client
	ECS      ecsapi.API
	Recorder record.EventRecorder
	Options  core.Options
	Poller   *core.Poller[*ecstypes.Task]

	// started remembers the task each Task object started (UID -> task), because the informer
	// cache may not show the status write yet when the next reconcile starts.
	started sync.Map
}

// NewReconciler returns a Reconciler with its poller.
func NewReconciler(c client.Client, api ecsapi.API, rec record.EventRecorder, opts core.Options) *Reconciler {
	opts = opts.Defaults()
	r := &Reconciler{Client: c, ECS: api, Recorder: rec, Options: opts}
	r.Poller = core.NewPoller(core.PollerConfig[*ecstypes.Task]{
		BatchSize:      ecsapi.MaxDescribeTasks,
		Describe:       r.describe,
		Fingerprint:    Fingerprint,
		Stable:         Stable,
		NewObject:      func() client.Object { return &ecsv1alpha1.Task{} },
		Interval:       opts.PollInterval,
		StableInterval: opts.StablePollInterval,
	})
	return r
}

// Register adds the Task controller and its poller to mgr.
func Register(mgr ctrl.Manager, api ecsapi.API, opts core.Options) (*Reconciler, error) {
	r := NewReconciler(mgr.GetClient(), api, mgr.GetEventRecorderFor("task-controller"), opts) //nolint:staticcheck // see docs/upgrading-kubernetes.md: GetEventRecorder is next
	if err := mgr.Add(r.Poller); err != nil {
		return nil, fmt.Errorf("adding task poller: %w", err)
	}
	err := ctrl.NewControllerManagedBy(mgr).
		Named("ecs-task").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.Workers}).
		For(&ecsv1alpha1.Task{}, builder.WithPredicates(core.SpecOrAnnotationsChanged())).
		Watches(&ecsv1alpha1.TaskDefinition{}, handler.EnqueueRequestsFromMapFunc(r.waiting(core.IndexTaskDefinitionRef))).
		Watches(&ecsv1alpha1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.waiting(core.IndexClusterRef))).
		WatchesRawSource(r.Poller.Source()).
		Complete(r)
	if err != nil {
		return nil, fmt.Errorf("building task controller: %w", err)
	}
	return r, nil
}

// waiting maps a TaskDefinition or Cluster to the Tasks referencing it that have not started yet.
func (r *Reconciler) waiting(index string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list ecsv1alpha1.TaskList
		if err := r.Client.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{index: obj.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing referencing tasks", "index", index)
			return nil
		}
		var reqs []reconcile.Request
		for i := range list.Items {
			if list.Items[i].Status.TaskARN == "" {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
		return reqs
	}
}

// Reconcile starts the task once and mirrors its lifecycle.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	t := &ecsv1alpha1.Task{}
	if err := r.Client.Get(ctx, req.NamespacedName, t); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.Poller.Untrack(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !t.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, t)
	}
	if _, err := core.EnsureFinalizer(ctx, r.Client, t); err != nil {
		return ctrl.Result{}, err
	}
	orig := t.DeepCopy()
	p := r.sync(ctx, t)
	st := &t.Status.CommonStatus
	if p != nil {
		core.SetNotSynced(st, t.Generation, p.Reason, p.Message)
		if t.Status.TaskARN == "" {
			core.SetReady(st, t.Generation, false, p.Reason, p.Message)
		}
	} else {
		core.SetSynced(st, t.Generation)
		ok, reason, msg := Readiness(&t.Status)
		core.SetReady(st, t.Generation, ok, reason, msg)
	}
	if err := core.PatchStatus(ctx, r.Client, t, orig, t.Status, orig.Status); err != nil {
		return ctrl.Result{}, err
	}
	return core.Result(p)
}

func (r *Reconciler) sync(ctx context.Context, t *ecsv1alpha1.Task) *core.Problem {
	key := client.ObjectKeyFromObject(t)
	if t.Status.TaskARN == "" {
		v, ok := r.started.Load(t.UID)
		if !ok {
			return r.run(ctx, t)
		}
		MirrorStatus(&t.Status, v.(*ecstypes.Task))
	}
	observed, ok := r.Poller.Get(key)
	if !ok {
		start := time.Now()
		got, err := r.describe(ctx, t.Status.ClusterARN, []string{t.Status.TaskARN})
		if err != nil {
			return core.FromECS("describing task "+t.Status.TaskARN, err)
		}
		observed = got[t.Status.TaskARN]
		r.Poller.Track(key, t.Status.ClusterARN, t.Status.TaskARN)
		r.Poller.Put(key, observed, start)
	}
	if observed == nil {
		// ECS forgets stopped tasks after a while; keep the last status we saw.
		r.Poller.Untrack(key)
		return nil
	}
	MirrorStatus(&t.Status, observed)
	if t.Status.LastStatus == "STOPPED" {
		r.Poller.Untrack(key)
	}
	return nil
}

func (r *Reconciler) run(ctx context.Context, t *ecsv1alpha1.Task) *core.Problem {
	cluster, p := core.ResolveCluster(ctx, r.Client, t.Namespace, t.Spec.Cluster, t.Spec.ClusterRef)
	if p != nil {
		return p
	}
	td, p := core.ResolveTaskDefinition(ctx, r.Client, t.Namespace, t.Spec.TaskDefinition, t.Spec.TaskDefinitionRef)
	if p != nil {
		return p
	}
	if core.IsReadOnly(t, r.Options) {
		return core.Waiting(core.ReasonReadOnly, "the task has not been started and the object is read-only")
	}
	start := time.Now()
	out, err := r.ECS.RunTask(ctx, RunInput(t, cluster, td))
	if err != nil {
		return core.FromECS("running task "+t.Name, err)
	}
	if len(out.Tasks) == 0 {
		var reasons []string
		for _, f := range out.Failures {
			reasons = append(reasons, strings.TrimSpace(aws.ToString(f.Reason)+" "+aws.ToString(f.Detail)))
		}
		return &core.Problem{Reason: core.ReasonRunTaskFailed, RequeueAfter: 30 * time.Second,
			Message: fmt.Sprintf("ECS did not start the task: %s", strings.Join(reasons, "; "))}
	}
	task := &out.Tasks[0]
	r.started.Store(t.UID, task)
	key := client.ObjectKeyFromObject(t)
	r.Poller.Track(key, aws.ToString(task.ClusterArn), aws.ToString(task.TaskArn))
	r.Poller.Put(key, task, start)
	MirrorStatus(&t.Status, task)
	ctrl.LoggerFrom(ctx).Info("started ECS task", "arn", aws.ToString(task.TaskArn))
	return nil
}

// describe calls DescribeTasks once (ids ≤ 100).
func (r *Reconciler) describe(ctx context.Context, cluster string, ids []string) (map[string]*ecstypes.Task, error) {
	out, err := r.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: ids})
	if err != nil {
		return nil, err
	}
	got := make(map[string]*ecstypes.Task, len(out.Tasks))
	for i := range out.Tasks {
		got[aws.ToString(out.Tasks[i].TaskArn)] = &out.Tasks[i]
	}
	return got, nil
}

// finalize stops the task (policy delete) and lets the object go.
func (r *Reconciler) finalize(ctx context.Context, t *ecsv1alpha1.Task) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(t)
	policy := core.DeletionPolicyOf(t, r.Options.DeletionPolicy)
	if policy == ecsv1alpha1.DeletionPolicyDelete && !core.IsReadOnly(t, r.Options) && t.Status.TaskARN != "" && t.Status.LastStatus != "STOPPED" {
		_, err := r.ECS.StopTask(ctx, &ecs.StopTaskInput{
			Cluster: aws.String(t.Status.ClusterARN), Task: aws.String(t.Status.TaskARN),
			Reason: aws.String(fmt.Sprintf("Task %s/%s deleted in Kubernetes", t.Namespace, t.Name)),
		})
		if err != nil && !ecsapi.IsNotFound(err) && !ecsapi.IsInvalidParameter(err) {
			return core.Result(core.FromECS("stopping task "+t.Status.TaskARN, err))
		}
		ctrl.LoggerFrom(ctx).Info("stopped ECS task", "arn", t.Status.TaskARN)
	}
	r.Poller.Untrack(key)
	r.started.Delete(t.UID)
	return ctrl.Result{}, core.RemoveFinalizer(ctx, r.Client, t)
}
