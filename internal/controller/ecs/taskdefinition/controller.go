package taskdefinition

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// Reconciler reconciles TaskDefinition objects.
type Reconciler struct {
	Client   client.Client
	ECS      ecsapi.API
	Recorder record.EventRecorder
	Options  core.Options
	// InUse returns the task definition ARNs Services still run or roll to or from; nil lists
	// the Services referencing the TaskDefinition through the client.
	InUse func(ctx context.Context, td *ecsv1alpha1.TaskDefinition) (map[string]bool, error)
}

// Register adds the TaskDefinition controller to mgr. It needs the Service field index on
// spec.taskDefinitionRef.name (core.IndexTaskDefinitionRef), which the manager sets up.
func Register(mgr ctrl.Manager, api ecsapi.API, opts core.Options) error {
	r := &Reconciler{
		Client:   mgr.GetClient(),
		ECS:      api,
		Recorder: mgr.GetEventRecorderFor("taskdefinition-controller"), //nolint:staticcheck // see docs/upgrading-kubernetes.md: GetEventRecorder is next
		Options:  opts.Defaults(),
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("ecs-taskdefinition").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.Workers}).
		For(&ecsv1alpha1.TaskDefinition{}, builder.WithPredicates(core.SpecOrAnnotationsChanged())).
		Watches(&ecsv1alpha1.Service{}, handler.EnqueueRequestsFromMapFunc(serviceToTaskDefinition)).
		Complete(r)
}

// A Service's rollout decides when old revisions may go: wake its TaskDefinition.
func serviceToTaskDefinition(_ context.Context, obj client.Object) []reconcile.Request {
	svc, ok := obj.(*ecsv1alpha1.Service)
	if !ok || svc.Spec.TaskDefinitionRef == nil {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: svc.Namespace, Name: svc.Spec.TaskDefinitionRef.Name}}}
}

// Reconcile registers the spec as a revision when it changed and deregisters unused old ones.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	td := &ecsv1alpha1.TaskDefinition{}
	if err := r.Client.Get(ctx, req.NamespacedName, td); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !td.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, td)
	}
	if _, err := core.EnsureFinalizer(ctx, r.Client, td); err != nil {
		return ctrl.Result{}, err
	}
	orig := td.DeepCopy()
	p := r.sync(ctx, td)
	r.setConditions(td, p)
	if err := core.PatchStatus(ctx, r.Client, td, orig, td.Status, orig.Status); err != nil {
		return ctrl.Result{}, err
	}
	return core.Result(p)
}

func (r *Reconciler) setConditions(td *ecsv1alpha1.TaskDefinition, p *core.Problem) {
	st := &td.Status.CommonStatus
	if p != nil {
		core.SetNotSynced(st, td.Generation, p.Reason, p.Message)
		if td.Status.TaskDefinitionARN == "" || td.Status.SpecHash == "" {
			core.SetReady(st, td.Generation, false, p.Reason, p.Message)
		}
		return
	}
	core.SetSynced(st, td.Generation)
	core.SetReady(st, td.Generation, true, core.ReasonRegistered,
		fmt.Sprintf("revision %d of family %s is registered", td.Status.Revision, td.Status.Family))
}

func (r *Reconciler) sync(ctx context.Context, td *ecsv1alpha1.TaskDefinition) *core.Problem {
	hash, err := core.Hash(td.Spec)
	if err != nil {
		return core.AsProblem(err)
	}
	if td.Status.SpecHash != hash {
		if core.IsReadOnly(td, r.Options) {
			return core.Waiting(core.ReasonReadOnly, "the spec differs from the registered revision but the object is read-only: remove the read-only annotation to register it")
		}
		if p := r.ensureRevision(ctx, td, hash); p != nil {
			return p
		}
	}
	return r.collect(ctx, td)
}

// ensureRevision makes the newest ACTIVE revision of the family the one registered from hash:
// it re-attaches to a revision carrying the hash (registered before a crash or by a previous
// incarnation of the object) and registers exactly one new revision otherwise.
func (r *Reconciler) ensureRevision(ctx context.Context, td *ecsv1alpha1.TaskDefinition, hash string) *core.Problem {
	family := td.FamilyName()
	latest, err := r.latest(ctx, family)
	if err != nil {
		return core.FromECS("describing task definition family "+family, err)
	}
	if latest == nil || core.TagValue(latest.tags, core.TagSpecHash) != hash {
		out, err := r.ECS.RegisterTaskDefinition(ctx, RegisterInput(td, hash))
		if err != nil {
			return core.FromECS("registering task definition "+family, err)
		}
		latest = &revision{def: out.TaskDefinition}
		ctrl.LoggerFrom(ctx).Info("registered task definition revision", "family", family, "revision", out.TaskDefinition.Revision)
		r.Recorder.Eventf(td, corev1.EventTypeNormal, core.ReasonRevisionRegistered, "Registered %s", aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	}
	rec(td, latest.def, hash)
	return nil
}

type revision struct {
	def  *ecstypes.TaskDefinition
	tags []ecstypes.Tag
}

// latest describes the family's newest ACTIVE revision; nil when there is none.
func (r *Reconciler) latest(ctx context.Context, family string) (*revision, error) {
	out, err := r.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(family),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if ecsapi.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if out.TaskDefinition == nil || out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
		return nil, nil
	}
	return &revision{def: out.TaskDefinition, tags: out.Tags}, nil
}

