package secretsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// NewClient builds a *secretsmanager.Client from the same options as the ECS client: the
// standard AWS configuration chain, or the local data plane's endpoint and credentials (which
// serve Secrets Manager beside ECS).
func NewClient(ctx context.Context, opts ecsapi.Options) (*secretsmanager.Client, error) {
	cfg, err := ecsapi.LoadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	}), nil
}
