package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TaskDefinitionSpec is the desired content of an ECS task definition family (RegisterTaskDefinition).
// Every change registers exactly one new revision, except a change of tags, which ECS changes in
// place on every ACTIVE revision the object registered (TagResource / UntagResource).
//
// cpu and memory are given in CPU units and MiB ("256", "512"); with FARGATE in
// requiresCompatibilities they must form one of the pairs Fargate supports.
//
// +kubebuilder:validation:XValidation:rule="!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(c, c == 'FARGATE') || (has(self.cpu) && has(self.memory))",message="cpu and memory are required when requiresCompatibilities contains FARGATE"
// +kubebuilder:validation:XValidation:rule="!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(c, c == 'FARGATE') || !has(self.cpu) || !has(self.memory) || (int(self.cpu) == 256 && int(self.memory) in [512, 1024, 2048]) || (int(self.cpu) == 512 && int(self.memory) >= 1024 && int(self.memory) <= 4096 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 1024 && int(self.memory) >= 2048 && int(self.memory) <= 8192 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 2048 && int(self.memory) >= 4096 && int(self.memory) <= 16384 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 4096 && int(self.memory) >= 8192 && int(self.memory) <= 30720 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 8192 && int(self.memory) >= 16384 && int(self.memory) <= 61440 && int(self.memory) % 4096 == 0) || (int(self.cpu) == 16384 && int(self.memory) >= 32768 && int(self.memory) <= 122880 && int(self.memory) % 8192 == 0)",message="cpu/memory is not a Fargate size: use cpu 256 with memory 512|1024|2048, 512 with 1024-4096, 1024 with 2048-8192, 2048 with 4096-16384, 4096 with 8192-30720 (steps of 1024), 8192 with 16384-61440 (steps of 4096), 16384 with 32768-122880 (steps of 8192)"
// +kubebuilder:validation:XValidation:rule="!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(c, c == 'FARGATE') || !has(self.networkMode) || self.networkMode == 'awsvpc'",message="networkMode must be awsvpc when requiresCompatibilities contains FARGATE"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.exists(c, !has(c.essential) || c.essential)",message="at least one container in containerDefinitions must be essential"
type TaskDefinitionSpec struct {
	// The spellings of AWS's ECS controller for Kubernetes (aliases.go).
	TaskDefinitionSpecAliases `json:",inline"`

	// Family of the task definition; defaults to metadata.name and cannot change (the object's
	// revisions belong to one family).
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	// +optional
	Family string `json:"family,omitempty"`
	// ContainerDefinitions of the task, at least one, at most 10, unique by name.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	ContainerDefinitions []ContainerDefinition `json:"containerDefinitions"`
	// Cpu of the task in CPU units (1024 = 1 vCPU).
	// +kubebuilder:validation:Pattern=`^[1-9][0-9]{0,5}$`
	// +optional
	Cpu string `json:"cpu,omitempty"`
	// Memory of the task in MiB.
	// +kubebuilder:validation:Pattern=`^[1-9][0-9]{0,6}$`
	// +optional
	Memory string `json:"memory,omitempty"`
	// NetworkMode of the task; Fargate requires awsvpc.
	// +kubebuilder:validation:Enum=awsvpc;bridge;host;none
	// +optional
	NetworkMode string `json:"networkMode,omitempty"`
	// RequiresCompatibilities: the launch types the task definition is validated against.
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:Enum=FARGATE;EC2;EXTERNAL;MANAGED_INSTANCES
	// +listType=set
	// +optional
	RequiresCompatibilities []string `json:"requiresCompatibilities,omitempty"`
	// ExecutionRoleArn lets the ECS agent pull images and fetch secrets.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	ExecutionRoleArn string `json:"executionRoleArn,omitempty"`
	// TaskRoleArn is the IAM role the containers assume.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	TaskRoleArn string `json:"taskRoleArn,omitempty"`
	// Volumes the containers may mount.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Volumes []Volume `json:"volumes,omitempty"`
	// RuntimePlatform: operating system family and CPU architecture.
	// +optional
	RuntimePlatform *RuntimePlatform `json:"runtimePlatform,omitempty"`
	// EphemeralStorage of the task on Fargate.
	// +optional
	EphemeralStorage *EphemeralStorage `json:"ephemeralStorage,omitempty"`
	// PidMode of the task.
	// +kubebuilder:validation:Enum=host;task
	// +optional
	PidMode string `json:"pidMode,omitempty"`
	// Tags of every ACTIVE revision the object registered. A change is applied in place to each of
	// them (TagResource / UntagResource) and never registers a new revision; tags others set on a
	// revision are left alone.
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=40
	// +optional
	Tags []Tag `json:"tags,omitempty"`

	// The members of members_taskdefinition_types.go.
	TaskDefinitionMembers `json:",inline"`

	// The members nodeless refuses by name (refused_types.go).
	TaskDefinitionSpecRefused `json:",inline"`
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	Name string `json:"name"`
	// Image: repository-url/image:tag, up to 255 letters, digits, hyphens, underscores, colons,
	// periods, slashes and number signs, optionally followed by @sha256:<64 hex digits> (ECS API
	// reference, ContainerDefinition.image).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=327
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_:./#-]{1,255}(@sha256:[A-Fa-f0-9]{64})?$`
	Image string `json:"image"`
	// Cpu units reserved for the container.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Cpu int32 `json:"cpu,omitempty"`
	// Memory hard limit in MiB.
	// +kubebuilder:validation:Minimum=6
	// +optional
	Memory *int32 `json:"memory,omitempty"`
	// MemoryReservation soft limit in MiB.
	// +kubebuilder:validation:Minimum=6
	// +optional
	MemoryReservation *int32 `json:"memoryReservation,omitempty"`
	// Essential: when an essential container stops, the task stops. Defaults to true.
	// +optional
	Essential *bool `json:"essential,omitempty"`
	// +optional
	EntryPoint []string `json:"entryPoint,omitempty"`
	// +optional
	Command []string `json:"command,omitempty"`
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	WorkingDirectory string `json:"workingDirectory,omitempty"`
	// +listType=map
	// +listMapKey=name
	// +optional
	Environment []KeyValuePair `json:"environment,omitempty"`
	// Secrets exposed as environment variables, from Secrets Manager or SSM parameters.
	// +listType=map
	// +listMapKey=name
	// +optional
	Secrets []Secret `json:"secrets,omitempty"`
	// +optional
	PortMappings []PortMapping `json:"portMappings,omitempty"`
	// +optional
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// +optional
	DependsOn []ContainerDependency `json:"dependsOn,omitempty"`
	// +optional
	MountPoints []MountPoint `json:"mountPoints,omitempty"`
	// +optional
	LogConfiguration *LogConfiguration `json:"logConfiguration,omitempty"`
	// StopTimeout in seconds before the container is killed after SIGTERM.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=120
	// +optional
	StopTimeout *int32 `json:"stopTimeout,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartTimeout *int32 `json:"startTimeout,omitempty"`
	// +optional
	User string `json:"user,omitempty"`
	// +optional
	ReadonlyRootFilesystem *bool `json:"readonlyRootFilesystem,omitempty"`
	// +optional
	DockerLabels map[string]string `json:"dockerLabels,omitempty"`

	// The members of members_taskdefinition_types.go.
	ContainerMembers `json:",inline"`

	// The members nodeless refuses by name (refused_types.go).
	ContainerDefinitionRefused `json:",inline"`
}

// Secret is an environment variable whose value comes from Secrets Manager or SSM.
type Secret struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	ValueFrom string `json:"valueFrom"`
}

// PortMapping exposes a container port.
//
// containerPort is required; a rule rather than the schema says so, so that a mapping written
// with ECS's containerPortRange instead (which nodeless does not carry) is refused naming
// containerPortRange, not for lacking containerPort.
//
// +kubebuilder:validation:XValidation:rule="has(self.containerPort) || has(self.containerPortRange)",fieldPath=.containerPort,reason=FieldValueRequired,message="containerPort is required"
type PortMapping struct {
	// ContainerPort the container listens on; required.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	ContainerPort int32 `json:"containerPort"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	HostPort *int32 `json:"hostPort,omitempty"`
	// +kubebuilder:validation:Enum=tcp;udp
	// +optional
	Protocol string `json:"protocol,omitempty"`
	// Name of the port mapping, which serviceConnectConfiguration.services[].portName names: up
	// to 64 letters, digits, underscores and hyphens, not starting with a hyphen (ECS API
	// reference, PortMapping.name).
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_][a-zA-Z0-9_-]*$`
	// +optional
	Name string `json:"name,omitempty"`
	// +kubebuilder:validation:Enum=http;http2;grpc
	// +optional
	AppProtocol string `json:"appProtocol,omitempty"`

	// The members nodeless refuses by name (refused_types.go).
	PortMappingRefused `json:",inline"`
}

// HealthCheck is a container health check command.
type HealthCheck struct {
	// Command, e.g. ["CMD-SHELL", "curl -f http://localhost/ || exit 1"].
	// +kubebuilder:validation:MinItems=1
	Command []string `json:"command"`
	// +kubebuilder:validation:Minimum=5
	// +kubebuilder:validation:Maximum=300
	// +optional
	Interval *int32 `json:"interval,omitempty"`
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=120
	// +optional
	Timeout *int32 `json:"timeout,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	// +optional
	Retries *int32 `json:"retries,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=300
	// +optional
	StartPeriod *int32 `json:"startPeriod,omitempty"`
}

// ContainerDependency orders container start-up.
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	// +kubebuilder:validation:Enum=START;COMPLETE;SUCCESS;HEALTHY
	Condition string `json:"condition"`
}

// MountPoint mounts a task volume into a container.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	// +optional
	ReadOnly *bool `json:"readOnly,omitempty"`
}

// LogConfiguration of a container.
type LogConfiguration struct {
	// +kubebuilder:validation:Enum=json-file;syslog;journald;gelf;fluentd;awslogs;splunk;awsfirelens
	LogDriver string `json:"logDriver"`
	// +optional
	Options map[string]string `json:"options,omitempty"`
	// SecretOptions passed to the log driver from Secrets Manager or SSM (a Splunk token, ...):
	// name is the option, valueFrom the secret (ECS API reference, LogConfiguration). The local
	// data plane resolves them when the task starts, as it resolves secrets: a task whose secret
	// cannot be read fails to start.
	// +listType=map
	// +listMapKey=name
	// +optional
	SecretOptions []Secret `json:"secretOptions,omitempty"`
}

// Volume is a task volume; without host it is an ephemeral volume of the task.
type Volume struct {
	// Name: up to 255 letters, digits, underscores and hyphens (ECS API reference, Volume.name).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	Name string `json:"name"`
	// +optional
	Host *HostVolumeProperties `json:"host,omitempty"`

	// The members of members_taskdefinition_types.go.
	VolumeMembers `json:",inline"`

	// The members nodeless refuses by name (refused_types.go).
	VolumeRefused `json:",inline"`
}

// HostVolumeProperties of a bind-mount volume.
type HostVolumeProperties struct {
	// +optional
	SourcePath string `json:"sourcePath,omitempty"`
}

// RuntimePlatform of a task.
type RuntimePlatform struct {
	// +kubebuilder:validation:Enum=X86_64;ARM64
	// +optional
	CpuArchitecture string `json:"cpuArchitecture,omitempty"`
	// +kubebuilder:validation:Enum=LINUX
	// +optional
	OperatingSystemFamily string `json:"operatingSystemFamily,omitempty"`
}

// EphemeralStorage of a Fargate task.
type EphemeralStorage struct {
	// +kubebuilder:validation:Minimum=21
	// +kubebuilder:validation:Maximum=200
	SizeInGiB int32 `json:"sizeInGiB"`
}

// TaskDefinitionRevision is one registered revision of the family.
type TaskDefinitionRevision struct {
	Revision          int32  `json:"revision"`
	TaskDefinitionArn string `json:"taskDefinitionArn"`
	// SpecHash of the spec the revision was registered from.
	// +optional
	SpecHash string `json:"specHash,omitempty"`
}

// TaskDefinitionStatus is the observed state of the family.
type TaskDefinitionStatus struct {
	CommonStatus `json:",inline"`
	// Family as registered.
	// +optional
	Family string `json:"family,omitempty"`
	// Revision is the newest revision, registered from the current spec.
	// +optional
	Revision int32 `json:"revision,omitempty"`
	// TaskDefinitionArn of the newest revision; Services referencing this object roll to it.
	// +optional
	TaskDefinitionArn string `json:"taskDefinitionArn,omitempty"`
	// SpecHash of the spec the newest revision was registered from.
	// +optional
	SpecHash string `json:"specHash,omitempty"`
	// ActiveRevisions registered by this object and not yet deregistered, oldest first.
	// +optional
	ActiveRevisions []TaskDefinitionRevision `json:"activeRevisions,omitempty"`
	// AppliedTags are the spec's tags as last applied to every revision in activeRevisions; a
	// tag removed from the spec is removed from the revisions only when it is listed here.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	AppliedTags []Tag `json:"appliedTags,omitempty"`
	// ClusterRevisions are the revisions registered for the clusters whose Cluster object's
	// spec.defaults complete this spec differently from the controller's flags (an
	// executionRoleArn or logGroup the spec leaves out), one per Cluster used by a Service or Task
	// referencing this object. Those Services and Tasks run their cluster's revision; the others
	// run taskDefinitionArn. ClusterDefaults says why.
	// +listType=map
	// +listMapKey=cluster
	// +optional
	ClusterRevisions []TaskDefinitionClusterRevision `json:"clusterRevisions,omitempty"`
}

// TaskDefinition is an ECS task definition family; each spec change but tags registers a new revision.
//
// +kubebuilder:validation:XValidation:rule="(has(self.spec.family) ? self.spec.family : self.metadata.name) == (has(oldSelf.spec.family) ? oldSelf.spec.family : oldSelf.metadata.name)",message="spec.family cannot change (it defaults to metadata.name): the revisions of a TaskDefinition belong to one family; create a new TaskDefinition instead"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ecstd;taskdef,categories=ecs
// +kubebuilder:printcolumn:name="Family",type=string,JSONPath=`.status.family`
// +kubebuilder:printcolumn:name="Revision",type=integer,JSONPath=`.status.revision`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="ARN",type=string,JSONPath=`.status.taskDefinitionArn`,priority=1
type TaskDefinition struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec TaskDefinitionSpec `json:"spec"`
	// +optional
	Status TaskDefinitionStatus `json:"status,omitempty"`
}

// TaskDefinitionList is a list of TaskDefinitions.
//
// +kubebuilder:object:root=true
type TaskDefinitionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TaskDefinition `json:"items"`
}

// FamilyName is spec.family, or metadata.name.
func (t *TaskDefinition) FamilyName() string {
	if t.Spec.Family != "" {
		return t.Spec.Family
	}
	return t.Name
}
