package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Annotations understood by every kind in this group.
const (
	// AnnotationDeletionPolicy is "delete" (the default unless the controller is configured
	// otherwise) or "retain": whether deleting the Kubernetes object deletes the ECS resource.
	AnnotationDeletionPolicy = "ecs.nodeless.dev/deletion-policy"
	// AnnotationACKDeletionPolicy is AWS's controllers for Kubernetes' spelling of
	// AnnotationDeletionPolicy, honoured alike so that a manifest written for them keeps its
	// resources; where the two disagree, retain wins.
	AnnotationACKDeletionPolicy = "services.k8s.aws/deletion-policy"
	// AnnotationAdopt names an existing ECS resource (name or ARN) that the object takes over
	// instead of creating a new one.
	AnnotationAdopt = "ecs.nodeless.dev/adopt"
	// AnnotationReadOnly set to "true" makes the controller observe the ECS resource and mirror
	// its status without ever writing to it.
	AnnotationReadOnly = "ecs.nodeless.dev/read-only"

	// Finalizer is held on every object whose ECS resource the controller may have to clean up.
	Finalizer = "ecs.nodeless.dev/finalizer"
)

// DeletionPolicy says what happens to the ECS resource when its Kubernetes object is deleted.
type DeletionPolicy string

// Deletion policies.
const (
	DeletionPolicyDelete DeletionPolicy = "delete"
	DeletionPolicyRetain DeletionPolicy = "retain"
)

// Condition types and reasons shared by every kind.
const (
	// ConditionReady is True when the ECS resource exists and has converged to the spec.
	ConditionReady = "Ready"
	// ConditionSynced is True when the last reconciliation reached ECS without error.
	ConditionSynced = "Synced"
)

// LocalObjectReference names an object of the referenced kind in the same namespace.
type LocalObjectReference struct {
	// Name of the object in the same namespace; required unless from.name (its alias) names it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`

	// The spelling of AWS's ECS controller for Kubernetes (aliases.go).
	ReferenceAliases `json:",inline"`
}

// Tag is an ECS resource tag. The rules are ECS's (ECS API reference, Tag): keys of 1–128 and
// values of 0–256 letters, numbers, spaces and _ . : / = + - @; the aws: prefix, in any case, is
// reserved for AWS on keys and values. Keys with the nodeless.dev/ prefix are reserved for the tags
// nodeless itself puts on the resources it creates (owner, spec hash).
type Tag struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`
	// +kubebuilder:validation:XValidation:rule="!self.lowerAscii().startsWith('aws:')",message="tag keys starting with aws: are reserved for AWS use; choose another key"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('nodeless.dev/')",message="tag keys starting with nodeless.dev/ are reserved for the tags nodeless manages; choose another key"
	Key string `json:"key"`
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`
	// +kubebuilder:validation:XValidation:rule="!self.lowerAscii().startsWith('aws:')",message="tag values starting with aws: are reserved for AWS use; choose another value"
	// +optional
	Value string `json:"value,omitempty"`
}

// KeyValuePair is an ECS name/value pair (environment variables, ...).
type KeyValuePair struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`
	// +optional
	Value string `json:"value,omitempty"`
}

// CommonStatus is embedded in the status of every kind.
type CommonStatus struct {
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready and Synced.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
