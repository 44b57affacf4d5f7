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
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "ecs.nodeless.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
