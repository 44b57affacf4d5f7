package v1alpha1

// The RegisterTaskDefinition members beyond the core ones of taskdefinition_types.go: what users
// come to Fargate for (private registries, log routing, kernel parameters, App Mesh, EFS). Each is
// spelled and shaped as the ECS API reference spells it (RegisterTaskDefinition,
// ContainerDefinition, Volume); members_test.go walks the ECS model and fails on a member that is
// neither here nor listed there as not carried, with the reason. Each is honoured by the local
// data plane or refused there by name (docs/ecs-members.md).

// TaskDefinitionMembers is embedded in TaskDefinitionSpec.
type TaskDefinitionMembers struct {
	// ProxyConfiguration of an App Mesh proxy (ECS API reference, ProxyConfiguration). The local
	// data plane refuses it by name: it has no App Mesh.
	// +optional
	ProxyConfiguration *ProxyConfiguration `json:"proxyConfiguration,omitempty"`
	// PlacementConstraints of the task definition: memberOf expressions in the cluster query
	// language (ECS API reference, TaskDefinitionPlacementConstraint), at most 10. Fargate does
	// not support them, and neither does the local data plane: both refuse them.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	PlacementConstraints []TaskDefinitionPlacementConstraint `json:"placementConstraints,omitempty"`
}

// ContainerMembers is embedded in ContainerDefinition.
type ContainerMembers struct {
	// RepositoryCredentials of a private registry: the ARN or name of a Secrets Manager secret
	// holding {"username": ..., "password": ...} (ECS API reference, RepositoryCredentials). The
	// task's executionRoleArn must be allowed to read it on AWS; the local data plane reads it
	// from its own secret store and pulls the image with it.
	// +optional
	RepositoryCredentials *RepositoryCredentials `json:"repositoryCredentials,omitempty"`
	// FirelensConfiguration makes this container the task's FireLens log router (ECS API
	// reference, FirelensConfiguration). The local data plane refuses it by name: it routes every
	// container's output to its own log files.
	// +optional
	FirelensConfiguration *FirelensConfiguration `json:"firelensConfiguration,omitempty"`
	// LinuxParameters of the container (ECS API reference, LinuxParameters): the members Fargate
	// supports. Fargate does not support devices, sharedMemorySize, tmpfs, maxSwap and swappiness,
	// so they are not carried.
	// +optional
	LinuxParameters *LinuxParameters `json:"linuxParameters,omitempty"`
	// Ulimits of the container's processes (ECS API reference, Ulimit), one per name. Fargate
	// sets nofile to 65535/65535 unless a ulimit says otherwise.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=15
	// +optional
	Ulimits []Ulimit `json:"ulimits,omitempty"`
	// SystemControls: namespaced kernel parameters of the container (ECS API reference,
	// SystemControl); on Fargate only net.* ones in awsvpc, shared by the task's containers. The
	// local data plane refuses them by name.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	SystemControls []SystemControl `json:"systemControls,omitempty"`
	// EnvironmentFiles: S3 objects of VAR=value lines added to the environment (ECS API reference,
	// EnvironmentFile), at most 10. The local data plane refuses them by name (no S3).
	// +kubebuilder:validation:MaxItems=10
	// +optional
	EnvironmentFiles []EnvironmentFile `json:"environmentFiles,omitempty"`
	// RestartPolicy restarts the container in its task when it exits (ECS API reference,
	// ContainerRestartPolicy).
	// +optional
	RestartPolicy *ContainerRestartPolicy `json:"restartPolicy,omitempty"`
	// Interactive keeps the container's stdin open (docker run -i).
	// +optional
	Interactive *bool `json:"interactive,omitempty"`
	// PseudoTerminal gives the container a terminal (docker run -t).
	// +optional
	PseudoTerminal *bool `json:"pseudoTerminal,omitempty"`
}

// SystemControl is a namespaced kernel parameter.
type SystemControl struct {
	// Namespace: the parameter, e.g. net.ipv4.tcp_keepalive_time.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Value string `json:"value,omitempty"`
}

// EnvironmentFile is an S3 object holding environment variables.
type EnvironmentFile struct {
	// Value: the S3 object's ARN.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Value string `json:"value"`
	// Type: s3, the only one ECS supports.
	// +kubebuilder:validation:Enum=s3
	Type string `json:"type"`
}

