package taskdefinition

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// ReasonTagsUpdated is the Event reason when the revisions' tags changed in place.
const ReasonTagsUpdated = "TagsUpdated"

// inPlace applies what ECS changes on a registered revision without a new one, before the spec
// hash (which leaves those members out) decides whether a new revision is needed:
//   - a family change is refused (the object's revisions belong to one family);
//   - a revision registered under the legacy hash (tags included) is re-keyed to the current hash,
//     so that upgrading nodeless registers nothing;
//   - spec.tags are applied to every ACTIVE revision the object registered.
func (r *Reconciler) inPlace(ctx context.Context, td *ecsv1alpha1.TaskDefinition, hash string) *reconciler.Problem {
	if c := familyChange(td); c != nil {
		return &reconciler.Problem{Reason: inplace.ReasonRecreateRequired, Message: c.Message("TaskDefinition")}
	}
	if err := inplace.CheckTags("spec.tags", td.Spec.Tags); err != nil {
		return &reconciler.Problem{Reason: ecscall.ReasonInvalidSpec, Message: err.Error()}
	}
	if p := r.rekeyLegacy(ctx, td, hash); p != nil {
		return p
	}
	if managed.IsReadOnly(td, r.Options) {
		return nil
	}
	return r.syncTags(ctx, td)
}

// familyChange is the change of the family the object registered revisions in, nil when none.
func familyChange(td *ecsv1alpha1.TaskDefinition) *inplace.CreateOnly {
	if td.Status.Family == "" || td.Status.Family == td.FamilyName() {
		return nil
	}
	return &inplace.CreateOnly{Member: "spec.family", Was: td.Status.Family, Now: td.FamilyName()}
}

// rekeyLegacy moves a status (and, unless the object is read-only, the newest revision's hash tag)
// recorded under the legacy hash of an unchanged spec to the current hash.
func (r *Reconciler) rekeyLegacy(ctx context.Context, td *ecsv1alpha1.TaskDefinition, hash string) *reconciler.Problem {
	st := &td.Status
	if st.SpecHash == "" || st.SpecHash == hash || st.TaskDefinitionArn == "" {
		return nil
	}
	legacy, err := legacySpecHash(&td.Spec)
	if err != nil || st.SpecHash != legacy {
		return nil
	}
	if !managed.IsReadOnly(td, r.Options) {
		_, err = r.ECS.TagResource(ctx, &ecs.TagResourceInput{
			ResourceArn: aws.String(st.TaskDefinitionArn),
			Tags:        []ecstypes.Tag{{Key: aws.String(ecscall.TagSpecHash), Value: aws.String(hash)}},
		})
		if err != nil && !ecsapi.IsNotFound(err) {
			return ecscall.FromECS("re-keying the spec hash of "+st.TaskDefinitionArn, err)
		}
	}
	st.SpecHash = hash
	for i := range st.ActiveRevisions {
		if st.ActiveRevisions[i].SpecHash == legacy {
			st.ActiveRevisions[i].SpecHash = hash
		}
	}
	// appliedTags stays unset: syncTags then sets the spec's tags on every active revision once,
	// since older revisions carry the tags of the spec they were registered from.
	return nil
}

// syncTags applies the spec's tags to every ACTIVE revision the object registered when they differ
// from the ones applied last, and records them. Each revision's tags are read first
// (ListTagsForResource), so that a reconcile that sees a status older than its own last write (the
// informer cache lags) makes no second write. A revision ECS no longer knows is skipped.
func (r *Reconciler) syncTags(ctx context.Context, td *ecsv1alpha1.TaskDefinition) *reconciler.Problem {
	st := &td.Status
	if inplace.SameTags(td.Spec.Tags, st.AppliedTags) {
		return nil
	}
	var changed []string
	for _, rev := range st.ActiveRevisions {
		keys, err := r.tagRevision(ctx, td, rev.TaskDefinitionArn)
		if err != nil && !ecsapi.IsNotFound(err) {
			return ecscall.FromECS("changing the tags of "+rev.TaskDefinitionArn, err)
		}
		if len(keys) > 0 {
			changed = keys
		}
	}
	if len(changed) > 0 {
		ctrl.LoggerFrom(ctx).Info("changed task definition tags in place", "family", st.Family, "revisions", len(st.ActiveRevisions), "tags", changed)
		r.Recorder.Eventf(td, corev1.EventTypeNormal, ReasonTagsUpdated, "Changed tags %v on the active revisions in place", changed)
	}
	st.AppliedTags = inplace.Applied(td.Spec.Tags)
	return nil
}

// tagRevision gives the revision arn the spec's tags; it returns the keys it changed.
func (r *Reconciler) tagRevision(ctx context.Context, td *ecsv1alpha1.TaskDefinition, arn string) ([]string, error) {
	out, err := r.ECS.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("listing the tags of %s: %w", arn, err)
	}
	change := inplace.DiffTags(td.Spec.Tags, td.Status.AppliedTags, out.Tags)
	if err := inplace.Apply(ctx, r.ECS, arn, change); err != nil {
		return nil, err
	}
	return change.Keys(), nil
}
