package core

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

func TestFromECS(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		reason     string
		requeue    time.Duration
		wantErr    bool
		msgContain string
	}{
		{"bad request waits for a spec change", &ecstypes.InvalidParameterException{Message: aws.String("container app: unknown dependsOn init")},
			ReasonInvalidSpec, 0, false, "change the spec"},
		{"throttled retries later", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, ReasonThrottled, 10 * time.Second, false, "Rate exceeded"},
		{"conflict retries soon", &ecstypes.ClusterContainsServicesException{Message: aws.String("has services")}, ReasonConflict, 5 * time.Second, false, "has services"},
		{"missing cluster", &ecstypes.ClusterNotFoundException{Message: aws.String("Cluster not found.")}, ReasonNotFound, 30 * time.Second, false, "fix the reference"},
		{"anything else backs off", errors.New("connection reset"), ReasonECSError, 0, true, "connection reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := FromECS("creating service web", tt.err)
			if p.Reason != tt.reason {
				t.Errorf("reason %s, want %s", p.Reason, tt.reason)
			}
			if !strings.Contains(p.Message, tt.msgContain) || !strings.Contains(p.Message, "creating service web") {
				t.Errorf("message %q should name the action and contain %q", p.Message, tt.msgContain)
			}
			res, err := Result(p)
			if diff := cmp.Diff(ctrl.Result{RequeueAfter: tt.requeue}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("error %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}
