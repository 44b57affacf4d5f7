package model

// Enum values used by the data plane, as the ECS API model spells them.
const (
	StatusActive   = "ACTIVE"
	StatusInactive = "INACTIVE"
	StatusDraining = "DRAINING"

	TaskStatusProvisioning   = "PROVISIONING"
	TaskStatusPending        = "PENDING"
	TaskStatusActivating     = "ACTIVATING"
	TaskStatusRunning        = "RUNNING"
	TaskStatusDeactivating   = "DEACTIVATING"
	TaskStatusStopping       = "STOPPING"
	TaskStatusDeprovisioning = "DEPROVISIONING"
	TaskStatusStopped        = "STOPPED"

	StopCodeTaskFailedToStart         = "TaskFailedToStart"
	StopCodeEssentialContainerExited  = "EssentialContainerExited"
	StopCodeUserInitiated             = "UserInitiated"
	StopCodeServiceSchedulerInitiated = "ServiceSchedulerInitiated"
	StopCodeSpotInterruption          = "SpotInterruption"
	StopCodeTerminationNotice         = "TerminationNotice"

	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthUnknown   = "UNKNOWN"

	DeploymentPrimary  = "PRIMARY"
	DeploymentActive   = "ACTIVE"
	DeploymentInactive = "INACTIVE"

	RolloutInProgress = "IN_PROGRESS"
	RolloutCompleted  = "COMPLETED"
	RolloutFailed     = "FAILED"

	LaunchTypeFargate = "FARGATE"
	NetworkModeAwsvpc = "awsvpc"

	// AttachmentTypeENI is the type of a task's network interface attachment (awsvpc).
	AttachmentTypeENI = "ElasticNetworkInterface"

	AttachmentPrecreated = "PRECREATED"
	AttachmentAttached   = "ATTACHED"
	AttachmentDetaching  = "DETACHING"
	AttachmentDeleted    = "DELETED"

	DependsOnStart    = "START"
	DependsOnComplete = "COMPLETE"
	DependsOnSuccess  = "SUCCESS"
	DependsOnHealthy  = "HEALTHY"
)

// Tag is a resource tag.
type Tag struct {
	Key   *string `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
}

// KeyValuePair is an environment variable or a setting.
type KeyValuePair struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// ClusterSetting is a cluster setting (containerInsights).
type ClusterSetting struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// Cluster is an ECS cluster.
type Cluster struct {
	ClusterArn                        string           `json:"clusterArn"`
	ClusterName                       string           `json:"clusterName"`
	Status                            string           `json:"status"`
	RegisteredContainerInstancesCount int32            `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int32            `json:"runningTasksCount"`
	PendingTasksCount                 int32            `json:"pendingTasksCount"`
	ActiveServicesCount               int32            `json:"activeServicesCount"`
	Settings                          []ClusterSetting `json:"settings,omitempty"`
	CapacityProviders                 []string         `json:"capacityProviders,omitempty"`
	// DefaultCapacityProviderStrategy places the tasks of RunTask and CreateService calls that
	// give neither a strategy nor a launch type.
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy,omitempty"`
	Tags                            []Tag                          `json:"tags,omitempty"`
}

// PortMapping maps a container port; in awsvpc mode hostPort equals containerPort.
type PortMapping struct {
	ContainerPort *int32  `json:"containerPort,omitempty"`
	HostPort      *int32  `json:"hostPort,omitempty"`
	Protocol      *string `json:"protocol,omitempty"`
	Name          *string `json:"name,omitempty"`
	AppProtocol   *string `json:"appProtocol,omitempty"`
}

// HealthCheck is a container health check: command runs inside the container.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    *int32   `json:"interval,omitempty"`
	Timeout     *int32   `json:"timeout,omitempty"`
	Retries     *int32   `json:"retries,omitempty"`
	StartPeriod *int32   `json:"startPeriod,omitempty"`
}

