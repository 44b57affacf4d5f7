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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/poller"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Reconciler holds the Task steps of the reconcile skeleton (reconciler.Steps).
type Reconciler struct {
	Client   client.Client
	ECS      ecsapi.API
	Recorder record.EventRecorder
	// Options, with their defaults applied (managed.Options.WithDefaults).
	Options managed.Options
	Poller  *poller.Poller[*ecstypes.Task]

	// started remembers the task each Task object started (types.NamespacedName -> startedTask),
	// because the informer cache may not show the status write yet when the next reconcile (or
	// the deletion) starts.
	started sync.Map
}

var _ reconciler.Steps[*ecsv1alpha1.Task] = (*Reconciler)(nil)

// startedTask is the task started for the object with uid (a Task deleted and created again
// under the same name is another object).
type startedTask struct {
	uid  types.UID
	task *ecstypes.Task
}

// NewReconciler returns a Reconciler with its poller; opts have their defaults applied.
func NewReconciler(c client.Client, api ecsapi.API, rec record.EventRecorder, opts managed.Options) *Reconciler {
	r := &Reconciler{Client: c, ECS: api, Recorder: rec, Options: opts}
	r.Poller = poller.New(poller.Config[*ecstypes.Task]{
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

// Register adds the Task controller and its poller to mgr; opts have their defaults applied.
func Register(mgr ctrl.Manager, api ecsapi.API, opts managed.Options) error {
	r := NewReconciler(mgr.GetClient(), api, mgr.GetEventRecorderFor("task-controller"), opts) //nolint:staticcheck // docs/upgrading-kubernetes.md: the move to GetEventRecorder (events.k8s.io) is its own change
	if err := mgr.Add(r.Poller); err != nil {
		return fmt.Errorf("adding task poller: %w", err)
	}
	// No Resync: the poller wakes a Task whenever what ECS reports about it changes, until it
	// is STOPPED for good.
	rec, err := reconciler.New(r, managed.Config(mgr,
		func(t *ecsv1alpha1.Task) *ecsv1alpha1.TaskStatus { return &t.Status },
		func(s *ecsv1alpha1.TaskStatus) *ecsv1alpha1.CommonStatus { return &s.CommonStatus }))
	if err != nil {
		return fmt.Errorf("building the Task reconciler: %w", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("ecs-task").
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		For(&ecsv1alpha1.Task{}, builder.WithPredicates(reconciler.SpecOrAnnotationsChanged())).
		Watches(&ecsv1alpha1.TaskDefinition{}, handler.EnqueueRequestsFromMapFunc(r.waiting(managed.IndexTaskDefinitionRef))).
		Watches(&ecsv1alpha1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.waitingOnCluster)).
		WatchesRawSource(r.Poller.Source()).
		Complete(rec)
	if err != nil {
		return fmt.Errorf("building task controller: %w", err)
	}
	return nil
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
			if list.Items[i].Status.TaskArn == "" {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
		return reqs
	}
}

// waitingOnCluster maps a Cluster to the Tasks not started yet that use it: by clusterRef, or by
// naming its ECS cluster in spec.cluster (its spec.defaults apply to both).
func (r *Reconciler) waitingOnCluster(ctx context.Context, obj client.Object) []reconcile.Request {
	users, err := managed.UsersOfCluster(ctx, r.Client, obj, &ecsv1alpha1.TaskList{})
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the tasks of a cluster")
	}
	var reqs []reconcile.Request
	for _, u := range users {
		if t, ok := u.(*ecsv1alpha1.Task); ok && t.Status.TaskArn == "" {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(t)})
		}
	}
	return reqs
}

// Readiness derives Ready from the task's lifecycle (Readiness of the status).
func (r *Reconciler) Readiness(t *ecsv1alpha1.Task) (reconciler.Readiness, bool) {
	ok, reason, msg := Readiness(&t.Status)
	return reconciler.Readiness{Ready: ok, Reason: reason, Message: msg}, t.Status.TaskArn != ""
}

// Forget stops polling the Task and drops the task it started.
func (r *Reconciler) Forget(key types.NamespacedName) {
	r.Poller.Untrack(key)
	r.started.Delete(key)
}

// startedBy returns the task this controller started for t and still remembers, nil if none.
func (r *Reconciler) startedBy(t *ecsv1alpha1.Task) *ecstypes.Task {
	v, ok := r.started.Load(client.ObjectKeyFromObject(t))
	if !ok || v.(startedTask).uid != t.UID {
		return nil
	}
	return v.(startedTask).task
}

// Sync starts the task once and mirrors its lifecycle. A status stored by a nodeless from before
// the status rename (taskARN, ...) is moved to the new members first, so the task it ran is the
// one mirrored, not run again (api/ecs/v1alpha1/deprecated.go).
func (r *Reconciler) Sync(ctx context.Context, t *ecsv1alpha1.Task) *reconciler.Problem {
	key := client.ObjectKeyFromObject(t)
	t.Status.MoveDeprecatedMembers()
	if t.Status.TaskArn == "" {
		started := r.startedBy(t)
		if started == nil {
			return r.run(ctx, t)
		}
		MirrorStatus(&t.Status, started)
	}
	observed, ok := r.Poller.Get(key)
	if !ok {
		start := time.Now()
		got, err := r.describe(ctx, t.Status.ClusterArn, []string{t.Status.TaskArn})
		if err != nil {
			return ecscall.FromECS("describing task "+t.Status.TaskArn, err)
		}
		observed = got[t.Status.TaskArn]
		r.Poller.Track(key, t.Status.ClusterArn, t.Status.TaskArn)
		r.Poller.Put(key, observed, start)
	}
	if observed == nil {
		// ECS forgets stopped tasks after a while; keep the last status we saw.
		r.Poller.Untrack(key)
		return nil
	}
	if p := r.syncTags(ctx, t, observed); p != nil {
		return p
	}
	MirrorStatus(&t.Status, observed)
	if t.Status.LastStatus == "STOPPED" {
		r.Poller.Untrack(key)
	}
	return nil
}

func (r *Reconciler) run(ctx context.Context, t *ecsv1alpha1.Task) *reconciler.Problem {
	cluster, p := managed.ResolveCluster(ctx, r.Client, t.Namespace, t.Spec.Cluster, t.Spec.ClusterRef)
	if p != nil {
		return p
	}
	ls := managed.LaunchSpec{
		Namespace: t.Namespace, Cluster: t.Spec.Cluster, ClusterRef: t.Spec.ClusterRef, LaunchType: t.Spec.LaunchType,
		PlatformVersion: t.Spec.PlatformVersion, NetworkConfiguration: t.Spec.NetworkConfiguration,
	}
	td, p := managed.ResolveTaskDefinition(ctx, r.Client, ls, t.Spec.TaskDefinition, t.Spec.TaskDefinitionRef)
	if p != nil {
		return p
	}
	if managed.IsReadOnly(t, r.Options) {
		return reconciler.Waiting(managed.ReasonReadOnly, "the task has not been started and the object is read-only")
	}
	nc, p := managed.LaunchNetwork(ctx, r.Client, ls, r.Options.Defaults)
	if p != nil {
		return managed.RecordRefusal(r.Recorder, t, p)
	}
	// RunInput reads a shallow copy with the network completed from the defaults; the object
	// keeps its spec as the user wrote it.
	launched := *t
	launched.Spec.NetworkConfiguration = nc
	start := time.Now()
	out, err := r.ECS.RunTask(ctx, RunInput(&launched, cluster, td))
	if err != nil {
		return ecscall.FromECS("running task "+t.Name, err)
	}
	if len(out.Tasks) == 0 {
		var reasons []string
		for _, f := range out.Failures {
			reasons = append(reasons, strings.TrimSpace(aws.ToString(f.Reason)+" "+aws.ToString(f.Detail)))
		}
		return &reconciler.Problem{Reason: managed.ReasonRunTaskFailed, RequeueAfter: 30 * time.Second,
			Message: fmt.Sprintf("ECS did not start the task: %s", strings.Join(reasons, "; "))}
	}
	task := &out.Tasks[0]
	t.Status.AppliedTags = inplace.Applied(t.Spec.Tags) // RunTask set them
	key := client.ObjectKeyFromObject(t)
	r.started.Store(key, startedTask{uid: t.UID, task: task})
	r.Poller.Track(key, aws.ToString(task.ClusterArn), aws.ToString(task.TaskArn))
	r.Poller.Put(key, task, start)
	MirrorStatus(&t.Status, task)
	ctrl.LoggerFrom(ctx).Info("started ECS task", "arn", aws.ToString(task.TaskArn))
	return nil
}

// describe calls DescribeTasks once (ids ≤ 100).
func (r *Reconciler) describe(ctx context.Context, cluster string, ids []string) (map[string]*ecstypes.Task, error) {
	out, err := r.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: ids, Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
	if err != nil {
		return nil, err
	}
	got := make(map[string]*ecstypes.Task, len(out.Tasks))
	for i := range out.Tasks {
		got[aws.ToString(out.Tasks[i].TaskArn)] = &out.Tasks[i]
	}
	return got, nil
}

// Finalize stops the task (policy delete, not read-only) unless it is STOPPED already; the
// task this controller started but whose status write the object does not show yet counts too.
// A task ECS no longer knows is stopped.
func (r *Reconciler) Finalize(ctx context.Context, t *ecsv1alpha1.Task) *reconciler.Problem {
	if !managed.DeletesECSResource(t, r.Options) {
		return nil
	}
	t.Status.MoveDeprecatedMembers() // deleted before its first Sync after an upgrade
	cluster, arn, last := t.Status.ClusterArn, t.Status.TaskArn, t.Status.LastStatus
	if started := r.startedBy(t); arn == "" && started != nil {
		cluster, arn, last = aws.ToString(started.ClusterArn), aws.ToString(started.TaskArn), aws.ToString(started.LastStatus)
	}
	if arn == "" || last == "STOPPED" {
		return nil
	}
	_, err := r.ECS.StopTask(ctx, &ecs.StopTaskInput{
		Cluster: aws.String(cluster), Task: aws.String(arn),
		Reason: aws.String(fmt.Sprintf("Task %s/%s deleted in Kubernetes", t.Namespace, t.Name)),
	})
	if err != nil && !ecsapi.IsNotFound(err) {
		return ecscall.FromECS("stopping task "+arn, err)
	}
	ctrl.LoggerFrom(ctx).Info("stopped ECS task", "arn", arn)
	return nil
}
