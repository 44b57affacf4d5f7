package ecsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// hook runs around every call of a decorated API: before may refuse the call (the error is
// returned instead), after sees the outcome.
type hook interface {
	before(ctx context.Context, op string) error
	after(op string, err error)
}

// decorated wraps an API with a hook; the rate limiter and the call counter are hooks.
type decorated struct {
	next API
	h    hook
}

func do[I, O any](ctx context.Context, d *decorated, op string, in I, f func(context.Context, I, ...func(*ecs.Options)) (O, error), optFns []func(*ecs.Options)) (O, error) {
	if err := d.h.before(ctx, op); err != nil {
		var zero O
		return zero, err
	}
	out, err := f(ctx, in, optFns...)
	d.h.after(op, err)
	return out, err
}

func (d *decorated) CreateCluster(ctx context.Context, in *ecs.CreateClusterInput, o ...func(*ecs.Options)) (*ecs.CreateClusterOutput, error) {
	return do(ctx, d, OpCreateCluster, in, d.next.CreateCluster, o)
}

func (d *decorated) DescribeClusters(ctx context.Context, in *ecs.DescribeClustersInput, o ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error) {
	return do(ctx, d, OpDescribeClusters, in, d.next.DescribeClusters, o)
}

func (d *decorated) UpdateCluster(ctx context.Context, in *ecs.UpdateClusterInput, o ...func(*ecs.Options)) (*ecs.UpdateClusterOutput, error) {
	return do(ctx, d, OpUpdateCluster, in, d.next.UpdateCluster, o)
}

func (d *decorated) DeleteCluster(ctx context.Context, in *ecs.DeleteClusterInput, o ...func(*ecs.Options)) (*ecs.DeleteClusterOutput, error) {
	return do(ctx, d, OpDeleteCluster, in, d.next.DeleteCluster, o)
}

func (d *decorated) PutClusterCapacityProviders(ctx context.Context, in *ecs.PutClusterCapacityProvidersInput, o ...func(*ecs.Options)) (*ecs.PutClusterCapacityProvidersOutput, error) {
	return do(ctx, d, OpPutClusterCapacityProviders, in, d.next.PutClusterCapacityProviders, o)
}

func (d *decorated) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, o ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	return do(ctx, d, OpRegisterTaskDefinition, in, d.next.RegisterTaskDefinition, o)
}

func (d *decorated) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, o ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return do(ctx, d, OpDescribeTaskDefinition, in, d.next.DescribeTaskDefinition, o)
}

func (d *decorated) DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, o ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	return do(ctx, d, OpDeregisterTaskDefinition, in, d.next.DeregisterTaskDefinition, o)
}

func (d *decorated) ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, o ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	return do(ctx, d, OpListTaskDefinitions, in, d.next.ListTaskDefinitions, o)
}

func (d *decorated) CreateService(ctx context.Context, in *ecs.CreateServiceInput, o ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error) {
	return do(ctx, d, OpCreateService, in, d.next.CreateService, o)
}

func (d *decorated) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, o ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return do(ctx, d, OpDescribeServices, in, d.next.DescribeServices, o)
}

func (d *decorated) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, o ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	return do(ctx, d, OpUpdateService, in, d.next.UpdateService, o)
}

func (d *decorated) DeleteService(ctx context.Context, in *ecs.DeleteServiceInput, o ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error) {
	return do(ctx, d, OpDeleteService, in, d.next.DeleteService, o)
}

func (d *decorated) RunTask(ctx context.Context, in *ecs.RunTaskInput, o ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	return do(ctx, d, OpRunTask, in, d.next.RunTask, o)
}

func (d *decorated) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, o ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	return do(ctx, d, OpDescribeTasks, in, d.next.DescribeTasks, o)
}

func (d *decorated) StopTask(ctx context.Context, in *ecs.StopTaskInput, o ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	return do(ctx, d, OpStopTask, in, d.next.StopTask, o)
}

func (d *decorated) ListTasks(ctx context.Context, in *ecs.ListTasksInput, o ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return do(ctx, d, OpListTasks, in, d.next.ListTasks, o)
}

func (d *decorated) TagResource(ctx context.Context, in *ecs.TagResourceInput, o ...func(*ecs.Options)) (*ecs.TagResourceOutput, error) {
	return do(ctx, d, OpTagResource, in, d.next.TagResource, o)
}

func (d *decorated) UntagResource(ctx context.Context, in *ecs.UntagResourceInput, o ...func(*ecs.Options)) (*ecs.UntagResourceOutput, error) {
	return do(ctx, d, OpUntagResource, in, d.next.UntagResource, o)
}

func (d *decorated) ListTagsForResource(ctx context.Context, in *ecs.ListTagsForResourceInput, o ...func(*ecs.Options)) (*ecs.ListTagsForResourceOutput, error) {
	return do(ctx, d, OpListTagsForResource, in, d.next.ListTagsForResource, o)
}

func (d *decorated) ExecuteCommand(ctx context.Context, in *ecs.ExecuteCommandInput, o ...func(*ecs.Options)) (*ecs.ExecuteCommandOutput, error) {
	return do(ctx, d, OpExecuteCommand, in, d.next.ExecuteCommand, o)
}
