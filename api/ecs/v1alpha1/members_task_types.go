package v1alpha1

// The RunTask overrides beyond the core ones of task_types.go (ECS API reference, TaskOverride and
// ContainerOverride).

// TaskOverrideMembers is embedded in TaskOverride.
type TaskOverrideMembers struct {
	// ExecutionRoleArn of this task instead of the task definition's.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	ExecutionRoleArn string `json:"executionRoleArn,omitempty"`
	// TaskRoleArn of this task instead of the task definition's.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	TaskRoleArn string `json:"taskRoleArn,omitempty"`
	// EphemeralStorage of this task instead of the task definition's (21-200 GiB).
	// +optional
	EphemeralStorage *EphemeralStorage `json:"ephemeralStorage,omitempty"`
}

// ContainerOverrideMembers is embedded in ContainerOverride.
type ContainerOverrideMembers struct {
	// Cpu units of the container instead of the task definition's.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Cpu *int32 `json:"cpu,omitempty"`
	// Memory hard limit in MiB instead of the task definition's.
	// +kubebuilder:validation:Minimum=6
	// +optional
	Memory *int32 `json:"memory,omitempty"`
	// MemoryReservation soft limit in MiB instead of the task definition's.
	// +kubebuilder:validation:Minimum=6
	// +optional
	MemoryReservation *int32 `json:"memoryReservation,omitempty"`
	// EnvironmentFiles added to the task definition's.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	EnvironmentFiles []EnvironmentFile `json:"environmentFiles,omitempty"`
}
