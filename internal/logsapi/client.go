package logsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// NewClient builds a *cloudwatchlogs.Client from the same options as the ECS client: the
// standard AWS configuration chain, or an endpoint that serves CloudWatch Logs beside ECS
// (moto_server in tests).
func NewClient(ctx context.Context, opts ecsapi.Options) (*cloudwatchlogs.Client, error) {
	cfg, err := ecsapi.LoadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	}), nil
}