// ContainerDependency orders container start-up within a task.
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// MountPoint mounts a task volume into a container.
type MountPoint struct {
	SourceVolume  *string `json:"sourceVolume,omitempty"`
	ContainerPath *string `json:"containerPath,omitempty"`
	ReadOnly      *bool   `json:"readOnly,omitempty"`
}

// Secret is an environment variable whose value comes from a secret store.
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// LogConfiguration is accepted and kept; the local data plane always logs to files.
type LogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options,omitempty"`
	// SecretOptions are resolved when the task starts (an unreadable one fails it, as on ECS);
	// their values go nowhere, since every container's output goes to the local log files.
	SecretOptions []Secret `json:"secretOptions,omitempty"`
}

// Ulimit is a resource limit for a container.
type Ulimit struct {
	Name      string `json:"name"`
	SoftLimit int32  `json:"softLimit"`
	HardLimit int32  `json:"hardLimit"`
}

// ContainerDefinition describes one container of a task definition.
type ContainerDefinition struct {
	Name                   *string                 `json:"name,omitempty"`
	Image                  *string                 `json:"image,omitempty"`
	Cpu                    int32                   `json:"cpu"`
	Memory                 *int32                  `json:"memory,omitempty"`
	MemoryReservation      *int32                  `json:"memoryReservation,omitempty"`
	Essential              *bool                   `json:"essential,omitempty"`
	EntryPoint             []string                `json:"entryPoint,omitempty"`
	Command                []string                `json:"command,omitempty"`
	Environment            []KeyValuePair          `json:"environment"`
	Secrets                []Secret                `json:"secrets,omitempty"`
	WorkingDirectory       *string                 `json:"workingDirectory,omitempty"`
	PortMappings           []PortMapping           `json:"portMappings"`
	HealthCheck            *HealthCheck            `json:"healthCheck,omitempty"`
	DependsOn              []ContainerDependency   `json:"dependsOn,omitempty"`
	StartTimeout           *int32                  `json:"startTimeout,omitempty"`
	StopTimeout            *int32                  `json:"stopTimeout,omitempty"`
	MountPoints            []MountPoint            `json:"mountPoints"`
	VolumesFrom            []any                   `json:"volumesFrom"`
	User                   *string                 `json:"user,omitempty"`
	Hostname               *string                 `json:"hostname,omitempty"`
	ReadonlyRootFilesystem *bool                   `json:"readonlyRootFilesystem,omitempty"`
	LogConfiguration       *LogConfiguration       `json:"logConfiguration,omitempty"`
	Ulimits                []Ulimit                `json:"ulimits,omitempty"`
	DockerLabels           map[string]string       `json:"dockerLabels,omitempty"`
	Privileged             *bool                   `json:"privileged,omitempty"`
	RestartPolicy          *ContainerRestartPolicy `json:"restartPolicy,omitempty"`
	// LinuxParameters and RepositoryCredentials: see members.go.
	LinuxParameters       *LinuxParameters       `json:"linuxParameters,omitempty"`
	RepositoryCredentials *RepositoryCredentials `json:"repositoryCredentials,omitempty"`
	// Interactive keeps the container's standard input open (docker run -i) until an attach
	// ends it (Kubernetes stdinOnce); PseudoTerminal gives the container a terminal (docker run
	// -t). The runtime gives such containers FIFOs and copies their output into the log
	// (runtime/stdio.go).
	Interactive    *bool `json:"interactive,omitempty"`
	PseudoTerminal *bool `json:"pseudoTerminal,omitempty"`
}

