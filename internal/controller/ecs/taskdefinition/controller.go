package taskdefinition

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/controller/revision"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Reconciler holds the TaskDefinition steps of the reconcile skeleton (reconciler.Steps).
type Reconciler struct {
	Client   client.Client
	ECS      ecsapi.API
	Recorder record.EventRecorder
	// Options, with their defaults applied (managed.Options.WithDefaults).
	Options managed.Options
	// InUse returns the task definition ARNs Services still run or roll to or from; nil lists
	// the Services referencing the TaskDefinition through the client.
	InUse func(ctx context.Context, td *ecsv1alpha1.TaskDefinition) (map[string]bool, error)
}

var _ reconciler.Steps[*ecsv1alpha1.TaskDefinition] = (*Reconciler)(nil)

// Register adds the TaskDefinition controller to mgr; opts have their defaults applied. It
// needs the Service field index on spec.taskDefinitionRef.name (managed.IndexTaskDefinitionRef),
// which the manager sets up.
func Register(mgr ctrl.Manager, api ecsapi.API, opts managed.Options) error {
	r := &Reconciler{
		Client:   mgr.GetClient(),
		ECS:      api,
		Recorder: mgr.GetEventRecorderFor("taskdefinition-controller"), //nolint:staticcheck // docs/upgrading-kubernetes.md: the move to GetEventRecorder (events.k8s.io) is its own change
		Options:  opts,
	}
	rec, err := reconciler.New(r, managed.Config(mgr,
		func(td *ecsv1alpha1.TaskDefinition) *ecsv1alpha1.TaskDefinitionStatus { return &td.Status },
		func(s *ecsv1alpha1.TaskDefinitionStatus) *ecsv1alpha1.CommonStatus { return &s.CommonStatus }))
	if err != nil {
		return fmt.Errorf("building the TaskDefinition reconciler: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("ecs-taskdefinition").
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		For(&ecsv1alpha1.TaskDefinition{}, builder.WithPredicates(reconciler.SpecOrAnnotationsChanged())).
		Watches(&ecsv1alpha1.Service{}, handler.EnqueueRequestsFromMapFunc(serviceToTaskDefinition)).
		Watches(&ecsv1alpha1.Task{}, handler.EnqueueRequestsFromMapFunc(taskToTaskDefinition)).
		// Only a spec change (its defaults) matters, not the counts its status mirrors.
		Watches(&ecsv1alpha1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.clusterToTaskDefinitions),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(rec)
}

// A Service's rollout decides when old revisions may go: wake its TaskDefinition.
func serviceToTaskDefinition(_ context.Context, obj client.Object) []reconcile.Request {
	svc, ok := obj.(*ecsv1alpha1.Service)
	if !ok || svc.Spec.TaskDefinitionRef == nil {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: svc.Namespace, Name: svc.Spec.TaskDefinitionRef.Name}}}
}

// Readiness: Ready once the newest spec is registered (a clean Sync means it is).
func (r *Reconciler) Readiness(td *ecsv1alpha1.TaskDefinition) (reconciler.Readiness, bool) {
	exists := td.Status.TaskDefinitionArn != "" && td.Status.SpecHash != ""
	return reconciler.Readiness{Ready: exists, Reason: managed.ReasonRegistered,
		Message: fmt.Sprintf("revision %d of family %s is registered", td.Status.Revision, td.Status.Family)}, exists
}

// Forget: the TaskDefinition steps keep nothing in memory.
func (r *Reconciler) Forget(types.NamespacedName) {}

// Sync restores revision ARNs an earlier nodeless recorded under another spelling (restoreArns),
// applies what changes in place (tags; see inPlace), registers the spec as a revision when it
// changed and deregisters unused old ones.
func (r *Reconciler) Sync(ctx context.Context, td *ecsv1alpha1.TaskDefinition) *reconciler.Problem {
	eff := withDefaults(td, r.Options.Defaults)
	if p := managed.CheckTaskDefinition(&eff.Spec); p != nil {
		return managed.RecordRefusal(r.Recorder, td, p)
	}
	hash, err := SpecHash(&eff.Spec)
	if err != nil {
		return reconciler.AsProblem(err)
	}
	if p := r.restoreArns(ctx, td); p != nil {
		return p
	}
	if p := r.inPlace(ctx, td, hash); p != nil {
		return p
	}
	if td.Status.SpecHash != hash {
		if managed.IsReadOnly(td, r.Options) {
			return managed.ReadOnlyDrift("the spec differs from the newest revision registered for family " + td.FamilyName())
		}
		if p := r.ensureRevision(ctx, td, eff, hash); p != nil {
			return p
		}
	}
	if p := r.clusterRevisions(ctx, td, hash); p != nil {
		return p
	}
	return r.collect(ctx, td)
}

