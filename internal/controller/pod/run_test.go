package pod

import (
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/revision"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// TestPodFieldProblem: ECS's refusal of a member made from a Pod field reaches the Pod naming the
// field (the Pod has no systemControls); every other ECS error keeps ECS's Problem.
func TestPodFieldProblem(t *testing.T) {
	const sysctls = "containerDefinitions[0].systemControls: not supported by the nodeless local data plane " +
		"(namespaced kernel parameters are not applied to local tasks); remove it"
	register := func(code, msg string) error {
		return &revision.Error{Action: "registering task definition shop_web", Err: &smithy.GenericAPIError{Code: code, Message: msg}}
	}
	tests := []struct {
		name       string
		err        error
		wantReason string
		wantPrefix string
	}{
		{"systemControls refused", register("InvalidParameterException", sysctls), translate.ReasonFieldNotSupported,
			"spec.securityContext.sysctls: the data plane refused the task definition's systemControls"},
		{"another member refused", register("InvalidParameterException", "containerDefinitions[0].image: must not be empty"), ecscall.ReasonInvalidSpec,
			"registering task definition shop_web: InvalidParameterException: containerDefinitions[0].image"},
		{"throttled, naming the member", register("ThrottlingException", "Rate exceeded for systemControls"), ecscall.ReasonThrottled,
			"registering task definition shop_web: ThrottlingException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := podFieldProblem(revision.Problem(tt.err), tt.err)
			if got.Reason != tt.wantReason || !strings.HasPrefix(got.Message, tt.wantPrefix) {
				t.Errorf("Problem %s %q, want %s %q...", got.Reason, got.Message, tt.wantReason, tt.wantPrefix)
			}
		})
	}
}
