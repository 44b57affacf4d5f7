package cloudmapapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// NewClient builds a *servicediscovery.Client from the same options as the ECS client: the
// standard AWS configuration chain, or endpoint (moto_server in tests) when it is not empty.
func NewClient(ctx context.Context, opts ecsapi.Options, endpoint string) (*servicediscovery.Client, error) {
	cfg, err := ecsapi.LoadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	return servicediscovery.NewFromConfig(cfg, func(o *servicediscovery.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}