// ContainerRestartPolicy asks ECS to restart an exited container inside its task, once it ran
// RestartAttemptPeriod seconds (60 to 1800, default 300) and unless its exit code is one of
// IgnoredExitCodes (at most 50). The local data plane accepts and reports it but restarts no
// container inside a task: an essential container's exit stops the task, as ECS does for an exit
// within the restart attempt period. The virtual node re-runs a Pod's stopped task with the
// kubelet's back-off (ADR 0005, "Restarts"), so Pods restart either way.
type ContainerRestartPolicy struct {
	Enabled              *bool   `json:"enabled,omitempty"`
	IgnoredExitCodes     []int32 `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod *int32  `json:"restartAttemptPeriod,omitempty"`
}

// Volume is a task volume; without a host it is ephemeral (bind-mounted scratch space per task).
type Volume struct {
	Name *string `json:"name,omitempty"`
}

// RuntimePlatform names the OS and CPU architecture.
type RuntimePlatform struct {
	CpuArchitecture       *string `json:"cpuArchitecture,omitempty"`
	OperatingSystemFamily *string `json:"operatingSystemFamily,omitempty"`
}

// EphemeralStorage sizes the task's scratch space (GiB).
type EphemeralStorage struct {
	SizeInGiB int32 `json:"sizeInGiB"`
}

// Attribute is a placement attribute a task definition requires.
type Attribute struct {
	Name  string  `json:"name"`
	Value *string `json:"value,omitempty"`
}

// TaskDefinition is one immutable revision of a family.
type TaskDefinition struct {
	TaskDefinitionArn       string                `json:"taskDefinitionArn"`
	Family                  string                `json:"family"`
	Revision                int32                 `json:"revision"`
	Status                  string                `json:"status"`
	ContainerDefinitions    []ContainerDefinition `json:"containerDefinitions"`
	Cpu                     *string               `json:"cpu,omitempty"`
	Memory                  *string               `json:"memory,omitempty"`
	NetworkMode             *string               `json:"networkMode,omitempty"`
	RequiresCompatibilities []string              `json:"requiresCompatibilities,omitempty"`
	Compatibilities         []string              `json:"compatibilities,omitempty"`
	RequiresAttributes      []Attribute           `json:"requiresAttributes,omitempty"`
	ExecutionRoleArn        *string               `json:"executionRoleArn,omitempty"`
	TaskRoleArn             *string               `json:"taskRoleArn,omitempty"`
	Volumes                 []Volume              `json:"volumes"`
	PlacementConstraints    []any                 `json:"placementConstraints"`
	RuntimePlatform         *RuntimePlatform      `json:"runtimePlatform,omitempty"`
	EphemeralStorage        *EphemeralStorage     `json:"ephemeralStorage,omitempty"`
	PidMode                 *string               `json:"pidMode,omitempty"`
	IpcMode                 *string               `json:"ipcMode,omitempty"`
	RegisteredAt            *Time                 `json:"registeredAt,omitempty"`
	DeregisteredAt          *Time                 `json:"deregisteredAt,omitempty"`
	RegisteredBy            *string               `json:"registeredBy,omitempty"`
}

// NetworkBinding is where a container port is reachable on the host (127.0.0.1 locally).
type NetworkBinding struct {
	BindIP        *string `json:"bindIP,omitempty"`
	ContainerPort *int32  `json:"containerPort,omitempty"`
	HostPort      *int32  `json:"hostPort,omitempty"`
	Protocol      *string `json:"protocol,omitempty"`
}

// Attachment is a task's attachment; locally only its network interface in the VPC (type
// ElasticNetworkInterface), whose details are subnetId, networkInterfaceId, macAddress,
// privateDnsName and privateIPv4Address.
type Attachment struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Details []KeyValuePair `json:"details"`
}

// NetworkInterface is a task's network interface.
type NetworkInterface struct {
	AttachmentID       *string `json:"attachmentId,omitempty"`
	PrivateIpv4Address *string `json:"privateIpv4Address,omitempty"`
}

// Container is the state of one container of a task.
type Container struct {
	ContainerArn      string             `json:"containerArn"`
	TaskArn           string             `json:"taskArn"`
	Name              string             `json:"name"`
	Image             *string            `json:"image,omitempty"`
	ImageDigest       *string            `json:"imageDigest,omitempty"`
	RuntimeID         *string            `json:"runtimeId,omitempty"`
	LastStatus        string             `json:"lastStatus"`
	ExitCode          *int32             `json:"exitCode,omitempty"`
	Reason            *string            `json:"reason,omitempty"`
	NetworkBindings   []NetworkBinding   `json:"networkBindings"`
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces"`
	HealthStatus      string             `json:"healthStatus,omitempty"`
	Cpu               *string            `json:"cpu,omitempty"`
	Memory            *string            `json:"memory,omitempty"`
}

