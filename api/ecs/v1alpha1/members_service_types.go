package v1alpha1

// The CreateService / UpdateService and RunTask members beyond the core ones of service_types.go
// and task_types.go: capacity providers (FARGATE_SPOT), placement, service discovery, Service
// Connect, the deployment controller and deployment alarms. Spelled and shaped as the ECS API
// reference spells them; members_test.go holds them to the ECS model.

// ServiceMembers is embedded in ServiceSpec.
//
// +kubebuilder:validation:XValidation:rule="!has(self.capacityProviderStrategy) || size(self.capacityProviderStrategy) == 0 || !has(self.launchType)",message="set at most one of launchType and capacityProviderStrategy: ECS does not support both"
// +kubebuilder:validation:XValidation:rule="!has(self.capacityProviderStrategy) || self.capacityProviderStrategy.filter(i, has(i.base) && i.base > 0).size() <= 1",message="capacityProviderStrategy: only one capacity provider can have a base"
// +kubebuilder:validation:XValidation:rule="!has(self.capacityProviderStrategy) || size(self.capacityProviderStrategy) == 0 || self.capacityProviderStrategy.exists(i, has(i.weight) && i.weight > 0)",message="capacityProviderStrategy: at least one capacity provider must have a weight greater than 0"
type ServiceMembers struct {
	// CapacityProviderStrategy of the service's tasks: FARGATE and FARGATE_SPOT on Fargate (ECS
	// API reference, CapacityProviderStrategyItem), at most 20 providers. Without it and without
	// launchType, the cluster's defaultCapacityProviderStrategy applies. It cannot be set with
	// launchType. ECS changes it in place (UpdateService, no new deployment): tasks started
	// afterwards follow it.
	// +listType=map
	// +listMapKey=capacityProvider
	// +kubebuilder:validation:MaxItems=20
	// +optional
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	// PlacementConstraints of the service's tasks, at most 10 (ECS API reference,
	// PlacementConstraint). Fargate does not support them: ECS and the local data plane refuse them.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	PlacementConstraints []PlacementConstraint `json:"placementConstraints,omitempty"`
	// PlacementStrategy of the service's tasks, at most 5 rules (ECS API reference,
	// PlacementStrategy). Fargate does not support it: ECS and the local data plane refuse it.
	// +kubebuilder:validation:MaxItems=5
	// +optional
	PlacementStrategy []PlacementStrategy `json:"placementStrategy,omitempty"`
	// ServiceRegistries register the service's tasks in AWS Cloud Map (ECS API reference,
	// ServiceRegistry). A change starts a new deployment. On the local data plane the registry is
	// a service of its own Cloud Map, whose names its DNS server answers
	// (docs/adr/0016-cloud-map-locally.md).
	// +kubebuilder:validation:MaxItems=1
	// +optional
	ServiceRegistries []ServiceRegistry `json:"serviceRegistries,omitempty"`
	// ServiceConnectConfiguration of the service (ECS API reference, ServiceConnectConfiguration).
	// A change starts a new deployment. The local data plane gives each client alias a virtual
	// address where its proxy forwards the alias's port to a healthy task's container port (tls,
	// timeout, ingressPortOverride and the proxy's logs are refused by name;
	// docs/adr/0016-cloud-map-locally.md).
	// +optional
	ServiceConnectConfiguration *ServiceConnectConfiguration `json:"serviceConnectConfiguration,omitempty"`
	// DeploymentController of the service: ECS (rolling updates, the default), CODE_DEPLOY or
	// EXTERNAL. The local data plane runs ECS and refuses the others by name.
	// +optional
	DeploymentController *DeploymentController `json:"deploymentController,omitempty"`
}

