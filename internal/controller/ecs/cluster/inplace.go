package cluster

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// inPlace runs before the cluster is created or its settings updated. It refuses a change of the
// cluster's name (ECS cannot rename a cluster; the new name would create a second one), and
// converges the tags of an existing cluster with TagResource / UntagResource. name is the ECS
// cluster the object designates; observed is nil when it does not exist.
func (r *Reconciler) inPlace(ctx context.Context, c *ecsv1alpha1.Cluster, name string, observed *ecstypes.Cluster) *reconciler.Problem {
	if ch := NameChange(c, name); ch != nil {
		return &reconciler.Problem{Reason: inplace.ReasonRecreateRequired, Message: ch.Message("Cluster")}
	}
	if err := inplace.CheckTags("spec.tags", c.Spec.Tags); err != nil {
		return &reconciler.Problem{Reason: ecscall.ReasonInvalidSpec, Message: err.Error()}
	}
	if managed.IsReadOnly(c, r.Options) {
		return nil
	}
	if observed == nil {
		if managed.AdoptName(c) == "" {
			c.Status.AppliedTags = inplace.Applied(c.Spec.Tags) // CreateCluster sets them
		}
		return nil
	}
	change := TagChange(c, observed)
	if !change.Empty() {
		arn := aws.ToString(observed.ClusterArn)
		if err := inplace.Apply(ctx, r.ECS, arn, change); err != nil {
			return ecscall.FromECS("changing the tags of cluster "+name, err)
		}
		ctrl.LoggerFrom(ctx).Info("changed ECS cluster tags in place", "arn", arn, "tags", change.Keys())
	}
	c.Status.AppliedTags = inplace.Applied(c.Spec.Tags)
	return nil
}

// NameChange is the change of the ECS cluster the object designates once it has one (status), nil
// when none.
func NameChange(c *ecsv1alpha1.Cluster, name string) *inplace.CreateOnly {
	if c.Status.ClusterArn == "" || inplace.SameCluster(name, c.Status.ClusterArn) {
		return nil
	}
	member := "spec.clusterName"
	if managed.AdoptName(c) != "" {
		member = "metadata.annotations[" + ecsv1alpha1.AnnotationAdopt + "]"
	}
	return &inplace.CreateOnly{Member: member, Was: c.Status.ClusterName, Now: name}
}

// TagChange is the TagResource / UntagResource change that gives the ECS cluster the spec's tags.
func TagChange(c *ecsv1alpha1.Cluster, observed *ecstypes.Cluster) inplace.TagChange {
	return inplace.DiffTags(c.Spec.Tags, c.Status.AppliedTags, observed.Tags)
}
