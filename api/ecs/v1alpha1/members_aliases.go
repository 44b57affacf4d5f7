package v1alpha1

// The spellings of AWS's ECS controller for Kubernetes of the members of members_*_types.go
// (aliases.go says how aliases work): it spells initialisms in capitals.

// ExecuteCommandConfigurationAliases are the other controller's spellings of
// ExecuteCommandConfiguration's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.kmsKeyID) || !has(self.kmsKeyId) || self.kmsKeyID == self.kmsKeyId",fieldPath=.kmsKeyID,message="kmsKeyID is an alias of kmsKeyId (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only kmsKeyId"
type ExecuteCommandConfigurationAliases struct {
	// KmsKeyID is an alias of kmsKeyId, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	KmsKeyID string `json:"kmsKeyID,omitempty" alias:"kmsKeyId"`
}

// ManagedStorageConfigurationAliases are the other controller's spellings of
// ManagedStorageConfiguration's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.kmsKeyID) || !has(self.kmsKeyId) || self.kmsKeyID == self.kmsKeyId",fieldPath=.kmsKeyID,message="kmsKeyID is an alias of kmsKeyId (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only kmsKeyId"
// +kubebuilder:validation:XValidation:rule="!has(self.fargateEphemeralStorageKMSKeyID) || !has(self.fargateEphemeralStorageKmsKeyId) || self.fargateEphemeralStorageKMSKeyID == self.fargateEphemeralStorageKmsKeyId",fieldPath=.fargateEphemeralStorageKMSKeyID,message="fargateEphemeralStorageKMSKeyID is an alias of fargateEphemeralStorageKmsKeyId (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only fargateEphemeralStorageKmsKeyId"
type ManagedStorageConfigurationAliases struct {
	// KmsKeyID is an alias of kmsKeyId, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	KmsKeyID string `json:"kmsKeyID,omitempty" alias:"kmsKeyId"`
	// FargateEphemeralStorageKMSKeyID is an alias of fargateEphemeralStorageKmsKeyId.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	FargateEphemeralStorageKMSKeyID string `json:"fargateEphemeralStorageKMSKeyID,omitempty" alias:"fargateEphemeralStorageKmsKeyId"`
}

// ServiceRegistryAliases are the other controller's spellings of ServiceRegistry's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.registryARN) || !has(self.registryArn) || self.registryARN == self.registryArn",fieldPath=.registryARN,message="registryARN is an alias of registryArn (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only registryArn"
type ServiceRegistryAliases struct {
	// RegistryARN is an alias of registryArn, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	RegistryARN string `json:"registryARN,omitempty" alias:"registryArn"`
}

// ServiceConnectTlsConfigurationAliases are the other controller's spellings of
// ServiceConnectTlsConfiguration's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.roleARN) || !has(self.roleArn) || self.roleARN == self.roleArn",fieldPath=.roleARN,message="roleARN is an alias of roleArn (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only roleArn"
type ServiceConnectTlsConfigurationAliases struct {
	// RoleARN is an alias of roleArn, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	RoleARN string `json:"roleARN,omitempty" alias:"roleArn"`
}

// ServiceConnectTlsCertificateAuthorityAliases are the other controller's spellings of
// ServiceConnectTlsCertificateAuthority's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.awsPCAAuthorityARN) || !has(self.awsPcaAuthorityArn) || self.awsPCAAuthorityARN == self.awsPcaAuthorityArn",fieldPath=.awsPCAAuthorityARN,message="awsPCAAuthorityARN is an alias of awsPcaAuthorityArn (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only awsPcaAuthorityArn"
type ServiceConnectTlsCertificateAuthorityAliases struct {
	// AwsPCAAuthorityARN is an alias of awsPcaAuthorityArn.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	AwsPCAAuthorityARN string `json:"awsPCAAuthorityARN,omitempty" alias:"awsPcaAuthorityArn"`
}

// EFSVolumeConfigurationAliases are the other controller's spellings of EFSVolumeConfiguration's
// members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.fileSystemID) || !has(self.fileSystemId) || self.fileSystemID == self.fileSystemId",fieldPath=.fileSystemID,message="fileSystemID is an alias of fileSystemId (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only fileSystemId"
type EFSVolumeConfigurationAliases struct {
	// FileSystemID is an alias of fileSystemId, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	FileSystemID string `json:"fileSystemID,omitempty" alias:"fileSystemId"`
}

// EFSAuthorizationConfigAliases are the other controller's spellings of EFSAuthorizationConfig's
// members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.accessPointID) || !has(self.accessPointId) || self.accessPointID == self.accessPointId",fieldPath=.accessPointID,message="accessPointID is an alias of accessPointId (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only accessPointId"
type EFSAuthorizationConfigAliases struct {
	// AccessPointID is an alias of accessPointId, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	AccessPointID string `json:"accessPointID,omitempty" alias:"accessPointId"`
}
