package v1alpha1

import "k8s.io/apimachinery/pkg/runtime"

// The ECS members nodeless does not carry (members_test.go lists each with its reason), in the
// schema only to be refused by name. Without a field, the API server would prune such a member
// from a manifest (an ECS task definition's links, ACK's ipcMode or dockerSecurityOptions) and,
// under field validation Ignore, say nothing: the object would run without what its author
// wrote. With one, a validation rule refuses the manifest, naming the member, why nodeless does
// not carry it, and what to do (ADR 0012).
//
// Each field is tagged alias:"refused" (aliases.go: never normalised, skipped by the member
// tables) and has the member's ECS shape on its outside (a string, a number, a list); what an
// object holds is kept as written (x-kubernetes-preserve-unknown-fields), so nothing inside it
// is pruned either, and strict field validation reports the rule's message rather than the
// object's members. The rules sit on the struct that holds the member and only test its
// presence, so their cost does not grow with the member's size. A flag set to false (ECS's
// default, privileged: false) is accepted: it asks for what nodeless does anyway.
// NormalizeAliases clears it, so it reaches no translation and no spec hash. TestRefusedMessagesGiveTheReason holds each rule's
// message to the member's reason in notCarried; TestACKSpellingsInTheSchema holds the set to
// every member AWS's ECS controller for Kubernetes spells.

// TaskDefinitionSpecRefused are the members of TaskDefinitionSpec that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.ipcMode)",fieldPath=.ipcMode,reason=FieldValueForbidden,message="ipcMode is not carried by nodeless (Fargate does not support ipcMode (RegisterTaskDefinition)): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.inferenceAccelerators)",fieldPath=.inferenceAccelerators,reason=FieldValueForbidden,message="inferenceAccelerators is not carried by nodeless (Elastic Inference is retired and was never on Fargate): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.enableFaultInjection) || !self.enableFaultInjection",fieldPath=.enableFaultInjection,reason=FieldValueForbidden,message="enableFaultInjection is not carried by nodeless (not yet: fault injection endpoints are not emulated locally): remove it"
type TaskDefinitionSpecRefused struct {
	// IpcMode is refused (Fargate does not support ipcMode (RegisterTaskDefinition)).
	// +optional
	IpcMode *string `json:"ipcMode,omitempty" alias:"refused"`
	// InferenceAccelerators is refused (Elastic Inference is retired and was never on Fargate).
	// +optional
	InferenceAccelerators []runtime.RawExtension `json:"inferenceAccelerators,omitempty" alias:"refused"`
	// EnableFaultInjection is refused (not yet: fault injection endpoints are not emulated locally).
	// +optional
	EnableFaultInjection *bool `json:"enableFaultInjection,omitempty" alias:"refused"`
}