// ContainerRestartPolicy restarts an exited container within its task.
type ContainerRestartPolicy struct {
	// Enabled turns restarts on.
	Enabled bool `json:"enabled"`
	// IgnoredExitCodes: exit codes that do not restart the container, at most 50.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	IgnoredExitCodes []int32 `json:"ignoredExitCodes,omitempty"`
	// RestartAttemptPeriod in seconds (60-1800, default 300) a container must run before it can
	// be restarted again.
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=1800
	// +optional
	RestartAttemptPeriod *int32 `json:"restartAttemptPeriod,omitempty"`
}

// VolumeMembers is embedded in Volume.
type VolumeMembers struct {
	// EfsVolumeConfiguration mounts an Amazon EFS file system (ECS API reference,
	// EFSVolumeConfiguration). The local data plane refuses it by name: it has no EFS, and a
	// local directory standing in for a shared file system would not be shared with AWS.
	// +optional
	EfsVolumeConfiguration *EFSVolumeConfiguration `json:"efsVolumeConfiguration,omitempty"`
}

// ProxyConfiguration configures an App Mesh proxy container.
type ProxyConfiguration struct {
	// Type of proxy; the only value ECS supports is APPMESH.
	// +kubebuilder:validation:Enum=APPMESH
	// +optional
	Type string `json:"type,omitempty"`
	// ContainerName of the container that serves as the proxy.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ContainerName string `json:"containerName"`
	// Properties for the CNI plugin as name/value pairs: IgnoredUID, IgnoredGID, AppPorts,
	// ProxyIngressPort, ProxyEgressPort, EgressIgnoredPorts, EgressIgnoredIPs.
	// +listType=map
	// +listMapKey=name
	// +optional
	Properties []KeyValuePair `json:"properties,omitempty"`
}

// TaskDefinitionPlacementConstraint constrains where tasks of the definition are placed.
type TaskDefinitionPlacementConstraint struct {
	// Type of the constraint: memberOf.
	// +kubebuilder:validation:Enum=memberOf
	// +optional
	Type string `json:"type,omitempty"`
	// Expression in the cluster query language, at most 2000 characters.
	// +kubebuilder:validation:MaxLength=2000
	// +optional
	Expression string `json:"expression,omitempty"`
}

// RepositoryCredentials name the secret holding a private registry's credentials.
type RepositoryCredentials struct {
	// CredentialsParameter is the ARN (or, in the same account and Region, the name) of the
	// Secrets Manager secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	CredentialsParameter string `json:"credentialsParameter"`
}

// FirelensConfiguration of a FireLens log router container.
type FirelensConfiguration struct {
	// Type of the log router: fluentd or fluentbit.
	// +kubebuilder:validation:Enum=fluentd;fluentbit
	Type string `json:"type"`
	// Options of the log router, e.g. enable-ecs-log-metadata, config-file-type, config-file-value.
	// +optional
	Options map[string]string `json:"options,omitempty"`
}

// LinuxParameters are the Linux-specific options of a container that Fargate supports.
type LinuxParameters struct {
	// Capabilities added to or dropped from the container's default set.
	// +optional
	Capabilities *KernelCapabilities `json:"capabilities,omitempty"`
	// InitProcessEnabled runs an init process as PID 1 of the container that forwards signals and
	// reaps zombies (docker run --init).
	// +optional
	InitProcessEnabled *bool `json:"initProcessEnabled,omitempty"`

	// The members nodeless refuses by name (refused_types.go).
	LinuxParametersRefused `json:",inline"`
}

