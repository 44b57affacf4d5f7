package service

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// ReasonTagsUpdated is the Event reason when the service's tags changed in place.
const ReasonTagsUpdated = "TagsUpdated"

// inPlace runs before the service is created or updated. It refuses a change of a member ECS sets
// only at create (CreateOnlyChange) by name, and converges the tags of an existing service with
// TagResource / UntagResource, never through UpdateService. It returns observed as it is after
// the change (its tags), for the update that follows.
func (r *Reconciler) inPlace(ctx context.Context, svc *ecsv1alpha1.Service, cluster string, observed *ecstypes.Service) (*ecstypes.Service, *reconciler.Problem) {
	if managed.IsReadOnly(svc, r.Options) || (observed != nil && !owned(svc, observed)) {
		return observed, nil // read-only mirrors whatever ECS has; a service not ours is refused by update (NameTaken)
	}
	if c := CreateOnlyChange(svc, cluster, observed); c != nil {
		return observed, &reconciler.Problem{Reason: inplace.ReasonRecreateRequired, Message: c.Message("Service")}
	}
	if err := inplace.CheckTags("spec.tags", svc.Spec.Tags); err != nil {
		return observed, &reconciler.Problem{Reason: ecscall.ReasonInvalidSpec, Message: err.Error()}
	}
	if observed == nil {
		if managed.AdoptName(svc) == "" {
			// CreateService sets them; recorded now so that a removal before the next reconcile
			// is not missed.
			svc.Status.AppliedTags = inplace.Applied(svc.Spec.Tags)
		}
		return nil, nil
	}
	return r.syncTags(ctx, svc, observed)
}

func (r *Reconciler) syncTags(ctx context.Context, svc *ecsv1alpha1.Service, observed *ecstypes.Service) (*ecstypes.Service, *reconciler.Problem) {
	change := TagChange(svc, observed)
	if change.Empty() {
		svc.Status.AppliedTags = inplace.Applied(svc.Spec.Tags)
		return observed, nil
	}
	arn := aws.ToString(observed.ServiceArn)
	key := client.ObjectKeyFromObject(svc)
	r.Poller.Invalidate(key)
	start := time.Now()
	if err := inplace.Apply(ctx, r.ECS, arn, change); err != nil {
		return observed, ecscall.FromECS("changing the tags of service "+svc.ECSName(), err)
	}
	ctrl.LoggerFrom(ctx).Info("changed ECS service tags in place", "arn", arn, "tags", change.Keys())
	r.Recorder.Eventf(svc, corev1.EventTypeNormal, ReasonTagsUpdated, "Changed tags %v in place", change.Keys())
	svc.Status.AppliedTags = inplace.Applied(svc.Spec.Tags)
	tagged := *observed
	tagged.Tags = inplace.WithChange(observed.Tags, change)
	r.Poller.Put(key, &tagged, start)
	return &tagged, nil
}
