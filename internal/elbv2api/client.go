package elbv2api

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// NewClient builds an *elbv2.Client from the same options as the ECS client: the standard AWS
// configuration chain, or endpoint (moto_server in tests) when it is not empty.
func NewClient(ctx context.Context, opts ecsapi.Options, endpoint string) (*elbv2.Client, error) {
	cfg, err := ecsapi.LoadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	return elbv2.NewFromConfig(cfg, func(o *elbv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}
