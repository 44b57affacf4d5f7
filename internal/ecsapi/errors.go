package ecsapi

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// Kind classifies an ECS error by what the caller should do about it.
type Kind int

// Error kinds.
const (
	// KindOther: an unexpected failure; retry with backoff.
	KindOther Kind = iota
	// KindNotFound: the resource does not exist (or no longer does).
	KindNotFound
	// KindThrottled: ECS refused the call for its rate; retry later.
	KindThrottled
	// KindInvalidParameter: the request can never succeed as is; the user must change the spec.
	KindInvalidParameter
	// KindConflict: the resource is in a state that forbids the call (in use, not idempotent,
	// has dependants); retry once the state changes.
	KindConflict
)

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "NotFound"
	case KindThrottled:
		return "Throttled"
	case KindInvalidParameter:
		return "InvalidParameter"
	case KindConflict:
		return "Conflict"
	}
	return "Other"
}

// The one place where ECS (and generic AWS) error codes are mapped to kinds.
var codeKinds = map[string]Kind{
	"ClusterNotFoundException":                       KindNotFound,
	"ServiceNotFoundException":                       KindNotFound,
	"ResourceNotFoundException":                      KindNotFound,
	"TargetNotFoundException":                        KindNotFound,
	"NamespaceNotFoundException":                     KindNotFound,
	"ThrottlingException":                            KindThrottled,
	"Throttling":                                     KindThrottled,
	"TooManyRequestsException":                       KindThrottled,
	"RequestLimitExceeded":                           KindThrottled,
	"RequestThrottled":                               KindThrottled,
	"InvalidParameterException":                      KindInvalidParameter,
	"PlatformUnknownException":                       KindInvalidParameter,
	"PlatformTaskDefinitionIncompatibilityException": KindInvalidParameter,
	"UnsupportedFeatureException":                    KindInvalidParameter,
	"AccessDeniedException":                          KindInvalidParameter,
	"LimitExceededException":                         KindInvalidParameter,
	"ValidationException":                            KindInvalidParameter,
	"ConflictException":                              KindConflict,
	"ResourceInUseException":                         KindConflict,
	"ClusterContainsServicesException":               KindConflict,
	"ClusterContainsTasksException":                  KindConflict,
	"ClusterContainsContainerInstancesException":     KindConflict,
	"ServiceNotActiveException":                      KindConflict,
	"UpdateInProgressException":                      KindConflict,
}

// KindOf classifies err. A ClientException is mostly a bad request, except the few messages by
// which ECS reports a missing task definition or an idempotency conflict.
func KindOf(err error) Kind {
	if err == nil {
		return KindOther
	}
	var kerr *Error
	if errors.As(err, &kerr) {
		return kerr.Kind
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return KindOther
	}
	code := apiErr.ErrorCode()
	if code == "ClientException" || (code == "InvalidParameterException" && isIdempotencyConflict(apiErr.ErrorMessage())) {
		// CreateService reports a reused clientToken with other parameters as an
		// InvalidParameterException ("Creation of service was not idempotent"): a conflict with
		// what exists, not a spec that can never succeed.
		return clientExceptionKind(apiErr.ErrorMessage())
	}
	if k, ok := codeKinds[code]; ok {
		return k
	}
	return KindOther
}

func isIdempotencyConflict(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "idempoten")
}

func clientExceptionKind(msg string) Kind {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "unable to describe task definition"),
		strings.Contains(m, "not found"),
		strings.Contains(m, "does not exist"):
		return KindNotFound
	case isIdempotencyConflict(m):
		return KindConflict
	}
	return KindInvalidParameter
}

// Error is an error with a kind, for callers (and test doubles) that produce classified errors
// themselves.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Kind.String() + ": " + e.Msg }

// IsNotFound reports whether err means the resource does not exist.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == KindNotFound }

// IsThrottled reports whether err means ECS throttled the call.
func IsThrottled(err error) bool { return err != nil && KindOf(err) == KindThrottled }

// IsInvalidParameter reports whether err means the request can never succeed as is.
func IsInvalidParameter(err error) bool { return err != nil && KindOf(err) == KindInvalidParameter }

// IsConflict reports whether err means the resource's current state forbids the call.
func IsConflict(err error) bool { return err != nil && KindOf(err) == KindConflict }

// IgnoreNotFound returns nil for a NotFound error and err otherwise.
func IgnoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}

// Message returns the ECS error message of err (without the SDK's operation and request id
// decoration), or err.Error() when it is not an ECS error.
func Message(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if m := apiErr.ErrorMessage(); m != "" {
			return apiErr.ErrorCode() + ": " + m
		}
		return apiErr.ErrorCode()
	}
	return err.Error()
}
