package logsapi

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want Kind
	}{
		{nil, KindOther},
		{fmt.Errorf("dial: refused"), KindOther},
		{fmt.Errorf("getting: %w", &types.ResourceNotFoundException{Message: aws.String("The specified log stream does not exist.")}), KindNotFound},
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, KindThrottled},
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, KindAccessDenied},
		{&smithy.GenericAPIError{Code: "InvalidParameterException"}, KindOther},
	}
	for _, tt := range tests {
		if got := KindOf(tt.err); got != tt.want {
			t.Errorf("KindOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
