package ec2api

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// API holds the EC2 calls nodeless makes. *ec2.Client satisfies it. The method names are the
// operations, and with the prefix "ec2:" their IAM actions (package awspolicy walks this
// interface).
type API interface {
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
}

var _ API = (*ec2.Client)(nil)

// IAMService is the prefix of EC2's IAM actions.
const IAMService = "ec2"

// NewClient builds an *ec2.Client from the same options as the ECS client: the standard AWS
// configuration chain, or endpoint (moto_server in tests) when it is not empty.
func NewClient(ctx context.Context, opts ecsapi.Options, endpoint string) (*ec2.Client, error) {
	cfg, err := ecsapi.LoadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// VPCOf returns the one VPC the subnets are in; an error names a subnet that does not exist or
// subnets of different VPCs (a load balancer's subnets must share one).
func VPCOf(ctx context.Context, api API, subnets []string) (string, error) {
	if len(subnets) == 0 {
		return "", errors.New("no subnets given")
	}
	out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnets})
	if err != nil {
		return "", fmt.Errorf("describing subnets %v: %w", subnets, err)
	}
	vpc := ""
	for _, s := range out.Subnets {
		v := aws.ToString(s.VpcId)
		if vpc != "" && v != vpc {
			return "", fmt.Errorf("subnets %v are in different VPCs (%s and %s): give subnets of one VPC", subnets, vpc, v)
		}
		vpc = v
	}
	if vpc == "" || len(out.Subnets) != len(subnets) {
		return "", fmt.Errorf("subnets %v: EC2 found %d of them", subnets, len(out.Subnets))
	}
	return vpc, nil
}

// codeKinds maps EC2's error codes to the kinds of package ecsapi (the shared ones are ecsapi's).
var codeKinds = map[string]ecsapi.Kind{
	"InvalidSubnetID.NotFound":  ecsapi.KindNotFound,
	"InvalidSubnetID.Malformed": ecsapi.KindInvalidParameter,
	"InvalidParameterValue":     ecsapi.KindInvalidParameter,
	"RequestLimitExceeded":      ecsapi.KindThrottled,
}

// KindOf classifies err (ecsapi.KindOther for nil and for errors that are not AWS API errors).
func KindOf(err error) ecsapi.Kind {
	var apiErr smithy.APIError
	if err != nil && errors.As(err, &apiErr) {
		if k, ok := codeKinds[apiErr.ErrorCode()]; ok {
			return k
		}
	}
	return ecsapi.KindOf(err)
}
