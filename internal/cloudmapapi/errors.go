package cloudmapapi

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// codeKinds is the one place where Cloud Map's error codes (the exceptions of its API model) are
// mapped to the kinds of package ecsapi; the codes every AWS API shares are ecsapi's.
var codeKinds = map[string]ecsapi.Kind{
	"NamespaceNotFound":         ecsapi.KindNotFound,
	"ServiceNotFound":           ecsapi.KindNotFound,
	"InstanceNotFound":          ecsapi.KindNotFound,
	"OperationNotFound":         ecsapi.KindNotFound,
	"ResourceNotFoundException": ecsapi.KindNotFound,

	"ServiceAlreadyExists":   ecsapi.KindConflict,
	"NamespaceAlreadyExists": ecsapi.KindConflict,
	"ResourceInUse":          ecsapi.KindConflict,
	"DuplicateRequest":       ecsapi.KindConflict,

	"InvalidInput": ecsapi.KindInvalidParameter,

	"ResourceLimitExceeded": ecsapi.KindQuota,
	"TooManyTagsException":  ecsapi.KindQuota,

	"RequestLimitExceeded": ecsapi.KindThrottled,
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

// IsNotFound reports whether err means the namespace, service or instance does not exist.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == ecsapi.KindNotFound }
