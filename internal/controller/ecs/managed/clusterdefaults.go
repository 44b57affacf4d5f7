package managed

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// A Cluster object's spec.defaults.executionRoleArn and logGroup complete the task definitions of
// the cluster's Services and Tasks. A task definition belongs to no cluster in ECS, so a
// TaskDefinition object registers, beside its newest revision (completed by the controller's
// flags alone), one revision for each cluster whose defaults complete it differently
// (status.clusterRevisions); the Services and Tasks of that cluster run that revision.

// ClusterObject returns the Cluster object a Service or Task of namespace runs in: by clusterRef,
// or the Cluster of the namespace whose ECS name (or ARN) is cluster ("default" when empty); nil
// when there is none.
func ClusterObject(ctx context.Context, c client.Reader, namespace, cluster string, ref *ecsv1alpha1.LocalObjectReference) (*ecsv1alpha1.Cluster, error) {
	obj, err := clusterObject(ctx, c, LaunchSpec{Namespace: namespace, Cluster: cluster, ClusterRef: ref})
	if obj != nil {
		// Read from the cache as stored: its defaults may use the other controller's spellings.
		obj = obj.DeepCopy()
		obj.NormalizeAliases()
	}
	return obj, err
}

// TaskDefinitionDefaults are the members of cl's spec.defaults that complete a task definition:
// executionRoleArn and logGroup (zero for a nil Cluster or one without them).
func TaskDefinitionDefaults(cl *ecsv1alpha1.Cluster) fargate.Defaults {
	if cl == nil || cl.Spec.Defaults == nil {
		return fargate.Defaults{}
	}
	return fargate.Defaults{ExecutionRoleArn: cl.Spec.Defaults.ExecutionRoleArn, LogGroup: cl.Spec.Defaults.LogGroup}
}

// ClusterRevision returns the entry of td's status.clusterRevisions that the Services and Tasks
// running in cl use, when it was registered for td's current spec with cl's current defaults d;
// nil otherwise.
func ClusterRevision(td *ecsv1alpha1.TaskDefinition, cl string, d fargate.Defaults) *ecsv1alpha1.TaskDefinitionClusterRevision {
	for i := range td.Status.ClusterRevisions {
		cr := &td.Status.ClusterRevisions[i]
		if cr.Cluster == cl && cr.ForSpecHash == td.Status.SpecHash && cr.ExecutionRoleArn == d.ExecutionRoleArn && cr.LogGroup == d.LogGroup {
			return cr
		}
	}
	return nil
}

// resolveForCluster returns the ARN of td's revision for the Services and Tasks of cluster (the
// Cluster object they run in; nil: none): its newest revision, unless the Cluster's spec.defaults
// set an executionRoleArn or logGroup, in which case its cluster revision, once the TaskDefinition
// controller has registered it.
func resolveForCluster(ctx context.Context, c client.Reader, td *ecsv1alpha1.TaskDefinition, namespace, cluster string, ref *ecsv1alpha1.LocalObjectReference) (string, *reconciler.Problem) {
	cl, err := ClusterObject(ctx, c, namespace, cluster, ref)
	if err != nil {
		return "", reconciler.AsProblem(err)
	}
	d := TaskDefinitionDefaults(cl)
	if d.IsZero() {
		return td.Status.TaskDefinitionArn, nil
	}
	if cr := ClusterRevision(td, cl.Name, d); cr != nil {
		return cr.TaskDefinitionArn, nil
	}
	return "", reconciler.Waiting(ReasonTaskDefNotReady, fmt.Sprintf(
		"waiting for TaskDefinition %q to register its revision with the defaults of Cluster %q (spec.defaults.executionRoleArn, logGroup)", td.Name, cl.Name))
}
