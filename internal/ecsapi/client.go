package ecsapi

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Options configure an ECS client. Zero values fall back to the standard AWS configuration chain
// (AWS_REGION, AWS_PROFILE, shared config and credentials files, web identity, IMDS, ...).
type Options struct {
	// Endpoint overrides the ECS endpoint, e.g. http://127.0.0.1:PORT for the local data plane.
	Endpoint string
	// Region overrides the configured region.
	Region string
	// AccessKeyID and SecretAccessKey, when both set, replace the credential chain with static
	// credentials (the local data plane's own).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// MaxAttempts of the SDK's retryer (which backs off on ThrottlingException); 0 keeps the
	// SDK default.
	MaxAttempts int
}

// NewClient builds an *ecs.Client from the standard AWS configuration chain and opts.
func NewClient(ctx context.Context, opts Options) (*ecs.Client, error) {
	cfg, err := LoadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	}), nil
}

// LoadConfig is the AWS configuration of opts (region, credentials, retries; not the endpoint):
// the standard chain with opts' overrides. Clients of other services nodeless uses against the
// same data plane (Secrets Manager, package secretsapi) are built from it.
func LoadConfig(ctx context.Context, opts Options) (aws.Config, error) {
	var loaders []func(*config.LoadOptions) error
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	if opts.AccessKeyID != "" && opts.SecretAccessKey != "" {
		loaders = append(loaders, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	}
	if opts.MaxAttempts > 0 {
		loaders = append(loaders, config.WithRetryMaxAttempts(opts.MaxAttempts))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS region configured: set --region or AWS_REGION")
	}
	return cfg, nil
}