// TaskMembers is embedded in TaskSpec: RunTask members beyond the core ones. None can change once
// the task is started.
//
// +kubebuilder:validation:XValidation:rule="!has(self.capacityProviderStrategy) || size(self.capacityProviderStrategy) == 0 || !has(self.launchType)",message="set at most one of launchType and capacityProviderStrategy: ECS does not support both"
// +kubebuilder:validation:XValidation:rule="!has(self.capacityProviderStrategy) || self.capacityProviderStrategy.filter(i, has(i.base) && i.base > 0).size() <= 1",message="capacityProviderStrategy: only one capacity provider can have a base"
// +kubebuilder:validation:XValidation:rule="!has(self.capacityProviderStrategy) || size(self.capacityProviderStrategy) == 0 || self.capacityProviderStrategy.exists(i, has(i.weight) && i.weight > 0)",message="capacityProviderStrategy: at least one capacity provider must have a weight greater than 0"
// +kubebuilder:validation:XValidation:rule="has(self.capacityProviderStrategy) == has(oldSelf.capacityProviderStrategy) && (!has(self.capacityProviderStrategy) || self.capacityProviderStrategy == oldSelf.capacityProviderStrategy)",message="capacityProviderStrategy cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.placementConstraints) == has(oldSelf.placementConstraints) && (!has(self.placementConstraints) || self.placementConstraints == oldSelf.placementConstraints)",message="placementConstraints cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.placementStrategy) == has(oldSelf.placementStrategy) && (!has(self.placementStrategy) || self.placementStrategy == oldSelf.placementStrategy)",message="placementStrategy cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.enableExecuteCommand) == has(oldSelf.enableExecuteCommand) && (!has(self.enableExecuteCommand) || self.enableExecuteCommand == oldSelf.enableExecuteCommand)",message="enableExecuteCommand cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.enableECSManagedTags) == has(oldSelf.enableECSManagedTags) && (!has(self.enableECSManagedTags) || self.enableECSManagedTags == oldSelf.enableECSManagedTags)",message="enableECSManagedTags cannot change: ECS cannot change a started task; delete the Task and create a new one"
// +kubebuilder:validation:XValidation:rule="has(self.propagateTags) == has(oldSelf.propagateTags) && (!has(self.propagateTags) || self.propagateTags == oldSelf.propagateTags)",message="propagateTags cannot change: ECS cannot change a started task; delete the Task and create a new one"
type TaskMembers struct {
	// CapacityProviderStrategy of the task: FARGATE or FARGATE_SPOT (the task reports the one it
	// ran on as capacityProviderName). It cannot be set with launchType.
	// +listType=map
	// +listMapKey=capacityProvider
	// +kubebuilder:validation:MaxItems=20
	// +optional
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	// PlacementConstraints of the task, at most 10; refused on Fargate.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	PlacementConstraints []PlacementConstraint `json:"placementConstraints,omitempty"`
	// PlacementStrategy of the task, at most 5 rules; refused on Fargate.
	// +kubebuilder:validation:MaxItems=5
	// +optional
	PlacementStrategy []PlacementStrategy `json:"placementStrategy,omitempty"`
	// EnableExecuteCommand lets ExecuteCommand open sessions into the task's containers.
	// +optional
	EnableExecuteCommand *bool `json:"enableExecuteCommand,omitempty"`
	// EnableECSManagedTags adds the aws:ecs:clusterName tag to the task.
	// +optional
	EnableECSManagedTags *bool `json:"enableECSManagedTags,omitempty"`
	// PropagateTags copies the task definition's tags to the task (TASK_DEFINITION).
	// +kubebuilder:validation:Enum=TASK_DEFINITION;SERVICE;NONE
	// +optional
	PropagateTags string `json:"propagateTags,omitempty"`
}

// CapacityProviderStrategyItem is one capacity provider of a strategy. Tasks are placed first to
// satisfy base (on the one provider that sets it), then in proportion to weight.
type CapacityProviderStrategyItem struct {
	// CapacityProvider is the provider's short name: FARGATE or FARGATE_SPOT on Fargate, or an
	// Auto Scaling group capacity provider.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	CapacityProvider string `json:"capacityProvider"`
	// Weight: the relative share of tasks placed on this provider after base is met (0-1000,
	// default 0; a provider of weight 0 gets no task beyond base).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Weight *int32 `json:"weight,omitempty"`
	// Base: how many tasks at least run on this provider (0-100000, default 0); at most one
	// provider of a strategy may set it.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	Base *int32 `json:"base,omitempty"`
}

