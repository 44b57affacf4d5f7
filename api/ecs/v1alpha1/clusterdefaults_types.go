package v1alpha1

// ClusterDefaults are what the Services and Tasks of a cluster launch with when their own spec
// leaves it out, and the Pods of the virtual node whose tasks run in the cluster: the awsvpc
// network configuration Fargate requires (subnets, security groups, assignPublicIp), the task
// execution role and the CloudWatch Logs group. They are nodeless's, not an ECS member (ECS has
// no cluster-level network, and a task definition belongs to no cluster): nodeless fills them
// into each CreateService, UpdateService and RunTask request, and into the task definitions it
// registers for the cluster, so ECS and DescribeServices / DescribeTasks / DescribeTaskDefinition
// show them as if the manifest had carried them.
//
// Precedence, member by member: the manifest (a Service's or Task's
// spec.networkConfiguration, a TaskDefinition's executionRoleArn or its containers' awslogs-group
// option), then the Cluster's spec.defaults, then the controller's flags (--default-subnets,
// --default-security-groups, --default-assign-public-ip, --default-execution-role-arn,
// --default-log-group; for Pods the --pod-* ones first). A Service that names its subnets but no
// security groups takes the Cluster's security groups. A change of the defaults updates the
// Services that take them (a new deployment, as any network or task definition change does);
// running Tasks keep theirs. docs/adr/0013-fargate-rules.md.
type ClusterDefaults struct {
	// NetworkConfiguration is the awsvpcConfiguration of the cluster's tasks.
	// +optional
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// ExecutionRoleArn is the task execution role (pulling private images, awslogs, secrets) of
	// the task definitions of the cluster's Services and Tasks that reference a TaskDefinition
	// object leaving executionRoleArn out, and of the virtual node's Pods when their tasks run in
	// this cluster. Where it changes what a TaskDefinition registers, the TaskDefinition
	// registers a revision for this cluster (status.clusterRevisions); the same TaskDefinition
	// used in another cluster keeps its own.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`
	// +optional
	ExecutionRoleArn string `json:"executionRoleArn,omitempty"`
	// LogGroup is the CloudWatch Logs group (the awslogs-group option) of the containers that log
	// with the awslogs driver and name no group, in those same task definitions, and of the
	// virtual node's Pods (which then log with awslogs, as with --pod-log-group).
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[.\-_/#A-Za-z0-9]+$`
	// +optional
	LogGroup string `json:"logGroup,omitempty"`

	// The spellings of AWS's ECS controller for Kubernetes, as a TaskDefinition has them.
	ClusterDefaultsAliases `json:",inline"`
}

// ClusterDefaultsAliases spell ClusterDefaults' executionRoleArn as AWS's ECS controller for
// Kubernetes spells a TaskDefinition's (aliases.go), so that the section reads as the members it
// stands for.
//
// +kubebuilder:validation:XValidation:rule="!has(self.executionRoleARN) || !has(self.executionRoleArn) || self.executionRoleARN == self.executionRoleArn",fieldPath=.executionRoleARN,message="executionRoleARN is an alias of executionRoleArn (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only executionRoleArn"
type ClusterDefaultsAliases struct {
	// ExecutionRoleARN is an alias of executionRoleArn.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`
	// +optional
	ExecutionRoleARN string `json:"executionRoleARN,omitempty" alias:"executionRoleArn"`
}

// TaskDefinitionClusterRevision is the revision a TaskDefinition registered for the Services and
// Tasks of one cluster, whose Cluster object's spec.defaults (executionRoleArn, logGroup) change
// what the TaskDefinition registers. Each cluster's revision is content-addressed like the
// newest one (the spec-hash tag): two clusters with the same defaults share one revision, and a
// revision is registered once, however often either cluster's objects are reconciled.
type TaskDefinitionClusterRevision struct {
	// Cluster is the name of the Cluster object in this namespace whose defaults were taken.
	Cluster string `json:"cluster"`
	// ExecutionRoleArn taken from the Cluster's spec.defaults ("" when the TaskDefinition or the
	// Cluster sets none).
	// +optional
	ExecutionRoleArn string `json:"executionRoleArn,omitempty"`
	// LogGroup taken from the Cluster's spec.defaults.
	// +optional
	LogGroup string `json:"logGroup,omitempty"`
	// ForSpecHash is status.specHash of the spec this revision completes: a revision for an
	// older spec is not used.
	ForSpecHash string `json:"forSpecHash"`
	// Revision and TaskDefinitionArn of the revision the cluster's Services and Tasks run.
	Revision          int32  `json:"revision"`
	TaskDefinitionArn string `json:"taskDefinitionArn"`
	// SpecHash of the completed spec it was registered from.
	SpecHash string `json:"specHash"`
}