// ContainerOverride overrides a container definition for one task.
type ContainerOverride struct {
	Name        *string        `json:"name,omitempty"`
	Command     []string       `json:"command,omitempty"`
	Environment []KeyValuePair `json:"environment,omitempty"`
	Cpu         *int32         `json:"cpu,omitempty"`
	Memory      *int32         `json:"memory,omitempty"`
}

// TaskOverride overrides a task definition for one task.
type TaskOverride struct {
	ContainerOverrides []ContainerOverride `json:"containerOverrides"`
	Cpu                *string             `json:"cpu,omitempty"`
	Memory             *string             `json:"memory,omitempty"`
	ExecutionRoleArn   *string             `json:"executionRoleArn,omitempty"`
	TaskRoleArn        *string             `json:"taskRoleArn,omitempty"`
}

// Task is one run of a task definition.
type Task struct {
	TaskArn              string        `json:"taskArn"`
	ClusterArn           string        `json:"clusterArn"`
	TaskDefinitionArn    string        `json:"taskDefinitionArn"`
	Attachments          []Attachment  `json:"attachments,omitempty"`
	Group                *string       `json:"group,omitempty"`
	StartedBy            *string       `json:"startedBy,omitempty"`
	LastStatus           string        `json:"lastStatus"`
	DesiredStatus        string        `json:"desiredStatus"`
	Version              int64         `json:"version"`
	LaunchType           string        `json:"launchType,omitempty"`
	PlatformVersion      *string       `json:"platformVersion,omitempty"`
	Cpu                  *string       `json:"cpu,omitempty"`
	Memory               *string       `json:"memory,omitempty"`
	Containers           []Container   `json:"containers"`
	Overrides            *TaskOverride `json:"overrides,omitempty"`
	HealthStatus         string        `json:"healthStatus,omitempty"`
	Connectivity         *string       `json:"connectivity,omitempty"`
	ConnectivityAt       *Time         `json:"connectivityAt,omitempty"`
	CreatedAt            *Time         `json:"createdAt,omitempty"`
	PullStartedAt        *Time         `json:"pullStartedAt,omitempty"`
	PullStoppedAt        *Time         `json:"pullStoppedAt,omitempty"`
	StartedAt            *Time         `json:"startedAt,omitempty"`
	StoppingAt           *Time         `json:"stoppingAt,omitempty"`
	StoppedAt            *Time         `json:"stoppedAt,omitempty"`
	ExecutionStoppedAt   *Time         `json:"executionStoppedAt,omitempty"`
	StopCode             *string       `json:"stopCode,omitempty"`
	StoppedReason        *string       `json:"stoppedReason,omitempty"`
	AvailabilityZone     *string       `json:"availabilityZone,omitempty"`
	EnableExecuteCommand bool          `json:"enableExecuteCommand"`
	Tags                 []Tag         `json:"tags,omitempty"`
	// CapacityProviderName: the provider a capacity provider strategy placed the task on.
	CapacityProviderName *string `json:"capacityProviderName,omitempty"`
}

