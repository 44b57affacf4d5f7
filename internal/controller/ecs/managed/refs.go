package managed

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// Field index names for the references, so that a change of a Cluster or TaskDefinition wakes
// exactly the Services and Tasks referencing it.
const (
	IndexClusterRef        = "spec.clusterRef.name"
	IndexTaskDefinitionRef = "spec.taskDefinitionRef.name"
	// IndexClusterName indexes the Services and Tasks that name their ECS cluster in
	// spec.cluster (by name or ARN; DefaultCluster when neither cluster nor clusterRef is set),
	// so that a change of that cluster's Cluster object (its spec.defaults apply to them) wakes
	// them too (ClusterIndexValues).
	IndexClusterName = "spec.cluster"
)

// ClusterNameIndex is the IndexClusterName value of a Service or Task spec: the ECS cluster it
// names, nil when it references a Cluster object (clusterRef).
func ClusterNameIndex(cluster string, ref *ecsv1alpha1.LocalObjectReference) []string {
	if ref != nil {
		return nil
	}
	if cluster == "" {
		cluster = DefaultCluster
	}
	return []string{cluster}
}

// UsersOfCluster returns the objects of list's kind (a ServiceList or TaskList) in the namespace of
// the Cluster object obj that use it: by spec.clusterRef (IndexClusterRef) or by naming its ECS
// cluster in spec.cluster (IndexClusterName, ClusterIndexValues). Each object appears once.
func UsersOfCluster(ctx context.Context, c client.Reader, obj client.Object, list client.ObjectList) ([]client.Object, error) {
	fields := []client.MatchingFields{{IndexClusterRef: obj.GetName()}}
	for _, v := range ClusterIndexValues(obj) {
		fields = append(fields, client.MatchingFields{IndexClusterName: v})
	}
	seen := map[types.NamespacedName]bool{}
	var out []client.Object
	for _, f := range fields {
		l, ok := list.DeepCopyObject().(client.ObjectList)
		if !ok {
			return nil, fmt.Errorf("%T is not a list", list)
		}
		if err := c.List(ctx, l, client.InNamespace(obj.GetNamespace()), f); err != nil {
			return nil, fmt.Errorf("listing the users of Cluster %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
		}
		items, err := apimeta.ExtractList(l)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			o, ok := it.(client.Object)
			if !ok || seen[client.ObjectKeyFromObject(o)] {
				continue
			}
			seen[client.ObjectKeyFromObject(o)] = true
			out = append(out, o)
		}
	}
	return out, nil
}

// ClusterIndexValues are the IndexClusterName values of the Services and Tasks that use the
// Cluster object obj by naming its ECS cluster: its ECS name, and its ARN once known.
func ClusterIndexValues(obj client.Object) []string {
	cl, ok := obj.(*ecsv1alpha1.Cluster)
	if !ok {
		return nil
	}
	out := []string{cl.ECSName()}
	if cl.Status.ClusterArn != "" {
		out = append(out, cl.Status.ClusterArn)
	}
	return out
}

// DefaultCluster is the ECS cluster used when neither cluster nor clusterRef is set.
const DefaultCluster = "default"

// ResolveCluster returns the ECS cluster (name or ARN) that cluster/clusterRef designate.
func ResolveCluster(ctx context.Context, c client.Reader, namespace, cluster string, ref *ecsv1alpha1.LocalObjectReference) (string, *reconciler.Problem) {
	if ref == nil {
		if cluster == "" {
			return DefaultCluster, nil
		}
		return cluster, nil
	}
	obj := &ecsv1alpha1.Cluster{}
	err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		return "", reconciler.Waiting(ReasonClusterNotFound, fmt.Sprintf(
			"Cluster %q (spec.clusterRef.name) does not exist in namespace %s: create it or fix spec.clusterRef", ref.Name, namespace))
	}
	if err != nil {
		return "", reconciler.AsProblem(fmt.Errorf("getting Cluster %s: %w", ref.Name, err))
	}
	// A Cluster its controller has not synced since the upgrade still has the ARN as clusterARN:
	// a Service deleted meanwhile must find its cluster to delete its ECS service.
	obj.Status.MoveDeprecatedMembers()
	if obj.Status.ClusterArn == "" || obj.Status.Status != "ACTIVE" {
		return "", reconciler.Waiting(ReasonClusterNotReady, fmt.Sprintf("waiting for Cluster %q to become ACTIVE", ref.Name))
	}
	return obj.Status.ClusterArn, nil
}

// ResolveTaskDefinition returns the task definition (family, family:revision or ARN) that
// taskDefinition/taskDefinitionRef designate, for a Service or Task running in the cluster that
// cluster/clusterRef designate; for a reference, the ARN of its newest revision, or of its revision
// for that cluster when the Cluster object's spec.defaults complete it (resolveForCluster). A
// task definition named by family or ARN is ECS's as it is: Cluster defaults do not apply to it.
func ResolveTaskDefinition(ctx context.Context, c client.Reader, s LaunchSpec, td string, ref *ecsv1alpha1.LocalObjectReference) (string, *reconciler.Problem) {
	namespace := s.Namespace
	if ref == nil {
		return td, nil
	}
	obj := &ecsv1alpha1.TaskDefinition{}
	err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		return "", reconciler.Waiting(ReasonTaskDefNotFound, fmt.Sprintf(
			"TaskDefinition %q (spec.taskDefinitionRef.name) does not exist in namespace %s: create it or fix spec.taskDefinitionRef", ref.Name, namespace))
	}
	if err != nil {
		return "", reconciler.AsProblem(fmt.Errorf("getting TaskDefinition %s: %w", ref.Name, err))
	}
	if obj.Status.TaskDefinitionArn == "" {
		return "", reconciler.Waiting(ReasonTaskDefNotReady, fmt.Sprintf("waiting for TaskDefinition %q to register its first revision", ref.Name))
	}
	return resolveForCluster(ctx, c, obj, namespace, s.Cluster, s.ClusterRef)
}
