package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ServiceSpec is the desired state of an ECS service (CreateService / UpdateService).
//
// +kubebuilder:validation:XValidation:rule="has(self.taskDefinition) != has(self.taskDefinitionRef)",message="set exactly one of taskDefinition (family, family:revision or ARN) and taskDefinitionRef (a TaskDefinition in this namespace)"
// +kubebuilder:validation:XValidation:rule="!(has(self.cluster) && has(self.clusterRef))",message="set at most one of cluster (ECS name or ARN) and clusterRef (a Cluster in this namespace)"
// +kubebuilder:validation:XValidation:rule="(has(self.clusterRef) ? 'ref:' + (has(self.clusterRef.name) ? self.clusterRef.name : self.clusterRef.from.name) : (has(self.cluster) ? self.cluster : 'default')) == (has(oldSelf.clusterRef) ? 'ref:' + (has(oldSelf.clusterRef.name) ? oldSelf.clusterRef.name : oldSelf.clusterRef.from.name) : (has(oldSelf.cluster) ? oldSelf.cluster : 'default'))",message="cluster and clusterRef cannot change: ECS cannot move a service to another cluster; delete this Service and create a new one"
// +kubebuilder:validation:XValidation:rule="!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.launchType) || self.launchType != 'FARGATE'",message="schedulingStrategy DAEMON is not supported with launchType FARGATE; use REPLICA"
// +kubebuilder:validation:XValidation:rule="!has(self.deploymentConfiguration) || !has(self.deploymentConfiguration.maximumPercent) || !has(self.deploymentConfiguration.minimumHealthyPercent) || self.deploymentConfiguration.maximumPercent >= self.deploymentConfiguration.minimumHealthyPercent",message="deploymentConfiguration.maximumPercent must be at least minimumHealthyPercent"
type ServiceSpec struct {
	// The spellings of AWS's ECS controller for Kubernetes (aliases.go).
	ServiceSpecAliases `json:",inline"`

	// ServiceName in ECS; defaults to metadata.name and cannot change (ECS cannot rename a service).
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	// +optional
	ServiceName string `json:"serviceName,omitempty"`
	// Cluster is the ECS cluster's name or ARN; without cluster and clusterRef, "default". The
	// cluster cannot change (ECS cannot move a service to another cluster).
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// ClusterRef names a Cluster in this namespace; it cannot change either.
	// +optional
	ClusterRef *LocalObjectReference `json:"clusterRef,omitempty"`
	// TaskDefinition is family, family:revision or a task definition ARN.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// TaskDefinitionRef names a TaskDefinition in this namespace; the service follows its newest
	// revision.
	// +optional
	TaskDefinitionRef *LocalObjectReference `json:"taskDefinitionRef,omitempty"`
	// DesiredCount of tasks.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	DesiredCount *int32 `json:"desiredCount,omitempty"`
	// LaunchType; ECS cannot change it after create. Setting it later to what ECS already reports
	// is accepted; any other change is refused (the Synced condition names it).
	// +kubebuilder:validation:Enum=FARGATE;EC2;EXTERNAL
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="launchType cannot change: ECS cannot change the launch type of a service; delete this Service and create a new one"
	// +optional
	LaunchType string `json:"launchType,omitempty"`
	// PlatformVersion of Fargate, e.g. LATEST or 1.4.0.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	PlatformVersion string `json:"platformVersion,omitempty"`
	// SchedulingStrategy; ECS cannot change it after create. Setting it later to what ECS already
	// reports is accepted; any other change is refused (the Synced condition names it).
	// +kubebuilder:validation:Enum=REPLICA;DAEMON
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="schedulingStrategy cannot change: ECS cannot change the scheduling strategy of a service; delete this Service and create a new one"
	// +optional
	SchedulingStrategy string `json:"schedulingStrategy,omitempty"`
	// +optional
	DeploymentConfiguration *DeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	// +optional
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// +kubebuilder:validation:MaxItems=5
	// +optional
	LoadBalancers []LoadBalancer `json:"loadBalancers,omitempty"`
	// HealthCheckGracePeriodSeconds ignores load balancer health checks after a task starts.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2147483647
	// +optional
	HealthCheckGracePeriodSeconds *int32 `json:"healthCheckGracePeriodSeconds,omitempty"`
	// +optional
	EnableExecuteCommand *bool `json:"enableExecuteCommand,omitempty"`
	// +optional
	EnableECSManagedTags *bool `json:"enableECSManagedTags,omitempty"`
	// +kubebuilder:validation:Enum=TASK_DEFINITION;SERVICE;NONE
	// +optional
	PropagateTags string `json:"propagateTags,omitempty"`
	// Tags of the service: set at create, changed in place afterwards (TagResource /
	// UntagResource), never through UpdateService or a new deployment. Tags others set on the
	// service are left alone.
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=40
	// +optional
	Tags []Tag `json:"tags,omitempty"`

	// The members of members_service_types.go.
	ServiceMembers `json:",inline"`

	// The members nodeless refuses by name (refused_types.go).
	ServiceSpecRefused `json:",inline"`
}

