package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ClusterSpec is the desired state of an ECS cluster (CreateCluster; settings change in place with
// UpdateCluster, tags with TagResource / UntagResource).
type ClusterSpec struct {
	// The spellings of AWS's ECS controller for Kubernetes (aliases.go).
	ClusterSpecAliases `json:",inline"`

	// ClusterName is the ECS cluster's name; it defaults to metadata.name and cannot change (ECS
	// cannot rename a cluster).
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
	// Settings of the cluster (containerInsights).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=4
	// +optional
	Settings []ClusterSetting `json:"settings,omitempty"`
	// Tags of the cluster: set at create, changed in place afterwards (TagResource /
	// UntagResource). Tags others set on the cluster are left alone.
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Tags []Tag `json:"tags,omitempty"`
	// Defaults are what the cluster's Services and Tasks launch with when their spec leaves it out
	// (nodeless's, not an ECS member; see ClusterDefaults).
	// +optional
	Defaults *ClusterDefaults `json:"defaults,omitempty"`

	// The members of members_cluster_types.go.
	ClusterMembers `json:",inline"`
}

// ClusterSetting is an ECS cluster setting.
type ClusterSetting struct {
	// +kubebuilder:validation:Enum=containerInsights
	Name string `json:"name"`
	// +kubebuilder:validation:Enum=enhanced;enabled;disabled
	Value string `json:"value"`
}

// ClusterStatus is the observed state of an ECS cluster.
type ClusterStatus struct {
	CommonStatus `json:",inline"`
	// ClusterArn of the ECS cluster.
	// +optional
	ClusterArn string `json:"clusterArn,omitempty"`
	// ClusterName as ECS knows it.
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
	// Status reported by ECS: ACTIVE, PROVISIONING, DEPROVISIONING, FAILED, INACTIVE.
	// +optional
	Status string `json:"status,omitempty"`
	// RunningTasksCount, PendingTasksCount and ActiveServicesCount are ECS's counts of the
	// cluster (ECS API reference, Cluster), read again every poll interval (--poll-interval,
	// default 5 s). Unset until the cluster is first described; 0 is shown as 0 (kubectl's
	// SERVICES and RUNNING columns).
	// +optional
	RunningTasksCount *int32 `json:"runningTasksCount,omitempty"`
	// +optional
	PendingTasksCount *int32 `json:"pendingTasksCount,omitempty"`
	// +optional
	ActiveServicesCount *int32 `json:"activeServicesCount,omitempty"`
	// AppliedTags are the spec's tags as last applied to the ECS cluster; a tag removed from the
	// spec is removed from the cluster only when it is listed here.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	AppliedTags []Tag `json:"appliedTags,omitempty"`

	// DeprecatedClusterARN is clusterArn as nodeless spelled it before the status members took
	// ECS's spelling (status.clusterARN). It is in the schema only so that the API server keeps it
	// on objects stored before: the controller moves it into clusterArn, once, in the status write
	// that clears it, and never writes it otherwise. Without it a Cluster deleted before its first
	// reconcile after the upgrade would leave its ECS cluster behind. When it can be removed:
	// docs/adr/0006-in-place-changes.md.
	// +optional
	DeprecatedClusterARN string `json:"clusterARN,omitempty"`
}

// Cluster is an ECS cluster.
//
// +kubebuilder:validation:XValidation:rule="(has(self.spec) && has(self.spec.clusterName) ? self.spec.clusterName : (has(self.spec) && has(self.spec.name) ? self.spec.name : self.metadata.name)) == (has(oldSelf.spec) && has(oldSelf.spec.clusterName) ? oldSelf.spec.clusterName : (has(oldSelf.spec) && has(oldSelf.spec.name) ? oldSelf.spec.name : oldSelf.metadata.name))",message="spec.clusterName cannot change (it defaults to spec.name, then metadata.name): ECS cannot rename a cluster; delete this Cluster and create a new one"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ecscluster;ecsc,categories=ecs
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Services",type=integer,JSONPath=`.status.activeServicesCount`
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.runningTasksCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="ARN",type=string,JSONPath=`.status.clusterArn`,priority=1
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ClusterSpec `json:"spec,omitempty"`
	// +optional
	Status ClusterStatus `json:"status,omitempty"`
}

// ClusterList is a list of Clusters.
//
// +kubebuilder:object:root=true
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}

// ECSName is the name of the ECS cluster: spec.clusterName, or metadata.name.
func (c *Cluster) ECSName() string {
	if c.Spec.ClusterName != "" {
		return c.Spec.ClusterName
	}
	return c.Name
}
