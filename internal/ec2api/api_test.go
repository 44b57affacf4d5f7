package ec2api

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// subnets is a fake DescribeSubnets over a fixed set of subnets.
type subnets map[string]string // subnet → VPC

func (s subnets) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	out := &ec2.DescribeSubnetsOutput{}
	for _, id := range in.SubnetIds {
		vpc, ok := s[id]
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "InvalidSubnetID.NotFound", Message: "The subnet ID '" + id + "' does not exist"}
		}
		out.Subnets = append(out.Subnets, types.Subnet{SubnetId: aws.String(id), VpcId: aws.String(vpc)})
	}
	return out, nil
}

func TestVPCOf(t *testing.T) {
	api := subnets{"subnet-a": "vpc-1", "subnet-b": "vpc-1", "subnet-c": "vpc-2"}
	tests := []struct {
		subnets []string
		want    string
		wantErr string
	}{
		{[]string{"subnet-a", "subnet-b"}, "vpc-1", ""},
		{[]string{"subnet-a", "subnet-c"}, "", "different VPCs"},
		{[]string{"subnet-x"}, "", "does not exist"},
		{nil, "", "no subnets"},
	}
	for _, tt := range tests {
		got, err := VPCOf(context.Background(), api, tt.subnets)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("VPCOf(%v) error %v, want one containing %q", tt.subnets, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("VPCOf(%v) = %q, %v; want %q", tt.subnets, got, err, tt.want)
		}
	}
	if k := KindOf(&smithy.GenericAPIError{Code: "InvalidSubnetID.NotFound"}); k != ecsapi.KindNotFound {
		t.Errorf("InvalidSubnetID.NotFound is %s, want NotFound", k)
	}
}