// DeploymentConfiguration bounds a rolling deployment.
type DeploymentConfiguration struct {
	// MaximumPercent of desiredCount that may be RUNNING or PENDING during a deployment (ECS default 200).
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=2147483647
	// +optional
	MaximumPercent *int32 `json:"maximumPercent,omitempty"`
	// MinimumHealthyPercent of desiredCount that must stay RUNNING (ECS default 100).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MinimumHealthyPercent *int32 `json:"minimumHealthyPercent,omitempty"`
	// +optional
	DeploymentCircuitBreaker *DeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
	// Alarms: CloudWatch alarms that fail a deployment (ECS API reference, DeploymentAlarms). The
	// local data plane has no CloudWatch: it accepts them with enable false and refuses them by
	// name with enable true.
	// +optional
	Alarms *DeploymentAlarms `json:"alarms,omitempty"`

	// The members nodeless refuses by name (refused_types.go).
	DeploymentConfigurationRefused `json:",inline"`
}

// DeploymentCircuitBreaker stops (and optionally rolls back) a failing deployment.
type DeploymentCircuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// NetworkConfiguration of an awsvpc task.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`

	// The spelling of AWS's ECS controller for Kubernetes (aliases.go).
	NetworkConfigurationAliases `json:",inline"`
}

// AwsVpcConfiguration places the task's network interface.
type AwsVpcConfiguration struct {
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Subnets []string `json:"subnets,omitempty"`
	// +kubebuilder:validation:MaxItems=5
	// +optional
	SecurityGroups []string `json:"securityGroups,omitempty"`
	// +kubebuilder:validation:Enum=ENABLED;DISABLED
	// +optional
	AssignPublicIp string `json:"assignPublicIp,omitempty"`

	// The spellings of AWS's ECS controller for Kubernetes (aliases.go).
	AwsVpcConfigurationAliases `json:",inline"`
}

// LoadBalancer attaches a container port to a target group or classic load balancer.
type LoadBalancer struct {
	// +optional
	TargetGroupArn string `json:"targetGroupArn,omitempty"`
	// +optional
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	ContainerPort int32 `json:"containerPort"`

	// The spellings of AWS's ECS controller for Kubernetes (aliases.go).
	LoadBalancerAliases `json:",inline"`

	// The members nodeless refuses by name (refused_types.go).
	LoadBalancerRefused `json:",inline"`
}

// DeploymentRolloutState is the rollout state of a deployment, as ECS spells it.
// +kubebuilder:validation:Enum=IN_PROGRESS;COMPLETED;FAILED
type DeploymentRolloutState string

// Rollout states.
const (
	RolloutInProgress DeploymentRolloutState = "IN_PROGRESS"
	RolloutCompleted  DeploymentRolloutState = "COMPLETED"
	RolloutFailed     DeploymentRolloutState = "FAILED"
)

