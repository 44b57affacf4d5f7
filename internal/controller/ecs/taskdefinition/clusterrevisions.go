package taskdefinition

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/controller/revision"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// ReasonClusterRevisionRegistered is the Event of a revision registered for one cluster's
// defaults.
const ReasonClusterRevisionRegistered = "ClusterRevisionRegistered"

// clusterRevisions keeps status.clusterRevisions: for each Cluster object that a Service or a
// not yet started Task referencing td runs in, and whose spec.defaults set an executionRoleArn or
// a logGroup, the revision of td's spec completed by those defaults (then by the flags), for the
// current spec (hash). A revision is content-addressed (revision.AnyActive: any ACTIVE revision
// of the family carrying the completed spec's hash is reused), so two clusters with the same
// defaults share one, and clusters with different defaults each keep theirs without the newest
// revision flipping between them. Where the completed spec is the newest revision's own (the spec
// sets its executionRoleArn), the entry names the newest revision. Entries of clusters no longer
// used are dropped, and their revisions collected like any old one.
func (r *Reconciler) clusterRevisions(ctx context.Context, td *ecsv1alpha1.TaskDefinition, hash string) *reconciler.Problem {
	if managed.IsReadOnly(td, r.Options) {
		return nil
	}
	clusters, err := r.referencingClusters(ctx, td)
	if err != nil {
		return reconciler.AsProblem(err)
	}
	out := make([]ecsv1alpha1.TaskDefinitionClusterRevision, 0, len(clusters))
	for _, cl := range clusters {
		d := managed.TaskDefinitionDefaults(cl)
		if d.IsZero() {
			continue
		}
		if cr := managed.ClusterRevision(td, cl.Name, d); cr != nil && cr.ForSpecHash == hash {
			out = append(out, *cr)
			continue
		}
		cr, p := r.clusterRevision(ctx, td, cl.Name, d, hash)
		if p != nil {
			td.Status.ClusterRevisions = mergeRevisions(td.Status.ClusterRevisions, out)
			return p
		}
		out = append(out, cr)
	}
	td.Status.ClusterRevisions = out
	return nil
}

// clusterRevision registers (or finds) the revision of td's spec completed by the defaults d of
// Cluster cl, then by the flags.
func (r *Reconciler) clusterRevision(ctx context.Context, td *ecsv1alpha1.TaskDefinition, cl string, d fargate.Defaults, hash string) (ecsv1alpha1.TaskDefinitionClusterRevision, *reconciler.Problem) {
	cr := ecsv1alpha1.TaskDefinitionClusterRevision{Cluster: cl, ExecutionRoleArn: d.ExecutionRoleArn, LogGroup: d.LogGroup, ForSpecHash: hash}
	eff := withDefaults(td, d.Or(r.Options.Defaults))
	if p := managed.CheckTaskDefinition(&eff.Spec); p != nil {
		p.Message = fmt.Sprintf("with the defaults of Cluster %q: %s", cl, p.Message)
		return cr, managed.RecordRefusal(r.Recorder, td, p)
	}
	h, err := SpecHash(&eff.Spec)
	if err != nil {
		return cr, reconciler.AsProblem(err)
	}
	cr.SpecHash = h
	if h == hash {
		cr.Revision, cr.TaskDefinitionArn = td.Status.Revision, td.Status.TaskDefinitionArn
		return cr, nil
	}
	in := RegisterInput(eff, h)
	in.Tags = append(in.Tags, ecstypes.Tag{Key: aws.String(ecscall.TagCluster), Value: aws.String(cl)})
	rev, registered, err := revision.Ensure(ctx, r.ECS, in, h, revision.AnyActive)
	if err != nil {
		return cr, revision.Problem(err)
	}
	cr.Revision, cr.TaskDefinitionArn = rev.Definition.Revision, rev.ARN()
	if registered {
		ctrl.LoggerFrom(ctx).Info("registered task definition revision for a cluster", "family", td.FamilyName(), "revision", cr.Revision, "cluster", cl)
		r.Recorder.Eventf(td, corev1.EventTypeNormal, ReasonClusterRevisionRegistered, "Registered %s for the Services and Tasks of Cluster %s, with %s from its spec.defaults",
			cr.TaskDefinitionArn, cl, taken(td, d))
	}
	addActive(td, rev.Definition.Revision, cr.TaskDefinitionArn, h)
	return cr, nil
}

// taken names what td took from a Cluster's defaults d.
func taken(td *ecsv1alpha1.TaskDefinition, d fargate.Defaults) string {
	var out []string
	if d.ExecutionRoleArn != "" && td.Spec.ExecutionRoleArn == "" {
		out = append(out, "executionRoleArn "+d.ExecutionRoleArn)
	}
	if d.LogGroup != "" {
		out = append(out, "awslogs-group "+d.LogGroup)
	}
	return strings.Join(out, " and ")
}

// addActive records a revision in status.activeRevisions, so that it is collected when unused and
// deregistered with the object.
func addActive(td *ecsv1alpha1.TaskDefinition, rev int32, arn, hash string) {
	for _, r := range td.Status.ActiveRevisions {
		if r.TaskDefinitionArn == arn {
			return
		}
	}
	td.Status.ActiveRevisions = append(td.Status.ActiveRevisions, ecsv1alpha1.TaskDefinitionRevision{
		Revision: rev, TaskDefinitionArn: arn, SpecHash: hash,
	})
}