// KernelCapabilities added to or dropped from a container's default capabilities, spelled without
// the CAP_ prefix ("SYS_PTRACE"). Fargate only supports adding SYS_PTRACE (ECS API reference,
// KernelCapabilities); the local data plane refuses the others by name as Fargate does.
type KernelCapabilities struct {
	// +kubebuilder:validation:MaxItems=40
	// +kubebuilder:validation:items:Enum=ALL;AUDIT_CONTROL;AUDIT_WRITE;BLOCK_SUSPEND;CHOWN;DAC_OVERRIDE;DAC_READ_SEARCH;FOWNER;FSETID;IPC_LOCK;IPC_OWNER;KILL;LEASE;LINUX_IMMUTABLE;MAC_ADMIN;MAC_OVERRIDE;MKNOD;NET_ADMIN;NET_BIND_SERVICE;NET_BROADCAST;NET_RAW;SETFCAP;SETGID;SETPCAP;SETUID;SYS_ADMIN;SYS_BOOT;SYS_CHROOT;SYS_MODULE;SYS_NICE;SYS_PACCT;SYS_PTRACE;SYS_RAWIO;SYS_RESOURCE;SYS_TIME;SYS_TTY_CONFIG;SYSLOG;WAKE_ALARM
	// +listType=set
	// +optional
	Add []string `json:"add,omitempty"`
	// +kubebuilder:validation:MaxItems=40
	// +kubebuilder:validation:items:Enum=ALL;AUDIT_CONTROL;AUDIT_WRITE;BLOCK_SUSPEND;CHOWN;DAC_OVERRIDE;DAC_READ_SEARCH;FOWNER;FSETID;IPC_LOCK;IPC_OWNER;KILL;LEASE;LINUX_IMMUTABLE;MAC_ADMIN;MAC_OVERRIDE;MKNOD;NET_ADMIN;NET_BIND_SERVICE;NET_BROADCAST;NET_RAW;SETFCAP;SETGID;SETPCAP;SETUID;SYS_ADMIN;SYS_BOOT;SYS_CHROOT;SYS_MODULE;SYS_NICE;SYS_PACCT;SYS_PTRACE;SYS_RAWIO;SYS_RESOURCE;SYS_TIME;SYS_TTY_CONFIG;SYSLOG;WAKE_ALARM
	// +listType=set
	// +optional
	Drop []string `json:"drop,omitempty"`
}

// Ulimit is a resource limit of a container's processes; values are bytes, seconds or counts as
// the limit's name says (setrlimit(2)).
type Ulimit struct {
	// +kubebuilder:validation:Enum=core;cpu;data;fsize;locks;memlock;msgqueue;nice;nofile;nproc;rss;rtprio;rttime;sigpending;stack
	Name string `json:"name"`
	// +kubebuilder:validation:Minimum=0
	SoftLimit int32 `json:"softLimit"`
	// +kubebuilder:validation:Minimum=0
	HardLimit int32 `json:"hardLimit"`
}

// EFSVolumeConfiguration of an Amazon EFS volume.
//
// +kubebuilder:validation:XValidation:rule="has(self.fileSystemId) || has(self.fileSystemID)",reason=FieldValueRequired,message="fileSystemId is required: the EFS file system's ID"
type EFSVolumeConfiguration struct {
	// The spellings of AWS's ECS controller for Kubernetes (members_aliases.go).
	EFSVolumeConfigurationAliases `json:",inline"`

	// FileSystemId of the EFS file system, e.g. fs-12345678 (required; fileSystemID, its
	// alias, may stand in for it).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +optional
	FileSystemId string `json:"fileSystemId,omitempty"`
	// RootDirectory of the file system mounted as the volume's root (default /); must be omitted
	// or / with an access point.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	RootDirectory string `json:"rootDirectory,omitempty"`
	// TransitEncryption between the task and the EFS server (ENABLED is required with IAM
	// authorization).
	// +kubebuilder:validation:Enum=ENABLED;DISABLED
	// +optional
	TransitEncryption string `json:"transitEncryption,omitempty"`
	// TransitEncryptionPort used with transit encryption.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	TransitEncryptionPort *int32 `json:"transitEncryptionPort,omitempty"`
	// +optional
	AuthorizationConfig *EFSAuthorizationConfig `json:"authorizationConfig,omitempty"`
}

// EFSAuthorizationConfig of an EFS volume.
type EFSAuthorizationConfig struct {
	// The spellings of AWS's ECS controller for Kubernetes (members_aliases.go).
	EFSAuthorizationConfigAliases `json:",inline"`

	// AccessPointId of an EFS access point.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	AccessPointId string `json:"accessPointId,omitempty"`
	// IAM: whether the task role is used when mounting.
	// +kubebuilder:validation:Enum=ENABLED;DISABLED
	// +optional
	IAM string `json:"iam,omitempty"`
}
