// Package v1alpha1 holds the ECS-native custom resources of nodeless: Cluster, TaskDefinition,
// Service and Task in the API group ecs.nodeless.dev.
//
// Spec members carry the ECS API's own JSON member names (containerDefinitions, desiredCount,
// deploymentConfiguration, ...) so that a manifest written against the ECS API, or for AWS's ECS
// controller for Kubernetes, needs little more than its apiVersion changed. Objects refer to each
// other by name in the same namespace (clusterRef, taskDefinitionRef) or to ECS resources directly
// by name or ARN (cluster, taskDefinition).
//
// +kubebuilder:object:generate=true
// +groupName=ecs.nodeless.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "ecs.nodeless.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme. It is apimachinery's
	// builder, not controller-runtime's (deprecated since controller-runtime v0.25): an API
	// package should depend on apimachinery only.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers every kind of this package, with its list, under GroupVersion.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Cluster{}, &ClusterList{},
		&TaskDefinition{}, &TaskDefinitionList{},
		&Service{}, &ServiceList{},
		&Task{}, &TaskList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