// mergeRevisions is old with the entries of done replacing those of the same cluster: what a
// Sync that stopped half way has established, without losing what it has not reached.
func mergeRevisions(old, done []ecsv1alpha1.TaskDefinitionClusterRevision) []ecsv1alpha1.TaskDefinitionClusterRevision {
	out := slices.Clone(done)
	for _, o := range old {
		if !slices.ContainsFunc(done, func(d ecsv1alpha1.TaskDefinitionClusterRevision) bool { return d.Cluster == o.Cluster }) {
			out = append(out, o)
		}
	}
	return out
}

// referencingClusters are the Cluster objects that the Services and the not yet started Tasks
// referencing td run in, sorted by name.
func (r *Reconciler) referencingClusters(ctx context.Context, td *ecsv1alpha1.TaskDefinition) ([]*ecsv1alpha1.Cluster, error) {
	if r.Client == nil { // a reconciler without a Kubernetes API (tests against ECS alone)
		return nil, nil
	}
	type placed struct {
		cluster string
		ref     *ecsv1alpha1.LocalObjectReference
	}
	var users []placed
	var svcs ecsv1alpha1.ServiceList
	if err := r.Client.List(ctx, &svcs, client.InNamespace(td.Namespace), client.MatchingFields{managed.IndexTaskDefinitionRef: td.Name}); err != nil {
		return nil, fmt.Errorf("listing Services of TaskDefinition %s: %w", td.Name, err)
	}
	for i := range svcs.Items {
		s := svcs.Items[i].DeepCopy()
		s.NormalizeAliases()
		users = append(users, placed{s.Spec.Cluster, s.Spec.ClusterRef})
	}
	var tasks ecsv1alpha1.TaskList
	if err := r.Client.List(ctx, &tasks, client.InNamespace(td.Namespace), client.MatchingFields{managed.IndexTaskDefinitionRef: td.Name}); err != nil {
		return nil, fmt.Errorf("listing Tasks of TaskDefinition %s: %w", td.Name, err)
	}
	for i := range tasks.Items {
		if t := tasks.Items[i].DeepCopy(); t.Status.TaskArn == "" {
			t.NormalizeAliases()
			users = append(users, placed{t.Spec.Cluster, t.Spec.ClusterRef})
		}
	}
	byName := map[string]*ecsv1alpha1.Cluster{}
	looked := map[placed]bool{}
	for _, u := range users {
		if u.ref != nil {
			u.ref = &ecsv1alpha1.LocalObjectReference{Name: u.ref.Name} // compared by name
		}
		key := placed{cluster: u.cluster}
		if u.ref != nil {
			key.cluster = "ref:" + u.ref.Name
		}
		if looked[key] {
			continue
		}
		looked[key] = true
		cl, err := managed.ClusterObject(ctx, r.Client, td.Namespace, u.cluster, u.ref)
		if err != nil {
			return nil, err
		}
		if cl != nil {
			byName[cl.Name] = cl
		}
	}
	out := make([]*ecsv1alpha1.Cluster, 0, len(byName))
	for _, cl := range byName {
		out = append(out, cl)
	}
	slices.SortFunc(out, func(a, b *ecsv1alpha1.Cluster) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// clusterToTaskDefinitions: a change of a Cluster's defaults may change the revisions of the
// TaskDefinitions its Services and Tasks reference; wake those of its namespace referenced by a
// Service or Task.
func (r *Reconciler) clusterToTaskDefinitions(ctx context.Context, obj client.Object) []reconcile.Request {
	seen := map[string]bool{}
	var svcs ecsv1alpha1.ServiceList
	if err := r.Client.List(ctx, &svcs, client.InNamespace(obj.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing services")
		return nil
	}
	for i := range svcs.Items {
		if ref := svcs.Items[i].Spec.TaskDefinitionRef; ref != nil {
			seen[refName(ref)] = true
		}
	}
	var tasks ecsv1alpha1.TaskList
	if err := r.Client.List(ctx, &tasks, client.InNamespace(obj.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing tasks")
		return nil
	}
	for i := range tasks.Items {
		if ref := tasks.Items[i].Spec.TaskDefinitionRef; ref != nil && tasks.Items[i].Status.TaskArn == "" {
			seen[refName(ref)] = true
		}
	}
	out := make([]reconcile.Request, 0, len(seen))
	for name := range seen {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}})
	}
	return out
}

// refName is a reference's name in either spelling (the cache has normalised it already; a
// reader that has not is covered too).
func refName(ref *ecsv1alpha1.LocalObjectReference) string {
	if ref.Name == "" && ref.From != nil {
		return ref.From.Name
	}
	return ref.Name
}

// taskToTaskDefinition: a Task not yet started needs its cluster's revision.
func taskToTaskDefinition(_ context.Context, obj client.Object) []reconcile.Request {
	t, ok := obj.(*ecsv1alpha1.Task)
	if !ok || t.Spec.TaskDefinitionRef == nil || t.Status.TaskArn != "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: t.Namespace, Name: refName(t.Spec.TaskDefinitionRef)}}}
}
