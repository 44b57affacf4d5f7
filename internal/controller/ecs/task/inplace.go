package task

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// syncTags converges the tags of the started task with TagResource / UntagResource: the only
// member of a Task that can change once it runs (the CRD refuses a change of any other). A task
// ECS no longer knows, or one that is stopping or stopped (StopTask deletes a task's tags), is left
// alone.
func (r *Reconciler) syncTags(ctx context.Context, t *ecsv1alpha1.Task, observed *ecstypes.Task) *reconciler.Problem {
	if err := inplace.CheckTags("spec.tags", t.Spec.Tags); err != nil {
		return &reconciler.Problem{Reason: ecscall.ReasonInvalidSpec, Message: err.Error()}
	}
	if managed.IsReadOnly(t, r.Options) || stopping(observed) {
		return nil
	}
	change := TagChange(t, observed)
	if !change.Empty() {
		key := client.ObjectKeyFromObject(t)
		arn := aws.ToString(observed.TaskArn)
		r.Poller.Invalidate(key)
		start := time.Now()
		err := inplace.Apply(ctx, r.ECS, arn, change)
		if ecsapi.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return ecscall.FromECS("changing the tags of task "+arn, err)
		}
		ctrl.LoggerFrom(ctx).Info("changed ECS task tags in place", "arn", arn, "tags", change.Keys())
		tagged := *observed
		tagged.Tags = inplace.WithChange(observed.Tags, change)
		r.Poller.Put(key, &tagged, start)
	}
	t.Status.AppliedTags = inplace.Applied(t.Spec.Tags)
	return nil
}

// TagChange is the TagResource / UntagResource change that gives the ECS task the spec's tags (the
// owner tag and tags others set stay).
func TagChange(t *ecsv1alpha1.Task, observed *ecstypes.Task) inplace.TagChange {
	return inplace.DiffTags(t.Spec.Tags, t.Status.AppliedTags, observed.Tags)
}

func stopping(t *ecstypes.Task) bool {
	return aws.ToString(t.DesiredStatus) == "STOPPED" || aws.ToString(t.LastStatus) == "STOPPED"
}
