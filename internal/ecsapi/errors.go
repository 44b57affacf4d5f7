package ecsapi

import (
	"errors"
	"net/http"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Kind classifies an ECS error by its remedy: what the caller (and the user reading the
// condition it becomes) should do about it.
type Kind int

// Error kinds, one per remedy.
const (
	// KindOther: an unexpected failure (network, a code nodeless does not know); retry with
	// backoff.
	KindOther Kind = iota
	// KindNotFound: the resource does not exist (or no longer does): create it or fix the
	// reference to it.
	KindNotFound
	// KindThrottled: ECS refused the call for its request rate; retry later.
	KindThrottled
	// KindInvalidParameter: the request can never succeed as it is; the user must change the
	// spec.
	KindInvalidParameter
	// KindConflict: the resource is in a state that forbids the call (in use, not idempotent, has
	// dependants, not active); retry once the state changes.
	KindConflict
	// KindAccessDenied: the caller's AWS identity may not do this (IAM, including iam:PassRole of
	// a task or execution role, or an account blocked by AWS): grant the permission ECS names;
	// the spec is fine.
	KindAccessDenied
	// KindUnauthenticated: ECS did not accept the caller's credentials at all (unknown, expired,
	// badly signed): fix the credentials the controller runs with.
	KindUnauthenticated
	// KindQuota: a service quota (limit) of the account or cluster is reached: raise the quota
	// (Service Quotas) or lower the count, then retry later; the spec may be fine.
	KindQuota
	// KindUnsupported: the platform version, launch type or Region does not offer what the
	// request asks for (PlatformUnknown, PlatformTaskDefinitionIncompatibility,
	// UnsupportedFeature): choose another platform version or launch type, or another Region.
	KindUnsupported
	// KindServer: ECS failed on its side (ServerException, HTTP 5xx); retry with backoff.
	KindServer
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
	case KindAccessDenied:
		return "AccessDenied"
	case KindUnauthenticated:
		return "Unauthenticated"
	case KindQuota:
		return "Quota"
	case KindUnsupported:
		return "Unsupported"
	case KindServer:
		return "Server"
	}
	return "Other"
}

// codeKinds (with codeKind) is the one place where error codes are mapped to kinds: ECS's own
// (the exceptions of the ECS API model, service-2.json of API version 2014-11-13) and the generic
// AWS ones any AWS API may answer with (authentication, throttling, 5xx), plus the EC2 codes ECS
// passes through when it calls EC2 on the caller's behalf (awsvpc networking).
var codeKinds = map[string]Kind{
	// ECS model: "wasn't found".
	"ClusterNotFoundException":           KindNotFound,
	"ServiceNotFoundException":           KindNotFound,
	"ResourceNotFoundException":          KindNotFound,
	"TargetNotFoundException":            KindNotFound,
	"NamespaceNotFoundException":         KindNotFound,
	"TaskSetNotFoundException":           KindNotFound,
	"ServiceDeploymentNotFoundException": KindNotFound,
	"DaemonNotFoundException":            KindNotFound,

	// Throttling: the codes of aws-sdk-go-v2's retry.DefaultThrottleErrorCodes (see codeKind),
	// except LimitExceededException, which ECS uses for quotas.

	"InvalidParameterException": KindInvalidParameter,
	"ValidationException":       KindInvalidParameter,
	"SerializationException":    KindInvalidParameter,

	"ConflictException":                          KindConflict,
	"ResourceInUseException":                     KindConflict,
	"ClusterContainsServicesException":           KindConflict,
	"ClusterContainsTasksException":              KindConflict,
	"ClusterContainsContainerInstancesException": KindConflict,
	"ClusterContainsCapacityProviderException":   KindConflict,
	"ServiceNotActiveException":                  KindConflict,
	"DaemonNotActiveException":                   KindConflict,
	"UpdateInProgressException":                  KindConflict,

	// ECS model: "You don't have authorization to perform the requested action."
	"AccessDeniedException": KindAccessDenied,
	"AccessDenied":          KindAccessDenied,
	"UnauthorizedOperation": KindAccessDenied, // EC2
	// ECS model: "Your Amazon Web Services account was blocked."
	"BlockedException": KindAccessDenied,

	"UnrecognizedClientException":         KindUnauthenticated,
	"InvalidSignatureException":           KindUnauthenticated,
	"IncompleteSignature":                 KindUnauthenticated,
	"IncompleteSignatureException":        KindUnauthenticated,
	"MissingAuthenticationTokenException": KindUnauthenticated,
	"MissingAuthenticationToken":          KindUnauthenticated,
	"ExpiredToken":                        KindUnauthenticated,
	"ExpiredTokenException":               KindUnauthenticated,
	"InvalidClientTokenId":                KindUnauthenticated,
	"SignatureDoesNotMatch":               KindUnauthenticated,
	"AuthFailure":                         KindUnauthenticated, // EC2

	// ECS model: "The limit for the resource was exceeded." / "You can apply up to 10 custom
	// attributes for each resource."
	"LimitExceededException":          KindQuota,
	"AttributeLimitExceededException": KindQuota,
	"ServiceQuotaExceededException":   KindQuota,

	"PlatformUnknownException":                       KindUnsupported,
	"PlatformTaskDefinitionIncompatibilityException": KindUnsupported,
	"UnsupportedFeatureException":                    KindUnsupported,

	"ServerException":             KindServer,
	"InternalFailure":             KindServer,
	"InternalError":               KindServer,
	"InternalServerError":         KindServer,
	"ServiceUnavailable":          KindServer,
	"ServiceUnavailableException": KindServer,
}

// clientExceptionCases classify a ClientException (and the InvalidParameterExceptions that are
// not about the request) by the cases ECS documents or is known to send, each the pattern of a
// full phrase of the message, matched case-insensitively. A ClientException that matches none is
// a bad request (the ECS model: "These errors are usually caused by a client action ... Or, it
// might be specifying an identifier that isn't valid").
var clientExceptionCases = []struct {
	phrase *regexp.Regexp
	kind   Kind
}{
	// DescribeTaskDefinition (and every call naming a task definition) of a family or revision
	// that does not exist: "Unable to describe task definition." The local data plane prefixes the
	// member and adds the detail after a colon.
	{phrase(`unable to describe task definition`), KindNotFound},
	// DeregisterTaskDefinition of a revision ECS does not know (moto: "Revision is missing.").
	{phrase(`the specified task definition does not exist`), KindNotFound},
	{phrase(`revision is missing`), KindNotFound},
	// StopTask of a task ECS does not know (an InvalidParameterException): "The referenced task
	// was not found." The local data plane names the task and the cluster.
	{phrase(`the referenced task (\S+ )?was not found`), KindNotFound},
	// RunTask (ECS API reference, RunTask): "If you get a ClientException error, the RunTask could
	// not be processed because you use managed scaling and there is a capacity error because the
	// quota of tasks in the PROVISIONING per cluster has been reached."
	{phrase(`tasks provisioning capacity limit exceeded`), KindQuota},
	// RegisterTaskDefinition of one family from several callers at once.
	{phrase(`too many concurrent attempts to create a new revision of the specified family`), KindThrottled},
	// The ECS model: "This client action might be using an action or resource on behalf of a user
	// that doesn't have permissions to use the action or resource": AWS's standard phrase, and
	// ECS's own for a task or execution role it may not assume or pass.
	{phrase(`is not authorized to perform`), KindAccessDenied},
	{phrase(`ecs was unable to assume the role`), KindAccessDenied},
	{phrase(`unable to assume the service linked role`), KindAccessDenied},
	// CreateService with a clientToken already used for other parameters: "Creation of service
	// was not idempotent." (sent as an InvalidParameterException).
	{phrase(`not idempotent`), KindConflict},
}

func phrase(p string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + p) }