// ContainerDefinitionRefused are the members of ContainerDefinition that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.links)",fieldPath=.links,reason=FieldValueForbidden,message="links is not carried by nodeless (awsvpc (Fargate) has no links): remove it; the containers of a task reach each other on localhost"
// +kubebuilder:validation:XValidation:rule="!has(self.hostname)",fieldPath=.hostname,reason=FieldValueForbidden,message="hostname is not carried by nodeless (awsvpc (Fargate) has no per-container hostname): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.disableNetworking) || !self.disableNetworking",fieldPath=.disableNetworking,reason=FieldValueForbidden,message="disableNetworking is not carried by nodeless (awsvpc (Fargate) does not support it): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.dnsServers)",fieldPath=.dnsServers,reason=FieldValueForbidden,message="dnsServers is not carried by nodeless (awsvpc (Fargate) does not support it): remove it; the task uses its VPC's resolver"
// +kubebuilder:validation:XValidation:rule="!has(self.dnsSearchDomains)",fieldPath=.dnsSearchDomains,reason=FieldValueForbidden,message="dnsSearchDomains is not carried by nodeless (awsvpc (Fargate) does not support it): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.extraHosts)",fieldPath=.extraHosts,reason=FieldValueForbidden,message="extraHosts is not carried by nodeless (awsvpc (Fargate) does not support it): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.dockerSecurityOptions)",fieldPath=.dockerSecurityOptions,reason=FieldValueForbidden,message="dockerSecurityOptions is not carried by nodeless (Fargate does not support it): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.privileged) || !self.privileged",fieldPath=.privileged,reason=FieldValueForbidden,message="privileged is not carried by nodeless (Fargate does not support privileged containers): remove it; add what the container needs to linuxParameters.capabilities.add, where Fargate allows SYS_PTRACE"
// +kubebuilder:validation:XValidation:rule="!has(self.credentialSpecs)",fieldPath=.credentialSpecs,reason=FieldValueForbidden,message="credentialSpecs is not carried by nodeless (Windows containers (gMSA) are out of scope (DESIGN §6)): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.resourceRequirements)",fieldPath=.resourceRequirements,reason=FieldValueForbidden,message="resourceRequirements is not carried by nodeless (GPUs are out of scope (DESIGN §6) and Fargate has none): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.volumesFrom)",fieldPath=.volumesFrom,reason=FieldValueForbidden,message="volumesFrom is not carried by nodeless (not yet: the local data plane refuses it (share a task volume through mountPoints)): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.versionConsistency)",fieldPath=.versionConsistency,reason=FieldValueForbidden,message="versionConsistency is not carried by nodeless (not yet: image digest resolution is always on): remove it"
type ContainerDefinitionRefused struct {
	// Links is refused (awsvpc (Fargate) has no links).
	// +optional
	Links []string `json:"links,omitempty" alias:"refused"`
	// Hostname is refused (awsvpc (Fargate) has no per-container hostname).
	// +optional
	Hostname *string `json:"hostname,omitempty" alias:"refused"`
	// DisableNetworking is refused (awsvpc (Fargate) does not support it).
	// +optional
	DisableNetworking *bool `json:"disableNetworking,omitempty" alias:"refused"`
	// DnsServers is refused (awsvpc (Fargate) does not support it).
	// +optional
	DnsServers []string `json:"dnsServers,omitempty" alias:"refused"`
	// DnsSearchDomains is refused (awsvpc (Fargate) does not support it).
	// +optional
	DnsSearchDomains []string `json:"dnsSearchDomains,omitempty" alias:"refused"`
	// ExtraHosts is refused (awsvpc (Fargate) does not support it).
	// +optional
	ExtraHosts []runtime.RawExtension `json:"extraHosts,omitempty" alias:"refused"`
	// DockerSecurityOptions is refused (Fargate does not support it).
	// +optional
	DockerSecurityOptions []string `json:"dockerSecurityOptions,omitempty" alias:"refused"`
	// Privileged is refused (Fargate does not support privileged containers).
	// +optional
	Privileged *bool `json:"privileged,omitempty" alias:"refused"`
	// CredentialSpecs is refused (Windows containers (gMSA) are out of scope (DESIGN §6)).
	// +optional
	CredentialSpecs []string `json:"credentialSpecs,omitempty" alias:"refused"`
	// ResourceRequirements is refused (GPUs are out of scope (DESIGN §6) and Fargate has none).
	// +optional
	ResourceRequirements []runtime.RawExtension `json:"resourceRequirements,omitempty" alias:"refused"`
	// VolumesFrom is refused (not yet: the local data plane refuses it (share a task volume through mountPoints)).
	// +optional
	VolumesFrom []runtime.RawExtension `json:"volumesFrom,omitempty" alias:"refused"`
	// VersionConsistency is refused (not yet: image digest resolution is always on).
	// +optional
	VersionConsistency *string `json:"versionConsistency,omitempty" alias:"refused"`
}

// PortMappingRefused are the members of PortMapping that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.containerPortRange)",fieldPath=.containerPortRange,reason=FieldValueForbidden,message="containerPortRange is not carried by nodeless (not yet: port ranges (the local data plane publishes single ports)): remove it; map each port with containerPort"
type PortMappingRefused struct {
	// ContainerPortRange is refused (not yet: port ranges (the local data plane publishes single ports)).
	// +optional
	ContainerPortRange *string `json:"containerPortRange,omitempty" alias:"refused"`
}

