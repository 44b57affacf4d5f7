package ecscall

import (
	"fmt"
	"time"

	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Condition reasons of ECS errors, one per ecsapi.Kind (reused as Event reasons).
const (
	ReasonNotFound           = "NotFound"
	ReasonThrottled          = "Throttled"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonConflict           = "Conflict"
	ReasonAccessDenied       = "AccessDenied"
	ReasonInvalidCredentials = "InvalidCredentials"
	ReasonQuotaExceeded      = "QuotaExceeded"
	ReasonUnsupported        = "Unsupported"
	ReasonECSUnavailable     = "ECSUnavailable"
	ReasonECSError           = "ECSError"
)

// Delays before a call that failed is tried again. Kinds not listed retry with the controller's
// exponential backoff (server errors, unknown errors) or wait for a spec change (invalid or
// unsupported requests).
const (
	// RetryThrottled: ECS's token buckets refill within seconds (RegisterTaskDefinition, the
	// slowest, at 1 per second).
	RetryThrottled = 10 * time.Second
	// RetryConflict: the state that forbids the call (a service draining, a deployment starting)
	// usually moves on within seconds.
	RetryConflict = 5 * time.Second
	// RetryNotFound: a missing resource may be created by someone else.
	RetryNotFound = 30 * time.Second
	// RetryNotAllowed: IAM policies, credentials and quotas change without any event the
	// controller sees; once a minute keeps the condition current at a negligible call rate.
	RetryNotAllowed = time.Minute
)

// FromECS turns an ECS error from action ("creating service web") into a Problem whose message
// names the action, quotes ECS and says what to do; see the Kind's documentation in ecsapi.
func FromECS(action string, err error) *reconciler.Problem {
	msg := fmt.Sprintf("%s: %s", action, ecsapi.Message(err))
	switch ecsapi.KindOf(err) {
	case ecsapi.KindNotFound:
		return &reconciler.Problem{Reason: ReasonNotFound, RequeueAfter: RetryNotFound,
			Message: msg + "; create it or fix the reference"}
	case ecsapi.KindThrottled:
		return &reconciler.Problem{Reason: ReasonThrottled, RequeueAfter: RetryThrottled,
			Message: msg + "; ECS throttled the call, it is retried shortly"}
	case ecsapi.KindInvalidParameter:
		return &reconciler.Problem{Reason: ReasonInvalidSpec, Message: msg + "; change the spec to fix it"}
	case ecsapi.KindConflict:
		return &reconciler.Problem{Reason: ReasonConflict, RequeueAfter: RetryConflict,
			Message: msg + "; the resource's current state forbids it, it is retried once that changes"}
	case ecsapi.KindAccessDenied:
		return &reconciler.Problem{Reason: ReasonAccessDenied, RequeueAfter: RetryNotAllowed,
			Message: msg + "; " + grant(err) + " (the spec is fine; retried every minute)"}
	case ecsapi.KindUnauthenticated:
		return &reconciler.Problem{Reason: ReasonInvalidCredentials, RequeueAfter: RetryNotAllowed,
			Message: msg + "; ECS did not accept the controller's AWS credentials: fix the credentials nodeless runs with (profile, keys or role; retried every minute)"}
	case ecsapi.KindQuota:
		return &reconciler.Problem{Reason: ReasonQuotaExceeded, RequeueAfter: RetryNotAllowed,
			Message: msg + "; an ECS service quota is reached: raise it (Service Quotas) or lower the count (retried every minute)"}
	case ecsapi.KindUnsupported:
		return &reconciler.Problem{Reason: ReasonUnsupported,
			Message: msg + "; the platform version, launch type or Region does not offer this: change platformVersion or launchType, or use another Region"}
	case ecsapi.KindServer:
		return &reconciler.Problem{Reason: ReasonECSUnavailable, Err: fmt.Errorf("%s: %w", action, err),
			Message: msg + "; ECS failed on its side, it is retried with backoff"}
	}
	return &reconciler.Problem{Reason: ReasonECSError, Message: msg, Err: fmt.Errorf("%s: %w", action, err)}
}

// grant says which permission to grant, as precisely as the error names it.
func grant(err error) string {
	action, resource := ecsapi.Permission(err)
	switch {
	case action != "" && resource != "":
		return fmt.Sprintf("grant the controller's AWS identity the IAM permission %s on %s", action, resource)
	case action != "":
		return fmt.Sprintf("grant the controller's AWS identity the IAM permission %s", action)
	}
	return "grant the controller's AWS identity the IAM permission this call needs"
}
