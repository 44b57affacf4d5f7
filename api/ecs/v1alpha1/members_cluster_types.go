package v1alpha1

// The CreateCluster / UpdateCluster / PutClusterCapacityProviders members beyond the core ones of
// cluster_types.go: capacity providers, the cluster's configuration and its Service Connect
// defaults. Spelled and shaped as the ECS API reference spells them; members_test.go holds them
// to the ECS model.

// ClusterMembers is embedded in ClusterSpec.
type ClusterMembers struct {
	// CapacityProviders associated with the cluster: FARGATE and FARGATE_SPOT on Fargate, or Auto
	// Scaling group capacity providers (ECS API reference, CreateCluster). Sent by CreateCluster,
	// changed in place with PutClusterCapacityProviders.
	// +listType=set
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	// +optional
	CapacityProviders []string `json:"capacityProviders,omitempty"`
	// DefaultCapacityProviderStrategy of the cluster: used by CreateService and RunTask calls
	// that give neither a capacityProviderStrategy nor a launchType. Its providers must be in
	// capacityProviders. Sent by CreateCluster, changed in place with PutClusterCapacityProviders.
	// +listType=map
	// +listMapKey=capacityProvider
	// +kubebuilder:validation:MaxItems=20
	// +optional
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy,omitempty"`
	// Configuration of the cluster: ECS Exec's logging and encryption, managed storage encryption
	// (ECS API reference, ClusterConfiguration). Changed in place with UpdateCluster.
	// +optional
	Configuration *ClusterConfiguration `json:"configuration,omitempty"`
	// ServiceConnectDefaults: the Cloud Map namespace of services that enable Service Connect
	// without naming one (ECS API reference, ClusterServiceConnectDefaultsRequest). Changed in
	// place with UpdateCluster.
	// +optional
	ServiceConnectDefaults *ClusterServiceConnectDefaults `json:"serviceConnectDefaults,omitempty"`
}

// ClusterConfiguration of a cluster.
type ClusterConfiguration struct {
	// +optional
	ExecuteCommandConfiguration *ExecuteCommandConfiguration `json:"executeCommandConfiguration,omitempty"`
	// +optional
	ManagedStorageConfiguration *ManagedStorageConfiguration `json:"managedStorageConfiguration,omitempty"`
}

// ExecuteCommandConfiguration says how ECS Exec sessions are encrypted and logged.
type ExecuteCommandConfiguration struct {
	// The spellings of AWS's ECS controller for Kubernetes (members_aliases.go).
	ExecuteCommandConfigurationAliases `json:",inline"`

	// KmsKeyId encrypting the data between the client and the container.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	KmsKeyId string `json:"kmsKeyId,omitempty"`
	// Logging of session output: NONE, DEFAULT (the task's awslogs configuration) or OVERRIDE
	// (logConfiguration, required then).
	// +kubebuilder:validation:Enum=NONE;DEFAULT;OVERRIDE
	// +optional
	Logging string `json:"logging,omitempty"`
	// +optional
	LogConfiguration *ExecuteCommandLogConfiguration `json:"logConfiguration,omitempty"`
}

// ExecuteCommandLogConfiguration: where ECS Exec session output goes with logging OVERRIDE.
type ExecuteCommandLogConfiguration struct {
	// +optional
	CloudWatchLogGroupName string `json:"cloudWatchLogGroupName,omitempty"`
	// +optional
	CloudWatchEncryptionEnabled *bool `json:"cloudWatchEncryptionEnabled,omitempty"`
	// +optional
	S3BucketName string `json:"s3BucketName,omitempty"`
	// +optional
	S3EncryptionEnabled *bool `json:"s3EncryptionEnabled,omitempty"`
	// +optional
	S3KeyPrefix string `json:"s3KeyPrefix,omitempty"`
}

// ManagedStorageConfiguration: the KMS keys of storage ECS manages for the cluster's tasks.
type ManagedStorageConfiguration struct {
	// The spellings of AWS's ECS controller for Kubernetes (members_aliases.go).
	ManagedStorageConfigurationAliases `json:",inline"`

	// KmsKeyId encrypting the data volumes ECS attaches to tasks.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	KmsKeyId string `json:"kmsKeyId,omitempty"`
	// FargateEphemeralStorageKmsKeyId encrypting Fargate's ephemeral storage.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	FargateEphemeralStorageKmsKeyId string `json:"fargateEphemeralStorageKmsKeyId,omitempty"`
}

// ClusterServiceConnectDefaults of a cluster.
type ClusterServiceConnectDefaults struct {
	// Namespace: the name or ARN of the Cloud Map namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Namespace string `json:"namespace"`
}
