package v1alpha1

// ClusterDefaults are what the Services and Tasks of a cluster launch with when their own spec
// leaves it out: the awsvpc network configuration Fargate requires (subnets, security groups,
// assignPublicIp). They are nodeless's, not an ECS member (ECS has no cluster-level network):
// nodeless fills them into each CreateService, UpdateService and RunTask request, so ECS and
// DescribeServices / DescribeTasks show them as if the manifest had carried them.
//
// Precedence, member by member: the Service's or Task's own spec.networkConfiguration, then the
// Cluster's spec.defaults, then the controller's flags (--default-subnets,
// --default-security-groups, --default-assign-public-ip). A Service that names its subnets but no
// security groups takes the Cluster's security groups. A change of the defaults updates the
// Services that take them (a new deployment, as any network change does); running Tasks keep
// theirs. docs/adr/0013-fargate-rules.md.
type ClusterDefaults struct {
	// NetworkConfiguration is the awsvpcConfiguration of the cluster's tasks.
	// +optional
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
}
