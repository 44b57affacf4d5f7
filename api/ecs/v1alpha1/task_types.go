package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TaskSpec is a task to run once (RunTask). It cannot change after creation: delete the Task and
// create a new one.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a Task's spec is immutable; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.taskDefinition) != has(self.taskDefinitionRef)",message="set exactly one of taskDefinition (family, family:revision or ARN) and taskDefinitionRef (a TaskDefinition in this namespace)"
// +kubebuilder:validation:XValidation:rule="!(has(self.cluster) && has(self.clusterRef))",message="set at most one of cluster (ECS name or ARN) and clusterRef (a Cluster in this namespace)"
type TaskSpec struct {
	// Cluster is the ECS cluster's name or ARN; without cluster and clusterRef, "default".
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// +optional
	ClusterRef *LocalObjectReference `json:"clusterRef,omitempty"`
	// TaskDefinition is family, family:revision or a task definition ARN.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// TaskDefinitionRef names a TaskDefinition in this namespace; its newest revision at the time
	// the task is started is used.
	// +optional
	TaskDefinitionRef *LocalObjectReference `json:"taskDefinitionRef,omitempty"`
	// +kubebuilder:validation:Enum=FARGATE;EC2;EXTERNAL
	// +optional
	LaunchType string `json:"launchType,omitempty"`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	PlatformVersion string `json:"platformVersion,omitempty"`
	// +optional
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// +optional
	Overrides *TaskOverride `json:"overrides,omitempty"`
	// Group of the task, e.g. family:my-job.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Group string `json:"group,omitempty"`
	// StartedBy is recorded on the task.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	StartedBy string `json:"startedBy,omitempty"`
	// +kubebuilder:validation:MaxItems=40
	// +optional
	Tags []Tag `json:"tags,omitempty"`
}

// TaskOverride changes the task definition for this task only.
type TaskOverride struct {
	// +optional
	ContainerOverrides []ContainerOverride `json:"containerOverrides,omitempty"`
	// +optional
	Cpu string `json:"cpu,omitempty"`
	// +optional
	Memory string `json:"memory,omitempty"`
}

// ContainerOverride changes one container for this task only.
type ContainerOverride struct {
	Name string `json:"name"`
	// +optional
	Command []string `json:"command,omitempty"`
	// +optional
	Environment []KeyValuePair `json:"environment,omitempty"`
}

// ContainerStatus mirrors one container of the task.
type ContainerStatus struct {
	Name string `json:"name"`
	// +optional
	LastStatus string `json:"lastStatus,omitempty"`
	// +optional
	ExitCode *int32 `json:"exitCode,omitempty"`
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	HealthStatus string `json:"healthStatus,omitempty"`
}

// TaskStatus is the observed state of the task.
type TaskStatus struct {
	CommonStatus `json:",inline"`
	// +optional
	TaskARN string `json:"taskARN,omitempty"`
	// +optional
	ClusterARN string `json:"clusterARN,omitempty"`
	// +optional
	TaskDefinitionARN string `json:"taskDefinitionARN,omitempty"`
	// LastStatus: PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING,
	// DEPROVISIONING or STOPPED.
	// +optional
	LastStatus string `json:"lastStatus,omitempty"`
	// +optional
	DesiredStatus string `json:"desiredStatus,omitempty"`
	// +optional
	StopCode string `json:"stopCode,omitempty"`
	// +optional
	StoppedReason string `json:"stoppedReason,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	StoppedAt *metav1.Time `json:"stoppedAt,omitempty"`
	// +optional
	Containers []ContainerStatus `json:"containers,omitempty"`
}

// Task is one ECS task started with RunTask.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ecstask;ecst,categories=ecs
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.lastStatus`
// +kubebuilder:printcolumn:name="StopCode",type=string,JSONPath=`.status.stopCode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Task struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec TaskSpec `json:"spec"`
	// +optional
	Status TaskStatus `json:"status,omitempty"`
}

// TaskList is a list of Tasks.
//
// +kubebuilder:object:root=true
type TaskList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Task `json:"items"`
}