// PlacementConstraint of tasks (ECS API reference, PlacementConstraint).
type PlacementConstraint struct {
	// Type: distinctInstance or memberOf.
	// +kubebuilder:validation:Enum=distinctInstance;memberOf
	// +optional
	Type string `json:"type,omitempty"`
	// Expression in the cluster query language (memberOf only), at most 2000 characters.
	// +kubebuilder:validation:MaxLength=2000
	// +optional
	Expression string `json:"expression,omitempty"`
}

// PlacementStrategy rule of tasks (ECS API reference, PlacementStrategy).
type PlacementStrategy struct {
	// Type: random, spread or binpack.
	// +kubebuilder:validation:Enum=random;spread;binpack
	// +optional
	Type string `json:"type,omitempty"`
	// Field the strategy applies to: instanceId, host or an attribute for spread; cpu or memory
	// for binpack; none for random.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Field string `json:"field,omitempty"`
}

// ServiceRegistry registers the service's tasks in an AWS Cloud Map service.
type ServiceRegistry struct {
	// The spellings of AWS's ECS controller for Kubernetes (members_aliases.go).
	ServiceRegistryAliases `json:",inline"`

	// RegistryArn of the Cloud Map service.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	RegistryArn string `json:"registryArn,omitempty"`
	// Port for SRV records in awsvpc mode, 1 to 65535 (an SRV record cannot name port 0; the local
	// data plane refuses it too).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port *int32 `json:"port,omitempty"`
	// ContainerName and containerPort for SRV records in bridge or host mode; containerPort is a
	// portMappings[].containerPort of that container, so 1 to 65535 as those are.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	ContainerName string `json:"containerName,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	ContainerPort *int32 `json:"containerPort,omitempty"`
}

// ServiceConnectConfiguration of a service.
type ServiceConnectConfiguration struct {
	// Enabled turns Service Connect on for the service.
	Enabled bool `json:"enabled"`
	// Namespace: the name or ARN of the Cloud Map namespace (default: the cluster's
	// serviceConnectDefaults).
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Services this service offers through Service Connect (none for a client-only service).
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Services []ServiceConnectService `json:"services,omitempty"`
	// LogConfiguration of the Service Connect proxy container.
	// +optional
	LogConfiguration *LogConfiguration `json:"logConfiguration,omitempty"`
	// AccessLogConfiguration of the Service Connect proxy.
	// +optional
	AccessLogConfiguration *ServiceConnectAccessLogConfiguration `json:"accessLogConfiguration,omitempty"`
}

// ServiceConnectService is one endpoint a service offers through Service Connect.
type ServiceConnectService struct {
	// PortName names a portMappings[].name of the task definition: 1 to 64 letters, digits,
	// underscores and hyphens, not starting with a hyphen (ECS API reference, PortMapping.name).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_][a-zA-Z0-9_-]*$`
	PortName string `json:"portName"`
	// DiscoveryName of the Cloud Map service (default portName): letters, digits, underscores and
	// hyphens, not starting with a hyphen (ECS API reference, ServiceConnectService.discoveryName),
	// up to 63: ECS documents 64, but it names a Cloud Map service, whose name is a DNS label of
	// at most 63 (Cloud Map API reference, CreateService Name; the local data plane's Cloud Map
	// holds to it), so a 64th character would fail at the ECS call.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_][a-zA-Z0-9_-]*$`
	// +optional
	DiscoveryName string `json:"discoveryName,omitempty"`
	// ClientAliases: the name and port clients use; ECS allows one.
	// +kubebuilder:validation:MaxItems=1
	// +optional
	ClientAliases []ServiceConnectClientAlias `json:"clientAliases,omitempty"`
	// IngressPortOverride: the port the proxy listens on instead of the named port's, 1 to 65535
	// (ECS API reference, ServiceConnectService.ingressPortOverride: a port for the proxy to
	// listen on, which port 0 is not, though the model's PortNumber shape admits 0). The local
	// data plane refuses the member by name (its proxy has no ingress listener to move).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	IngressPortOverride *int32 `json:"ingressPortOverride,omitempty"`
	// Timeout of the proxy's connections.
	// +optional
	Timeout *TimeoutConfiguration `json:"timeout,omitempty"`
	// Tls of the proxy's connections.
	// +optional
	Tls *ServiceConnectTlsConfiguration `json:"tls,omitempty"`
}