// LinuxParametersRefused are the members of LinuxParameters that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.devices)",fieldPath=.devices,reason=FieldValueForbidden,message="devices is not carried by nodeless (Fargate does not support host devices (LinuxParameters)): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.sharedMemorySize)",fieldPath=.sharedMemorySize,reason=FieldValueForbidden,message="sharedMemorySize is not carried by nodeless (Fargate does not support sharedMemorySize (LinuxParameters)): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.tmpfs)",fieldPath=.tmpfs,reason=FieldValueForbidden,message="tmpfs is not carried by nodeless (Fargate does not support tmpfs (LinuxParameters)): remove it; mount a task volume (volumes without host) through mountPoints"
// +kubebuilder:validation:XValidation:rule="!has(self.maxSwap)",fieldPath=.maxSwap,reason=FieldValueForbidden,message="maxSwap is not carried by nodeless (Fargate does not support swap (LinuxParameters)): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.swappiness)",fieldPath=.swappiness,reason=FieldValueForbidden,message="swappiness is not carried by nodeless (Fargate does not support swap (LinuxParameters)): remove it"
type LinuxParametersRefused struct {
	// Devices is refused (Fargate does not support host devices (LinuxParameters)).
	// +optional
	Devices []runtime.RawExtension `json:"devices,omitempty" alias:"refused"`
	// SharedMemorySize is refused (Fargate does not support sharedMemorySize (LinuxParameters)).
	// +optional
	SharedMemorySize *int32 `json:"sharedMemorySize,omitempty" alias:"refused"`
	// Tmpfs is refused (Fargate does not support tmpfs (LinuxParameters)).
	// +optional
	Tmpfs []runtime.RawExtension `json:"tmpfs,omitempty" alias:"refused"`
	// MaxSwap is refused (Fargate does not support swap (LinuxParameters)).
	// +optional
	MaxSwap *int32 `json:"maxSwap,omitempty" alias:"refused"`
	// Swappiness is refused (Fargate does not support swap (LinuxParameters)).
	// +optional
	Swappiness *int32 `json:"swappiness,omitempty" alias:"refused"`
}

// VolumeRefused are the members of Volume that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.configuredAtLaunch) || !self.configuredAtLaunch",fieldPath=.configuredAtLaunch,reason=FieldValueForbidden,message="configuredAtLaunch is not carried by nodeless (not yet: EBS volumes attached at launch): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.dockerVolumeConfiguration)",fieldPath=.dockerVolumeConfiguration,reason=FieldValueForbidden,message="dockerVolumeConfiguration is not carried by nodeless (Docker volumes are EC2 only (Volume)): remove it; a volume with neither host nor a configuration is the task's own scratch volume"
// +kubebuilder:validation:XValidation:rule="!has(self.fsxWindowsFileServerVolumeConfiguration)",fieldPath=.fsxWindowsFileServerVolumeConfiguration,reason=FieldValueForbidden,message="fsxWindowsFileServerVolumeConfiguration is not carried by nodeless (Windows containers are out of scope (DESIGN §6)): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.s3filesVolumeConfiguration)",fieldPath=.s3filesVolumeConfiguration,reason=FieldValueForbidden,message="s3filesVolumeConfiguration is not carried by nodeless (not yet: S3 Files volumes): remove it"
type VolumeRefused struct {
	// ConfiguredAtLaunch is refused (not yet: EBS volumes attached at launch).
	// +optional
	ConfiguredAtLaunch *bool `json:"configuredAtLaunch,omitempty" alias:"refused"`
	// DockerVolumeConfiguration is refused (Docker volumes are EC2 only (Volume)).
	// +optional
	DockerVolumeConfiguration *runtime.RawExtension `json:"dockerVolumeConfiguration,omitempty" alias:"refused"`
	// FsxWindowsFileServerVolumeConfiguration is refused (Windows containers are out of scope (DESIGN §6)).
	// +optional
	FsxWindowsFileServerVolumeConfiguration *runtime.RawExtension `json:"fsxWindowsFileServerVolumeConfiguration,omitempty" alias:"refused"`
	// S3filesVolumeConfiguration is refused (not yet: S3 Files volumes).
	// +optional
	S3filesVolumeConfiguration *runtime.RawExtension `json:"s3filesVolumeConfiguration,omitempty" alias:"refused"`
}