// Deployment mirrors one ECS service deployment.
type Deployment struct {
	ID string `json:"id"`
	// Status: PRIMARY, ACTIVE or INACTIVE.
	Status string `json:"status"`
	// TaskDefinition ARN the deployment runs.
	TaskDefinition string `json:"taskDefinition"`
	DesiredCount   int32  `json:"desiredCount"`
	RunningCount   int32  `json:"runningCount"`
	PendingCount   int32  `json:"pendingCount"`
	// +optional
	FailedTasks int32 `json:"failedTasks,omitempty"`
	// RolloutState: IN_PROGRESS, COMPLETED or FAILED.
	// +optional
	RolloutState DeploymentRolloutState `json:"rolloutState,omitempty"`
	// +optional
	RolloutStateReason string `json:"rolloutStateReason,omitempty"`
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// ServiceStatus is the observed state of an ECS service.
type ServiceStatus struct {
	CommonStatus `json:",inline"`
	// +optional
	ServiceArn string `json:"serviceArn,omitempty"`
	// +optional
	ServiceName string `json:"serviceName,omitempty"`
	// +optional
	ClusterArn string `json:"clusterArn,omitempty"`
	// Status reported by ECS: ACTIVE, DRAINING or INACTIVE.
	// +optional
	Status string `json:"status,omitempty"`
	// TaskDefinition ARN of the PRIMARY deployment.
	// +optional
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// Revision of the PRIMARY deployment's task definition.
	// +optional
	Revision int32 `json:"revision,omitempty"`
	// AppliedTaskDefinition is the task definition the controller last asked ECS to run. The
	// service is rolled to a new revision only when the desired one differs from it, so a rollback
	// by the circuit breaker is not fought.
	// +optional
	AppliedTaskDefinition string `json:"appliedTaskDefinition,omitempty"`

	// The counts below are written when 0 too (no omitempty) and default to 0 in the schema, so
	// that `kubectl get` shows 0 in their columns rather than nothing: the status is written as a
	// merge patch, which leaves out a count that was 0 before and is 0 still.

	// +kubebuilder:default=0
	// +optional
	DesiredCount int32 `json:"desiredCount"`
	// +kubebuilder:default=0
	// +optional
	RunningCount int32 `json:"runningCount"`
	// +kubebuilder:default=0
	// +optional
	PendingCount int32 `json:"pendingCount"`
	// RolloutState of the PRIMARY deployment: IN_PROGRESS while it rolls out, then COMPLETED, or
	// FAILED (terminal: the deployment circuit breaker stopped it; the next spec or revision
	// change rolls out again).
	// +optional
	RolloutState DeploymentRolloutState `json:"rolloutState,omitempty"`
	// +optional
	Deployments []Deployment `json:"deployments,omitempty"`
	// LastEventTime is the creation time of the newest ECS service event turned into a
	// Kubernetes Event; older ones are never emitted again.
	// +optional
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`
	// LastEventID is the id of that event.
	// +optional
	LastEventID string `json:"lastEventID,omitempty"`
	// AppliedTags are the spec's tags as last applied to the ECS service; a tag removed from the
	// spec is removed from the service only when it is listed here.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	AppliedTags []Tag `json:"appliedTags,omitempty"`
}

// Service is an ECS service.
//
// +kubebuilder:validation:XValidation:rule="(has(self.spec.serviceName) ? self.spec.serviceName : (has(self.spec.name) ? self.spec.name : self.metadata.name)) == (has(oldSelf.spec.serviceName) ? oldSelf.spec.serviceName : (has(oldSelf.spec.name) ? oldSelf.spec.name : oldSelf.metadata.name))",message="spec.serviceName cannot change (it defaults to spec.name, then metadata.name): ECS cannot rename a service; delete this Service and create a new one"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.desiredCount,statuspath=.status.runningCount
// +kubebuilder:resource:shortName=ecssvc;ecss,categories=ecs
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.status`
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desiredCount`
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.runningCount`
// +kubebuilder:printcolumn:name="Pending",type=integer,JSONPath=`.status.pendingCount`
// +kubebuilder:printcolumn:name="Revision",type=integer,JSONPath=`.status.revision`
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.status.rolloutState`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="ARN",type=string,JSONPath=`.status.serviceArn`,priority=1
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ServiceSpec `json:"spec"`
	// +optional
	Status ServiceStatus `json:"status,omitempty"`
}

// ServiceList is a list of Services.
//
// +kubebuilder:object:root=true
type ServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Service `json:"items"`
}

// ECSName is spec.serviceName, or metadata.name.
func (s *Service) ECSName() string {
	if s.Spec.ServiceName != "" {
		return s.Spec.ServiceName
	}
	return s.Name
}