// rec records def as the newest revision, registered from hash.
func rec(td *ecsv1alpha1.TaskDefinition, def *ecstypes.TaskDefinition, hash string) {
	arn := aws.ToString(def.TaskDefinitionArn)
	td.Status.Family = aws.ToString(def.Family)
	td.Status.Revision = def.Revision
	td.Status.TaskDefinitionARN = arn
	td.Status.SpecHash = hash
	for _, r := range td.Status.ActiveRevisions {
		if r.TaskDefinitionARN == arn {
			return
		}
	}
	td.Status.ActiveRevisions = append(td.Status.ActiveRevisions, ecsv1alpha1.TaskDefinitionRevision{
		Revision: def.Revision, TaskDefinitionARN: arn, SpecHash: hash,
	})
}

func (r *Reconciler) finalize(ctx context.Context, td *ecsv1alpha1.TaskDefinition) (ctrl.Result, error) {
	if core.DeletionPolicyOf(td, r.Options.DeletionPolicy) == ecsv1alpha1.DeletionPolicyDelete && !core.IsReadOnly(td, r.Options) {
		for _, rev := range td.Status.ActiveRevisions {
			if p := r.deregister(ctx, td, rev); p != nil {
				return core.Result(p)
			}
		}
	}
	return ctrl.Result{}, core.RemoveFinalizer(ctx, r.Client, td)
}

func (r *Reconciler) deregister(ctx context.Context, td *ecsv1alpha1.TaskDefinition, rev ecsv1alpha1.TaskDefinitionRevision) *core.Problem {
	_, err := r.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(rev.TaskDefinitionARN)})
	if err != nil && !ecsapi.IsNotFound(err) {
		return core.FromECS("deregistering task definition "+rev.TaskDefinitionARN, err)
	}
	r.Recorder.Eventf(td, corev1.EventTypeNormal, core.ReasonRevisionDeregistered, "Deregistered %s", rev.TaskDefinitionARN)
	return nil
}

// collect deregisters the revisions older than the newest KeepRevisions that no Service
// referencing this TaskDefinition runs, rolls to or rolls away from.
func (r *Reconciler) collect(ctx context.Context, td *ecsv1alpha1.TaskDefinition) *core.Problem {
	active := td.Status.ActiveRevisions
	keep := r.Options.KeepRevisions
	if len(active) <= keep || core.IsReadOnly(td, r.Options) {
		return nil
	}
	lister := r.InUse
	if lister == nil {
		lister = r.inUse
	}
	inUse, err := lister(ctx, td)
	if err != nil {
		return core.AsProblem(err)
	}
	old, newest := active[:len(active)-keep], active[len(active)-keep:]
	var remaining []ecsv1alpha1.TaskDefinitionRevision
	var p *core.Problem
	for i, rev := range old {
		if inUse[rev.TaskDefinitionARN] {
			remaining = append(remaining, rev)
			continue
		}
		if p = r.deregister(ctx, td, rev); p != nil {
			remaining = append(remaining, old[i:]...)
			break
		}
	}
	td.Status.ActiveRevisions = append(remaining, newest...)
	return p
}

func (r *Reconciler) inUse(ctx context.Context, td *ecsv1alpha1.TaskDefinition) (map[string]bool, error) {
	var svcs ecsv1alpha1.ServiceList
	err := r.Client.List(ctx, &svcs, client.InNamespace(td.Namespace), client.MatchingFields{core.IndexTaskDefinitionRef: td.Name})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("listing Services of TaskDefinition %s: %w", td.Name, err)
	}
	used := map[string]bool{}
	for i := range svcs.Items {
		st := &svcs.Items[i].Status
		used[st.TaskDefinition] = true
		used[st.AppliedTaskDefinition] = true
		for _, d := range st.Deployments {
			used[d.TaskDefinition] = true
		}
	}
	return used, nil
}