// ServiceConnectClientAlias is a name and port clients connect to.
type ServiceConnectClientAlias struct {
	// Port the proxy listens on in every task of the namespace, from 1 to 65535 (ECS refuses 0,
	// as the local data plane does: no client can connect to port 0).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
	// DnsName clients use (default discoveryName.namespace): up to 127 letters, digits,
	// underscores, hyphens and periods, not starting with a hyphen (ECS API reference,
	// ServiceConnectClientAlias.dnsName; ECS documents lowercase, the local data plane takes any
	// case and answers the name case-insensitively).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=127
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*$`
	// +optional
	DnsName string `json:"dnsName,omitempty"`

	// The members nodeless refuses by name (refused_types.go).
	ServiceConnectClientAliasRefused `json:",inline"`
}

// TimeoutConfiguration of Service Connect, in seconds (0 turns a timeout off).
type TimeoutConfiguration struct {
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2147483647
	// +optional
	IdleTimeoutSeconds *int32 `json:"idleTimeoutSeconds,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2147483647
	// +optional
	PerRequestTimeoutSeconds *int32 `json:"perRequestTimeoutSeconds,omitempty"`
}

// ServiceConnectTlsConfiguration of Service Connect.
type ServiceConnectTlsConfiguration struct {
	// The spellings of AWS's ECS controller for Kubernetes (members_aliases.go).
	ServiceConnectTlsConfigurationAliases `json:",inline"`

	IssuerCertificateAuthority ServiceConnectTlsCertificateAuthority `json:"issuerCertificateAuthority"`
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	KmsKey string `json:"kmsKey,omitempty"`
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	RoleArn string `json:"roleArn,omitempty"`
}

// ServiceConnectTlsCertificateAuthority signs Service Connect's certificates.
type ServiceConnectTlsCertificateAuthority struct {
	// The spellings of AWS's ECS controller for Kubernetes (members_aliases.go).
	ServiceConnectTlsCertificateAuthorityAliases `json:",inline"`

	// +kubebuilder:validation:MaxLength=2048
	// +optional
	AwsPcaAuthorityArn string `json:"awsPcaAuthorityArn,omitempty"`
}

// ServiceConnectAccessLogConfiguration of the Service Connect proxy.
type ServiceConnectAccessLogConfiguration struct {
	// +kubebuilder:validation:Enum=TEXT;JSON
	Format string `json:"format"`
	// +kubebuilder:validation:Enum=DISABLED;ENABLED
	// +optional
	IncludeQueryParameters string `json:"includeQueryParameters,omitempty"`
}

// DeploymentController of a service.
type DeploymentController struct {
	// +kubebuilder:validation:Enum=ECS;CODE_DEPLOY;EXTERNAL
	Type string `json:"type"`
}

// DeploymentAlarms stop (and optionally roll back) a deployment when a CloudWatch alarm fires.
type DeploymentAlarms struct {
	// AlarmNames of the CloudWatch alarms watched.
	// +kubebuilder:validation:MinItems=1
	AlarmNames []string `json:"alarmNames"`
	// Enable watching the alarms during deployments.
	Enable bool `json:"enable"`
	// Rollback to the last completed deployment when an alarm fires.
	Rollback bool `json:"rollback"`
}
