package cloudmapapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
)

// API holds the Cloud Map calls nodeless makes. *servicediscovery.Client satisfies it. The
// method names are the operations, and with the prefix "servicediscovery:" their IAM actions
// (package awspolicy walks this interface).
type API interface {
	GetNamespace(ctx context.Context, in *servicediscovery.GetNamespaceInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.GetNamespaceOutput, error)

	CreateService(ctx context.Context, in *servicediscovery.CreateServiceInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.CreateServiceOutput, error)
	GetService(ctx context.Context, in *servicediscovery.GetServiceInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.GetServiceOutput, error)
	ListServices(ctx context.Context, in *servicediscovery.ListServicesInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.ListServicesOutput, error)
	DeleteService(ctx context.Context, in *servicediscovery.DeleteServiceInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.DeleteServiceOutput, error)

	RegisterInstance(ctx context.Context, in *servicediscovery.RegisterInstanceInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.RegisterInstanceOutput, error)
	DeregisterInstance(ctx context.Context, in *servicediscovery.DeregisterInstanceInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.DeregisterInstanceOutput, error)
	ListInstances(ctx context.Context, in *servicediscovery.ListInstancesInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error)

	ListTagsForResource(ctx context.Context, in *servicediscovery.ListTagsForResourceInput, optFns ...func(*servicediscovery.Options)) (*servicediscovery.ListTagsForResourceOutput, error)
}

var _ API = (*servicediscovery.Client)(nil)

// IAMService is the prefix of Cloud Map's IAM actions.
const IAMService = "servicediscovery"