// ensureRevision makes the newest ACTIVE revision of the family the one registered from hash
// (revision.Ensure, NewestOwn: the revisions of its clusters' defaults do not count): it re-attaches to a revision carrying the hash (registered before a
// crash or by a previous incarnation of the object) and registers exactly one new revision
// otherwise.
func (r *Reconciler) ensureRevision(ctx context.Context, td, eff *ecsv1alpha1.TaskDefinition, hash string) *reconciler.Problem {
	rev, registered, err := revision.Ensure(ctx, r.ECS, RegisterInput(eff, hash), hash, revision.NewestOwn)
	if err != nil {
		return revision.Problem(err)
	}
	if registered {
		ctrl.LoggerFrom(ctx).Info("registered task definition revision", "family", td.FamilyName(), "revision", rev.Definition.Revision)
		r.Recorder.Eventf(td, corev1.EventTypeNormal, managed.ReasonRevisionRegistered, "Registered %s", rev.ARN())
	}
	rec(td, rev.Definition, hash)
	return nil
}

// rec records def as the newest revision, registered from hash.
func rec(td *ecsv1alpha1.TaskDefinition, def *ecstypes.TaskDefinition, hash string) {
	arn := aws.ToString(def.TaskDefinitionArn)
	td.Status.Family = aws.ToString(def.Family)
	td.Status.Revision = def.Revision
	td.Status.TaskDefinitionArn = arn
	td.Status.SpecHash = hash
	addActive(td, def.Revision, arn, hash)
}

// Finalize deregisters every revision the object registered (policy delete, not read-only);
// Services still running one keep running it (ECS lets an INACTIVE revision run).
func (r *Reconciler) Finalize(ctx context.Context, td *ecsv1alpha1.TaskDefinition) *reconciler.Problem {
	if !managed.DeletesECSResource(td, r.Options) {
		return nil
	}
	for _, rev := range td.Status.ActiveRevisions {
		if p := r.deregister(ctx, td, rev); p != nil {
			return p
		}
	}
	return nil
}

func (r *Reconciler) deregister(ctx context.Context, td *ecsv1alpha1.TaskDefinition, rev ecsv1alpha1.TaskDefinitionRevision) *reconciler.Problem {
	_, err := r.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(rev.TaskDefinitionArn)})
	if err != nil && !ecsapi.IsNotFound(err) {
		return ecscall.FromECS("deregistering task definition "+rev.TaskDefinitionArn, err)
	}
	r.Recorder.Eventf(td, corev1.EventTypeNormal, managed.ReasonRevisionDeregistered, "Deregistered %s", rev.TaskDefinitionArn)
	return nil
}

// collect deregisters the revisions older than the newest KeepRevisions that no Service
// referencing this TaskDefinition runs, rolls to or rolls away from.
func (r *Reconciler) collect(ctx context.Context, td *ecsv1alpha1.TaskDefinition) *reconciler.Problem {
	active := td.Status.ActiveRevisions
	keep := r.Options.KeepRevisions
	if len(active) <= keep || managed.IsReadOnly(td, r.Options) {
		return nil
	}
	lister := r.InUse
	if lister == nil {
		lister = r.inUse
	}
	inUse, err := lister(ctx, td)
	if err != nil {
		return reconciler.AsProblem(err)
	}
	// The newest revision, and each cluster's, are kept wherever they sit in the list.
	if inUse == nil {
		inUse = map[string]bool{}
	}
	inUse[td.Status.TaskDefinitionArn] = true
	for _, cr := range td.Status.ClusterRevisions {
		inUse[cr.TaskDefinitionArn] = true
	}
	old, newest := active[:len(active)-keep], active[len(active)-keep:]
	var remaining []ecsv1alpha1.TaskDefinitionRevision
	var p *reconciler.Problem
	for i, rev := range old {
		if inUse[rev.TaskDefinitionArn] {
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
	err := r.Client.List(ctx, &svcs, client.InNamespace(td.Namespace), client.MatchingFields{managed.IndexTaskDefinitionRef: td.Name})
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
