package ecsapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ecsapi.Kind
	}{
		{"nil", nil, ecsapi.KindOther},
		{"plain", errors.New("boom"), ecsapi.KindOther},
		{"typed", &ecsapi.Error{Kind: ecsapi.KindThrottled, Msg: "slow down"}, ecsapi.KindThrottled},

		{"cluster not found", &ecstypes.ClusterNotFoundException{Message: aws.String("Cluster not found.")}, ecsapi.KindNotFound},
		{"service not found wrapped", fmt.Errorf("op: %w", &ecstypes.ServiceNotFoundException{}), ecsapi.KindNotFound},
		{"tag resource not found", &ecstypes.ResourceNotFoundException{}, ecsapi.KindNotFound},

		{"throttling", apiErr("ThrottlingException", "Rate exceeded"), ecsapi.KindThrottled},
		{"EC2 throttling is not a quota", apiErr("RequestLimitExceeded", "Request limit exceeded."), ecsapi.KindThrottled},
		{"EC2 throttling quoted in an InvalidParameterException", &ecstypes.InvalidParameterException{Message: aws.String(
			"Error retrieving security group information for [sg-1]: Request limit exceeded. (ErrorCode: RequestLimitExceeded)")}, ecsapi.KindThrottled},

		{"invalid parameter", &ecstypes.InvalidParameterException{Message: aws.String("Invalid revision number. Number: 0")}, ecsapi.KindInvalidParameter},
		{"client exception by default a bad request", &ecstypes.ClientException{Message: aws.String("Container.image should not be null or empty.")}, ecsapi.KindInvalidParameter},
		{"a loose 'not found' is still a bad request", &ecstypes.ClientException{Message: aws.String("Invalid setting for container 'app': image not found in the request")}, ecsapi.KindInvalidParameter},

		{"missing task definition", &ecstypes.ClientException{Message: aws.String("Unable to describe task definition.")}, ecsapi.KindNotFound},
		{"missing task definition, local data plane", &ecstypes.ClientException{Message: aws.String(
			"taskDefinition: Unable to describe task definition: web:7 is not registered; name a registered revision or register it")}, ecsapi.KindNotFound},
		{"missing revision, moto", &ecstypes.ClientException{Message: aws.String("Revision is missing.")}, ecsapi.KindNotFound},
		{"stopping a task ECS does not know", &ecstypes.InvalidParameterException{Message: aws.String("The referenced task was not found.")}, ecsapi.KindNotFound},
		{"stopping a task the local data plane does not know", &ecstypes.InvalidParameterException{Message: aws.String(
			"task: the referenced task arn:aws:ecs:r:1:task/c/1 was not found in cluster c")}, ecsapi.KindNotFound},
		{"a bad task id is a bad request", &ecstypes.InvalidParameterException{Message: aws.String("Task Identifier is invalid")}, ecsapi.KindInvalidParameter},
		{"missing revision on deregister", &ecstypes.ClientException{Message: aws.String("The specified task definition does not exist.")}, ecsapi.KindNotFound},

		{"conflict", &ecstypes.ConflictException{}, ecsapi.KindConflict},
		{"service creation not idempotent", &ecstypes.InvalidParameterException{Message: aws.String("Creation of service was not idempotent.")}, ecsapi.KindConflict},
		{"client token reused", &ecstypes.ClientException{Message: aws.String("The request is not idempotent")}, ecsapi.KindConflict},
		{"cluster has services", &ecstypes.ClusterContainsServicesException{}, ecsapi.KindConflict},
		{"service not active", &ecstypes.ServiceNotActiveException{}, ecsapi.KindConflict},

		{"access denied", &ecstypes.AccessDeniedException{Message: aws.String(
			"User: arn:aws:sts::1:assumed-role/ctl/x is not authorized to perform: ecs:CreateService on resource: arn:aws:ecs:eu-west-1:1:service/c/web")}, ecsapi.KindAccessDenied},
		{"pass role as a ClientException", &ecstypes.ClientException{Message: aws.String(
			"User: arn:aws:iam::1:user/ctl is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/exec")}, ecsapi.KindAccessDenied},
		{"role ECS cannot assume", &ecstypes.ClientException{Message: aws.String(
			"ECS was unable to assume the role 'arn:aws:iam::1:role/exec' that was provided for this task.")}, ecsapi.KindAccessDenied},
		{"EC2 unauthorized", apiErr("UnauthorizedOperation", "You are not authorized to perform this operation."), ecsapi.KindAccessDenied},
		{"blocked account", &ecstypes.BlockedException{Message: aws.String("Your account was blocked.")}, ecsapi.KindAccessDenied},

		{"unknown credentials", apiErr("UnrecognizedClientException", "The security token included in the request is invalid."), ecsapi.KindUnauthenticated},
		{"expired credentials", apiErr("ExpiredTokenException", "The security token included in the request is expired"), ecsapi.KindUnauthenticated},
		{"bad signature", apiErr("InvalidSignatureException", "The request signature we calculated does not match"), ecsapi.KindUnauthenticated},

		{"limit exceeded is a quota, not throttling", &ecstypes.LimitExceededException{Message: aws.String("The limit for the resource was exceeded.")}, ecsapi.KindQuota},
		{"attribute limit", &ecstypes.AttributeLimitExceededException{}, ecsapi.KindQuota},
		{"PROVISIONING tasks quota", &ecstypes.ClientException{Message: aws.String("Tasks provisioning capacity limit exceeded.")}, ecsapi.KindQuota},
		{"concurrent registrations of a family", &ecstypes.ClientException{Message: aws.String(
			"Too many concurrent attempts to create a new revision of the specified family.")}, ecsapi.KindThrottled},

		{"platform unknown", &ecstypes.PlatformUnknownException{}, ecsapi.KindUnsupported},
		{"platform incompatible", &ecstypes.PlatformTaskDefinitionIncompatibilityException{}, ecsapi.KindUnsupported},
		{"feature not in region", &ecstypes.UnsupportedFeatureException{}, ecsapi.KindUnsupported},

		{"server exception", &ecstypes.ServerException{Message: aws.String("Service Unavailable.")}, ecsapi.KindServer},
		{"HTTP 503 without a code", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}},
			Err: errors.New("service unavailable")}, ecsapi.KindServer},
		{"HTTP 400 without a code", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}},
			Err: errors.New("bad")}, ecsapi.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ecsapi.KindOf(tt.err)); diff != "" {
				t.Errorf("KindOf(%v) (-want +got):\n%s", tt.err, diff)
			}
		})
	}
	if ecsapi.IgnoreNotFound(&ecstypes.ClusterNotFoundException{}) != nil {
		t.Error("IgnoreNotFound kept a NotFound error")
	}
}

func TestPermission(t *testing.T) {
	tests := []struct {
		name                string
		err                 error
		wantAction, wantRes string
	}{
		{"action and resource", &ecstypes.AccessDeniedException{Message: aws.String(
			"User: arn:aws:sts::1:assumed-role/ctl/x is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/exec because no identity-based policy allows the iam:PassRole action")},
			"iam:PassRole", "arn:aws:iam::1:role/exec"},
		{"action only", &ecstypes.AccessDeniedException{Message: aws.String("User: arn:aws:iam::1:user/u is not authorized to perform: ecs:ListClusters")},
			"ecs:ListClusters", ""},
		{"none named", &ecstypes.AccessDeniedException{Message: aws.String("You don't have authorization to perform the requested action.")}, "", ""},
		{"not an API error", errors.New("x"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action, res := ecsapi.Permission(tt.err)
			if diff := cmp.Diff([]string{tt.wantAction, tt.wantRes}, []string{action, res}); diff != "" {
				t.Errorf("Permission (-want +got):\n%s", diff)
			}
		})
	}
}