// ServiceSpecRefused are the members of ServiceSpec that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.role)",fieldPath=.role,reason=FieldValueForbidden,message="role is not carried by nodeless (only for load balancers of services outside awsvpc; Fargate uses the service-linked role): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.volumeConfigurations)",fieldPath=.volumeConfigurations,reason=FieldValueForbidden,message="volumeConfigurations is not carried by nodeless (not yet: EBS volumes attached at launch): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.availabilityZoneRebalancing)",fieldPath=.availabilityZoneRebalancing,reason=FieldValueForbidden,message="availabilityZoneRebalancing is not carried by nodeless (not yet: no Availability Zones locally): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.vpcLatticeConfigurations)",fieldPath=.vpcLatticeConfigurations,reason=FieldValueForbidden,message="vpcLatticeConfigurations is not carried by nodeless (not yet: VPC Lattice target groups): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.forceNewDeployment) || !self.forceNewDeployment",fieldPath=.forceNewDeployment,reason=FieldValueForbidden,message="forceNewDeployment is not carried by nodeless (a spec change rolls out by itself; a forced redeploy of an unchanged spec is not declarative): remove it; change the TaskDefinition, or an annotation of the pod template of a Deployment"
type ServiceSpecRefused struct {
	// Role is refused (only for load balancers of services outside awsvpc; Fargate uses the service-linked role).
	// +optional
	Role *string `json:"role,omitempty" alias:"refused"`
	// VolumeConfigurations is refused (not yet: EBS volumes attached at launch).
	// +optional
	VolumeConfigurations []runtime.RawExtension `json:"volumeConfigurations,omitempty" alias:"refused"`
	// AvailabilityZoneRebalancing is refused (not yet: no Availability Zones locally).
	// +optional
	AvailabilityZoneRebalancing *string `json:"availabilityZoneRebalancing,omitempty" alias:"refused"`
	// VpcLatticeConfigurations is refused (not yet: VPC Lattice target groups).
	// +optional
	VpcLatticeConfigurations []runtime.RawExtension `json:"vpcLatticeConfigurations,omitempty" alias:"refused"`
	// ForceNewDeployment is refused (a spec change rolls out by itself; a forced redeploy of an unchanged spec is not declarative).
	// +optional
	ForceNewDeployment *bool `json:"forceNewDeployment,omitempty" alias:"refused"`
}

// DeploymentConfigurationRefused are the members of DeploymentConfiguration that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.strategy)",fieldPath=.strategy,reason=FieldValueForbidden,message="strategy is not carried by nodeless (not yet: blue/green, linear and canary deployments shift an ELB listener's traffic): remove it; a Service rolls (ROLLING) under maximumPercent and minimumHealthyPercent"
// +kubebuilder:validation:XValidation:rule="!has(self.bakeTimeInMinutes)",fieldPath=.bakeTimeInMinutes,reason=FieldValueForbidden,message="bakeTimeInMinutes is not carried by nodeless (not yet: blue/green, linear and canary deployments): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.lifecycleHooks)",fieldPath=.lifecycleHooks,reason=FieldValueForbidden,message="lifecycleHooks is not carried by nodeless (not yet: blue/green, linear and canary deployments): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.canaryConfiguration)",fieldPath=.canaryConfiguration,reason=FieldValueForbidden,message="canaryConfiguration is not carried by nodeless (not yet: blue/green, linear and canary deployments): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.linearConfiguration)",fieldPath=.linearConfiguration,reason=FieldValueForbidden,message="linearConfiguration is not carried by nodeless (not yet: blue/green, linear and canary deployments): remove it"
type DeploymentConfigurationRefused struct {
	// Strategy is refused (not yet: blue/green, linear and canary deployments shift an ELB listener's traffic).
	// +optional
	Strategy *string `json:"strategy,omitempty" alias:"refused"`
	// BakeTimeInMinutes is refused (not yet: blue/green, linear and canary deployments).
	// +optional
	BakeTimeInMinutes *int32 `json:"bakeTimeInMinutes,omitempty" alias:"refused"`
	// LifecycleHooks is refused (not yet: blue/green, linear and canary deployments).
	// +optional
	LifecycleHooks []runtime.RawExtension `json:"lifecycleHooks,omitempty" alias:"refused"`
	// CanaryConfiguration is refused (not yet: blue/green, linear and canary deployments).
	// +optional
	CanaryConfiguration *runtime.RawExtension `json:"canaryConfiguration,omitempty" alias:"refused"`
	// LinearConfiguration is refused (not yet: blue/green, linear and canary deployments).
	// +optional
	LinearConfiguration *runtime.RawExtension `json:"linearConfiguration,omitempty" alias:"refused"`
}

