package elbv2api

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want ecsapi.Kind
	}{
		{nil, ecsapi.KindOther},
		{fmt.Errorf("dial: refused"), ecsapi.KindOther},
		{fmt.Errorf("describing: %w", &types.LoadBalancerNotFoundException{Message: aws.String("One or more load balancers not found")}), ecsapi.KindNotFound},
		{&types.TargetGroupNotFoundException{}, ecsapi.KindNotFound},
		{&types.ResourceInUseException{}, ecsapi.KindConflict},
		{&types.DuplicateLoadBalancerNameException{}, ecsapi.KindConflict},
		{&types.TooManyLoadBalancersException{}, ecsapi.KindQuota},
		{&types.InvalidSubnetException{}, ecsapi.KindInvalidParameter},
		{&smithy.GenericAPIError{Code: "Throttling"}, ecsapi.KindThrottled},
		{&smithy.GenericAPIError{Code: "AccessDenied"}, ecsapi.KindAccessDenied},
	}
	for _, tt := range tests {
		if got := KindOf(tt.err); got != tt.want {
			t.Errorf("KindOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
