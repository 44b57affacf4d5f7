package ecscall

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	ctrl "sigs.k8s.io/controller-runtime"
)

// TestFromECS: every error kind becomes a reason, a message that names the action and says what
// to do, and a retry policy (after a delay, with backoff, or on a spec change).
func TestFromECS(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		reason  string
		requeue time.Duration
		backoff bool
		says    string
	}{
		{"bad request waits for a spec change", &ecstypes.InvalidParameterException{Message: aws.String("container app: unknown dependsOn init")},
			ReasonInvalidSpec, 0, false, "change the spec"},
		{"throttled retries later", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
			ReasonThrottled, RetryThrottled, false, "Rate exceeded"},
		{"conflict retries soon", &ecstypes.ClusterContainsServicesException{Message: aws.String("has services")},
			ReasonConflict, RetryConflict, false, "has services"},
		{"missing cluster", &ecstypes.ClusterNotFoundException{Message: aws.String("Cluster not found.")},
			ReasonNotFound, RetryNotFound, false, "fix the reference"},
		{"access denied names the permission, not the spec", &ecstypes.AccessDeniedException{Message: aws.String(
			"User: arn:aws:iam::1:user/ctl is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/exec")},
			ReasonAccessDenied, RetryNotAllowed, false, "grant the controller's AWS identity the IAM permission iam:PassRole on arn:aws:iam::1:role/exec"},
		{"access denied without a named permission", &ecstypes.AccessDeniedException{Message: aws.String("You don't have authorization.")},
			ReasonAccessDenied, RetryNotAllowed, false, "the IAM permission this call needs"},
		{"bad credentials", &smithy.GenericAPIError{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
			ReasonInvalidCredentials, RetryNotAllowed, false, "fix the credentials"},
		{"quota raises or lowers the count", &ecstypes.LimitExceededException{Message: aws.String("The limit for the resource was exceeded.")},
			ReasonQuotaExceeded, RetryNotAllowed, false, "raise it (Service Quotas) or lower the count"},
		{"unsupported platform", &ecstypes.PlatformUnknownException{Message: aws.String("The specified platform version doesn't exist.")},
			ReasonUnsupported, 0, false, "change platformVersion"},
		{"server error backs off", &ecstypes.ServerException{Message: aws.String("Service Unavailable.")},
			ReasonECSUnavailable, 0, true, "retried with backoff"},
		{"anything else backs off", errors.New("connection reset"), ReasonECSError, 0, true, "connection reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := FromECS("creating service web", tt.err)
			if p.Reason != tt.reason {
				t.Errorf("reason %s, want %s", p.Reason, tt.reason)
			}
			if !strings.Contains(p.Message, tt.says) || !strings.HasPrefix(p.Message, "creating service web: ") {
				t.Errorf("message %q should start with the action and say %q", p.Message, tt.says)
			}
			res, err := p.Result()
			if diff := cmp.Diff(ctrl.Result{RequeueAfter: tt.requeue}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if (err != nil) != tt.backoff {
				t.Errorf("error %v, want one (backoff): %v", err, tt.backoff)
			}
			if err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap %v", err, tt.err)
			}
		})
	}
}