// LoadBalancerRefused are the members of LoadBalancer that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.advancedConfiguration)",fieldPath=.advancedConfiguration,reason=FieldValueForbidden,message="advancedConfiguration is not carried by nodeless (not yet: blue/green deployments' alternate target group): remove it"
type LoadBalancerRefused struct {
	// AdvancedConfiguration is refused (not yet: blue/green deployments' alternate target group).
	// +optional
	AdvancedConfiguration *runtime.RawExtension `json:"advancedConfiguration,omitempty" alias:"refused"`
}

// ServiceConnectClientAliasRefused are the members of ServiceConnectClientAlias that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.testTrafficRules)",fieldPath=.testTrafficRules,reason=FieldValueForbidden,message="testTrafficRules is not carried by nodeless (not yet: test traffic of blue/green deployments): remove it"
type ServiceConnectClientAliasRefused struct {
	// TestTrafficRules is refused (not yet: test traffic of blue/green deployments).
	// +optional
	TestTrafficRules *runtime.RawExtension `json:"testTrafficRules,omitempty" alias:"refused"`
}

// TaskSpecRefused are the members of TaskSpec that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.count)",fieldPath=.count,reason=FieldValueForbidden,message="count is not carried by nodeless (a Task object is one task): remove it; create one Task per task"
// +kubebuilder:validation:XValidation:rule="!has(self.referenceId)",fieldPath=.referenceId,reason=FieldValueForbidden,message="referenceId is not carried by nodeless (not yet: a reference for tasks started by a service deployment's lifecycle hooks): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.volumeConfigurations)",fieldPath=.volumeConfigurations,reason=FieldValueForbidden,message="volumeConfigurations is not carried by nodeless (not yet: EBS volumes attached at launch): remove it"
type TaskSpecRefused struct {
	// Count is refused (a Task object is one task).
	// +optional
	Count *int32 `json:"count,omitempty" alias:"refused"`
	// ReferenceId is refused (not yet: a reference for tasks started by a service deployment's lifecycle hooks).
	// +optional
	ReferenceId *string `json:"referenceId,omitempty" alias:"refused"`
	// VolumeConfigurations is refused (not yet: EBS volumes attached at launch).
	// +optional
	VolumeConfigurations []runtime.RawExtension `json:"volumeConfigurations,omitempty" alias:"refused"`
}

// TaskOverrideRefused are the members of TaskOverride that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.inferenceAcceleratorOverrides)",fieldPath=.inferenceAcceleratorOverrides,reason=FieldValueForbidden,message="inferenceAcceleratorOverrides is not carried by nodeless (Elastic Inference is retired and was never on Fargate): remove it"
type TaskOverrideRefused struct {
	// InferenceAcceleratorOverrides is refused (Elastic Inference is retired and was never on Fargate).
	// +optional
	InferenceAcceleratorOverrides []runtime.RawExtension `json:"inferenceAcceleratorOverrides,omitempty" alias:"refused"`
}

// ContainerOverrideRefused are the members of ContainerOverride that nodeless refuses by name.
//
// +kubebuilder:validation:XValidation:rule="!has(self.resourceRequirements)",fieldPath=.resourceRequirements,reason=FieldValueForbidden,message="resourceRequirements is not carried by nodeless (GPUs are out of scope (DESIGN §6) and Fargate has none): remove it"
type ContainerOverrideRefused struct {
	// ResourceRequirements is refused (GPUs are out of scope (DESIGN §6) and Fargate has none).
	// +optional
	ResourceRequirements []runtime.RawExtension `json:"resourceRequirements,omitempty" alias:"refused"`
}
