// Package ecsapi is nodeless's seam to the ECS data plane: the narrow interface holding only the
// ECS calls the controllers make (satisfied by *ecs.Client from aws-sdk-go-v2), the typed error
// vocabulary every caller uses instead of SDK error codes, client construction from the standard
// AWS configuration chain, and decorators (a client-side rate limiter shaped on ECS's documented
// token buckets, a call counter for tests and benchmarks).
//
// Contract of the calls, as ECS documents them and as the local data plane honours them:
//   - CreateService (clientToken ≤ 36 chars) and RunTask (clientToken ≤ 64 chars) are idempotent:
//     the same token with the same parameters returns the original result.
//   - CreateCluster with the name of an ACTIVE cluster returns that cluster.
//   - RegisterTaskDefinition always creates a new revision; callers must check first.
//   - Describe* calls report missing resources as failures in the response, not as errors
//     (except DescribeTaskDefinition, which fails with a ClientException).
//   - DescribeServices takes at most 10 services, DescribeTasks at most 100 tasks.
//   - ListTasks and ListTaskDefinitions return at most 100 ARNs per call and a nextToken for the
//     rest; ListTasks lists a cluster's tasks whose desired status is RUNNING unless asked for
//     STOPPED, and its startedBy filter must be used alone.
//   - TagResource adds tags or overwrites the values of existing keys and leaves the other tags
//     alone; UntagResource removes the keys it names (a key the resource does not carry is no
//     error). Both take the ARN of a cluster, task definition revision (FAMILY:REVISION), service
//     (long ARN format, arn:...:service/CLUSTER/NAME) or task, report a missing resource as a
//     NotFound error, and refuse keys with the reserved aws: prefix. A resource carries at most 50
//     tags; keys are 1–128 and values 0–256 characters.
//   - ListTagsForResource returns every tag of the resource (an empty list when it has none).
//   - ExecuteCommand (interactive must be true: ECS only starts interactive sessions) of a task
//     run without enableExecuteCommand fails with an InvalidParameterException ("The execute
//     command failed because execute command was not enabled when the task was run"); its
//     Session (sessionId, streamUrl, tokenValue) is opened with the Session Manager data
//     channel protocol (package ssmsession). It starts a session each time (not idempotent).
//   - No call blocks beyond its HTTP round trip (and the rate limiter's wait, when decorated).
package ecsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Batch limits of the ECS API.
const (
	MaxDescribeServices = 10
	MaxDescribeTasks    = 100
	MaxDescribeClusters = 100
)

// API holds the ECS calls nodeless's controllers make. *ecs.Client satisfies it.
type API interface {
	CreateCluster(ctx context.Context, in *ecs.CreateClusterInput, optFns ...func(*ecs.Options)) (*ecs.CreateClusterOutput, error)
	DescribeClusters(ctx context.Context, in *ecs.DescribeClustersInput, optFns ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error)
	UpdateCluster(ctx context.Context, in *ecs.UpdateClusterInput, optFns ...func(*ecs.Options)) (*ecs.UpdateClusterOutput, error)
	DeleteCluster(ctx context.Context, in *ecs.DeleteClusterInput, optFns ...func(*ecs.Options)) (*ecs.DeleteClusterOutput, error)
	PutClusterCapacityProviders(ctx context.Context, in *ecs.PutClusterCapacityProvidersInput, optFns ...func(*ecs.Options)) (*ecs.PutClusterCapacityProvidersOutput, error)

	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)

	CreateService(ctx context.Context, in *ecs.CreateServiceInput, optFns ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	DeleteService(ctx context.Context, in *ecs.DeleteServiceInput, optFns ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error)

	RunTask(ctx context.Context, in *ecs.RunTaskInput, optFns ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	StopTask(ctx context.Context, in *ecs.StopTaskInput, optFns ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)

	TagResource(ctx context.Context, in *ecs.TagResourceInput, optFns ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *ecs.UntagResourceInput, optFns ...func(*ecs.Options)) (*ecs.UntagResourceOutput, error)
	ListTagsForResource(ctx context.Context, in *ecs.ListTagsForResourceInput, optFns ...func(*ecs.Options)) (*ecs.ListTagsForResourceOutput, error)

	ExecuteCommand(ctx context.Context, in *ecs.ExecuteCommandInput, optFns ...func(*ecs.Options)) (*ecs.ExecuteCommandOutput, error)
}

var _ API = (*ecs.Client)(nil)

// Operation names, as the ECS API spells them.
const (
	OpCreateCluster               = "CreateCluster"
	OpDescribeClusters            = "DescribeClusters"
	OpUpdateCluster               = "UpdateCluster"
	OpDeleteCluster               = "DeleteCluster"
	OpPutClusterCapacityProviders = "PutClusterCapacityProviders"
	OpRegisterTaskDefinition      = "RegisterTaskDefinition"
	OpDescribeTaskDefinition      = "DescribeTaskDefinition"
	OpDeregisterTaskDefinition    = "DeregisterTaskDefinition"
	OpListTaskDefinitions         = "ListTaskDefinitions"
	OpCreateService               = "CreateService"
	OpDescribeServices            = "DescribeServices"
	OpUpdateService               = "UpdateService"
	OpDeleteService               = "DeleteService"
	OpRunTask                     = "RunTask"
	OpDescribeTasks               = "DescribeTasks"
	OpStopTask                    = "StopTask"
	OpListTasks                   = "ListTasks"
	OpTagResource                 = "TagResource"
	OpUntagResource               = "UntagResource"
	OpListTagsForResource         = "ListTagsForResource"
	OpExecuteCommand              = "ExecuteCommand"
)

// IsWrite reports whether the operation changes ECS state.
func IsWrite(op string) bool {
	switch op {
	case OpDescribeClusters, OpDescribeTaskDefinition, OpListTaskDefinitions, OpDescribeServices, OpDescribeTasks,
		OpListTasks, OpListTagsForResource:
		return false
	}
	return true
}