// embeddedCode finds the error code of another AWS service that ECS quotes in its message when
// a call it made on the caller's behalf failed, e.g. "Error retrieving security group information
// for [sg-1]: Request limit exceeded. (ErrorCode: RequestLimitExceeded)".
var embeddedCode = regexp.MustCompile(`\(ErrorCode: ?([A-Za-z.]+)\)`)

// KindOf classifies err; nil and errors that are not AWS API errors are KindOther, except HTTP
// 5xx responses (KindServer) and *Error (its own Kind).
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
		return httpKind(err)
	}
	code, msg := apiErr.ErrorCode(), apiErr.ErrorMessage()
	if m := embeddedCode.FindStringSubmatch(msg); m != nil {
		if k, ok := codeKind(m[1]); ok {
			return k
		}
	}
	if code == "ClientException" || code == "InvalidParameterException" {
		if k, ok := clientExceptionKind(msg); ok {
			return k
		}
		return KindInvalidParameter
	}
	if k, ok := codeKind(code); ok {
		return k
	}
	return httpKind(err)
}

// codeKind maps an error code: codeKinds first (so that LimitExceededException is a quota),
// then the SDK's own list of throttling codes, which its retryer retries too.
func codeKind(code string) (Kind, bool) {
	if k, ok := codeKinds[code]; ok {
		return k, true
	}
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return KindThrottled, true
	}
	return KindOther, false
}

func clientExceptionKind(msg string) (Kind, bool) {
	for _, c := range clientExceptionCases {
		if c.phrase.MatchString(msg) {
			return c.kind, true
		}
	}
	return KindOther, false
}

// httpKind classifies an error by its HTTP status when it carries one: 5xx is ECS failing.
func httpKind(err error) Kind {
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() >= http.StatusInternalServerError {
		return KindServer
	}
	return KindOther
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

// IsAccessDenied reports whether err means the caller's AWS identity may not make the call.
func IsAccessDenied(err error) bool { return err != nil && KindOf(err) == KindAccessDenied }

// IgnoreNotFound returns nil for a NotFound error and err otherwise.
func IgnoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}

// Message returns the ECS error message of err, prefixed with its code ("AccessDeniedException:
// User: ... is not authorized to perform: ecs:CreateService ..."), without the SDK's operation
// and request id decoration; err.Error() when it is not an AWS API error.
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

// notAuthorized finds the action and resource of AWS's "is not authorized to perform: ACTION on
// resource: RESOURCE" message.
var notAuthorized = regexp.MustCompile(`(?i)not authorized to perform:? ?([A-Za-z0-9-]+:[A-Za-z0-9*]+)(?: on resource:? ?([^ ,;]+))?`)

// Permission returns the IAM action (and the resource, "" when not named) that an AccessDenied
// error says the caller lacks, e.g. "iam:PassRole" and "arn:aws:iam::1:role/exec"; "" when the
// message names none.
func Permission(err error) (action, resource string) {
	var apiErr smithy.APIError
	if err == nil || !errors.As(err, &apiErr) {
		return "", ""
	}
	m := notAuthorized.FindStringSubmatch(apiErr.ErrorMessage())
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}
