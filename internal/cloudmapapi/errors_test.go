package cloudmapapi

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want ecsapi.Kind
	}{
		{nil, ecsapi.KindOther},
		{&types.NamespaceNotFound{}, ecsapi.KindNotFound},
		{&types.ServiceNotFound{}, ecsapi.KindNotFound},
		{&types.InstanceNotFound{}, ecsapi.KindNotFound},
		{&types.ResourceInUse{}, ecsapi.KindConflict},
		{&types.ServiceAlreadyExists{}, ecsapi.KindConflict},
		{&types.InvalidInput{}, ecsapi.KindInvalidParameter},
		{&types.ResourceLimitExceeded{}, ecsapi.KindQuota},
		{&types.RequestLimitExceeded{}, ecsapi.KindThrottled},
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, ecsapi.KindAccessDenied},
	}
	for _, tt := range tests {
		if got := KindOf(tt.err); got != tt.want {
			t.Errorf("KindOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