// DeploymentCircuitBreaker stops (and optionally rolls back) a deployment whose tasks keep failing.
type DeploymentCircuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// DeploymentConfiguration bounds a rolling deployment.
type DeploymentConfiguration struct {
	DeploymentCircuitBreaker *DeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent           *int32                    `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int32                    `json:"minimumHealthyPercent,omitempty"`
	// Alarms are accepted turned off only: there is no CloudWatch locally (api.checkAlarms).
	Alarms *DeploymentAlarms `json:"alarms,omitempty"`
}

// DeploymentController names the deployment controller type (ECS only, locally).
type DeploymentController struct {
	Type string `json:"type"`
}

// AwsVpcConfiguration is accepted and echoed. Locally every task joins the one subnet of the local
// VPC: the first of Subnets is reported as its ENI's subnetId, and SecurityGroups are recorded but
// not enforced (every task reaches every other).
type AwsVpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP *string  `json:"assignPublicIp,omitempty"`
}

// NetworkConfiguration wraps the awsvpc configuration.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// LoadBalancer attaches a service's container port to a target group or a local listener.
type LoadBalancer struct {
	TargetGroupArn   *string `json:"targetGroupArn,omitempty"`
	LoadBalancerName *string `json:"loadBalancerName,omitempty"`
	ContainerName    *string `json:"containerName,omitempty"`
	ContainerPort    *int32  `json:"containerPort,omitempty"`
}

// Deployment is one rollout generation of a service.
type Deployment struct {
	ID                   string                `json:"id"`
	Status               string                `json:"status"`
	TaskDefinition       string                `json:"taskDefinition"`
	DesiredCount         int32                 `json:"desiredCount"`
	PendingCount         int32                 `json:"pendingCount"`
	RunningCount         int32                 `json:"runningCount"`
	FailedTasks          int32                 `json:"failedTasks"`
	CreatedAt            *Time                 `json:"createdAt,omitempty"`
	UpdatedAt            *Time                 `json:"updatedAt,omitempty"`
	LaunchType           string                `json:"launchType,omitempty"`
	PlatformVersion      *string               `json:"platformVersion,omitempty"`
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	RolloutState         string                `json:"rolloutState,omitempty"`
	RolloutStateReason   *string               `json:"rolloutStateReason,omitempty"`
	// CapacityProviderStrategy its tasks are placed by (none: launchType FARGATE).
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	// ServiceConnectConfiguration and ServiceConnectResources: see registries.go.
	ServiceConnectConfiguration *ServiceConnectConfiguration    `json:"serviceConnectConfiguration,omitempty"`
	ServiceConnectResources     []ServiceConnectServiceResource `json:"serviceConnectResources,omitempty"`
}

// ServiceEvent is a message the service scheduler records about a service (newest first, bounded).
type ServiceEvent struct {
	ID        string `json:"id"`
	CreatedAt *Time  `json:"createdAt,omitempty"`
	Message   string `json:"message"`
}

// Service keeps desiredCount tasks of a task definition running.
type Service struct {
	ServiceArn                    string                   `json:"serviceArn"`
	ServiceName                   string                   `json:"serviceName"`
	ClusterArn                    string                   `json:"clusterArn"`
	Status                        string                   `json:"status"`
	DesiredCount                  int32                    `json:"desiredCount"`
	RunningCount                  int32                    `json:"runningCount"`
	PendingCount                  int32                    `json:"pendingCount"`
	LaunchType                    string                   `json:"launchType,omitempty"`
	PlatformVersion               *string                  `json:"platformVersion,omitempty"`
	TaskDefinition                string                   `json:"taskDefinition"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	Deployments                   []Deployment             `json:"deployments"`
	Events                        []ServiceEvent           `json:"events"`
	CreatedAt                     *Time                    `json:"createdAt,omitempty"`
	CreatedBy                     *string                  `json:"createdBy,omitempty"`
	LoadBalancers                 []LoadBalancer           `json:"loadBalancers"`
	ServiceRegistries             []ServiceRegistry        `json:"serviceRegistries"`
	NetworkConfiguration          *NetworkConfiguration    `json:"networkConfiguration,omitempty"`
	SchedulingStrategy            string                   `json:"schedulingStrategy,omitempty"`
	DeploymentController          *DeploymentController    `json:"deploymentController,omitempty"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds,omitempty"`
	EnableECSManagedTags          bool                     `json:"enableECSManagedTags"`
	EnableExecuteCommand          bool                     `json:"enableExecuteCommand"`
	PropagateTags                 *string                  `json:"propagateTags,omitempty"`
	// CapacityProviderStrategy its tasks are placed by (none: launchType FARGATE).
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	Tags                     []Tag                          `json:"tags,omitempty"`
}
