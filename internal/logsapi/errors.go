package logsapi

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Kind classifies a CloudWatch Logs error by what the caller should do about it.
type Kind int

// Error kinds.
const (
	// KindOther: an unexpected failure.
	KindOther Kind = iota
	// KindNotFound: the log group or stream does not exist (yet).
	KindNotFound
	// KindThrottled: CloudWatch Logs refused the call for its rate; retry later.
	KindThrottled
	// KindAccessDenied: the credentials lack a permission: fix the policy (Actions).
	KindAccessDenied
)

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "NotFound"
	case KindThrottled:
		return "Throttled"
	case KindAccessDenied:
		return "AccessDenied"
	}
	return "Other"
}

// The one place where CloudWatch Logs error codes are mapped to kinds.
var codeKinds = map[string]Kind{
	"ResourceNotFoundException":   KindNotFound,
	"ThrottlingException":         KindThrottled,
	"Throttling":                  KindThrottled,
	"LimitExceededException":      KindThrottled,
	"ServiceUnavailableException": KindThrottled,
	"AccessDeniedException":       KindAccessDenied,
}

// KindOf classifies err (KindOther for nil and for errors that are not the service's).
func KindOf(err error) Kind {
	var apiErr smithy.APIError
	if err == nil || !errors.As(err, &apiErr) {
		return KindOther
	}
	return codeKinds[apiErr.ErrorCode()]
}
