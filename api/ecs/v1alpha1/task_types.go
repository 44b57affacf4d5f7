package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TaskSpec is a task to run once (RunTask). ECS cannot change a task it started, so no member but
// tags can change after creation (delete the Task and create a new one); tags change in place
// (TagResource / UntagResource).
//
// +kubebuilder:validation:XValidation:rule="has(self.cluster) == has(oldSelf.cluster) && (!has(self.cluster) || self.cluster == oldSelf.cluster)",message="cluster cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.clusterRef) == has(oldSelf.clusterRef) && (!has(self.clusterRef) || self.clusterRef == oldSelf.clusterRef)",message="clusterRef cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.taskDefinition) == has(oldSelf.taskDefinition) && (!has(self.taskDefinition) || self.taskDefinition == oldSelf.taskDefinition)",message="taskDefinition cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.taskDefinitionRef) == has(oldSelf.taskDefinitionRef) && (!has(self.taskDefinitionRef) || self.taskDefinitionRef == oldSelf.taskDefinitionRef)",message="taskDefinitionRef cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.launchType) == has(oldSelf.launchType) && (!has(self.launchType) || self.launchType == oldSelf.launchType)",message="launchType cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.platformVersion) == has(oldSelf.platformVersion) && (!has(self.platformVersion) || self.platformVersion == oldSelf.platformVersion)",message="platformVersion cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.networkConfiguration) == has(oldSelf.networkConfiguration) && (!has(self.networkConfiguration) || self.networkConfiguration == oldSelf.networkConfiguration)",message="networkConfiguration cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.overrides) == has(oldSelf.overrides) && (!has(self.overrides) || self.overrides == oldSelf.overrides)",message="overrides cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.group) == has(oldSelf.group) && (!has(self.group) || self.group == oldSelf.group)",message="group cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.startedBy) == has(oldSelf.startedBy) && (!has(self.startedBy) || self.startedBy == oldSelf.startedBy)",message="startedBy cannot change: ECS cannot change a started task; delete the Task and create a new one"
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
	// StartedBy is recorded on the task: up to 128 letters, digits, hyphens, slashes and
	// underscores (ECS API reference, RunTask startedBy).
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_/-]+$`
	// +optional
	StartedBy string `json:"startedBy,omitempty"`
	// Tags of the task: set by RunTask, changed in place afterwards (TagResource / UntagResource).
	// Tags others set on the task are left alone.
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=40
	// +optional
	Tags []Tag `json:"tags,omitempty"`

	// The members of members_service_types.go.
	TaskMembers `json:",inline"`

	// The members nodeless refuses by name (refused_types.go).
	TaskSpecRefused `json:",inline"`
}

// TaskOverride changes the task definition for this task only.
type TaskOverride struct {
	// +optional
	ContainerOverrides []ContainerOverride `json:"containerOverrides,omitempty"`
	// +optional
	Cpu string `json:"cpu,omitempty"`
	// +optional
	Memory string `json:"memory,omitempty"`

	// The members of members_task_types.go.
	TaskOverrideMembers `json:",inline"`

	// The members nodeless refuses by name (refused_types.go).
	TaskOverrideRefused `json:",inline"`
}

// ContainerOverride changes one container for this task only.
type ContainerOverride struct {
	Name string `json:"name"`
	// +optional
	Command []string `json:"command,omitempty"`
	// +optional
	Environment []KeyValuePair `json:"environment,omitempty"`

	// The members of members_task_types.go.
	ContainerOverrideMembers `json:",inline"`

	// The members nodeless refuses by name (refused_types.go).
	ContainerOverrideRefused `json:",inline"`
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

// TaskPhase sums up a task's lifecycle.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type TaskPhase string

// Task phases; Succeeded and Failed are terminal.
const (
	TaskPending   TaskPhase = "Pending"
	TaskRunning   TaskPhase = "Running"
	TaskSucceeded TaskPhase = "Succeeded"
	TaskFailed    TaskPhase = "Failed"
)

// TaskStatus is the observed state of the task.
type TaskStatus struct {
	CommonStatus `json:",inline"`
	// +optional
	TaskArn string `json:"taskArn,omitempty"`
	// +optional
	ClusterArn string `json:"clusterArn,omitempty"`
	// +optional
	TaskDefinitionArn string `json:"taskDefinitionArn,omitempty"`
	// Phase sums up the task's lifecycle as a Pod's phase does: Pending until it has started,
	// Running, and once STOPPED the terminal Succeeded (it stopped because its essential container
	// exited, stopCode EssentialContainerExited, and every container exited 0) or Failed (anything
	// else: a non-zero exit, a task that never started, a task stopped by a user or by ECS).
	// +optional
	Phase TaskPhase `json:"phase,omitempty"`
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
	// AppliedTags are the spec's tags as last applied to the ECS task; a tag removed from the
	// spec is removed from the task only when it is listed here.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	AppliedTags []Tag `json:"appliedTags,omitempty"`

	// DeprecatedTaskARN is taskArn as nodeless spelled it before the status members took ECS's
	// spelling (status.taskARN). It is in the schema only so that the API server keeps it on
	// objects stored before: the controller moves it into taskArn, once, in the status write that
	// clears it, and never writes it otherwise. Without it such a Task would run RunTask again,
	// starting a second task once ECS has forgotten the clientToken (24 h at most). When it can be
	// removed: docs/adr/0006-in-place-changes.md.
	// +optional
	DeprecatedTaskARN string `json:"taskARN,omitempty"`
	// DeprecatedClusterARN is clusterArn as spelled before the rename (status.clusterARN); see taskARN.
	// +optional
	DeprecatedClusterARN string `json:"clusterARN,omitempty"`
	// DeprecatedTaskDefinitionARN is taskDefinitionArn as spelled before the rename
	// (status.taskDefinitionARN); see taskARN.
	// +optional
	DeprecatedTaskDefinitionARN string `json:"taskDefinitionARN,omitempty"`
}

// Task is one ECS task started with RunTask.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ecstask;ecst,categories=ecs
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.lastStatus`
// +kubebuilder:printcolumn:name="StopCode",type=string,JSONPath=`.status.stopCode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="ARN",type=string,JSONPath=`.status.taskArn`,priority=1
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
