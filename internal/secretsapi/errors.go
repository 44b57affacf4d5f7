package secretsapi

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Kind classifies a Secrets Manager error by what the caller should do about it.
type Kind int

// Error kinds.
const (
	// KindOther: an unexpected failure; retry with backoff.
	KindOther Kind = iota
	// KindNotFound: the secret (or the version asked for) does not exist.
	KindNotFound
	// KindExists: a secret of that name exists, or the version token was used for another value.
	KindExists
	// KindScheduledForDeletion: the secret is scheduled for deletion; restore or delete it first.
	KindScheduledForDeletion
	// KindThrottled: Secrets Manager refused the call for its rate; retry later.
	KindThrottled
	// KindInvalidParameter: the request can never succeed as is (a name, a size, a limit).
	KindInvalidParameter
	// KindAccessDenied: the credentials lack a permission (IAM, or the KMS key's policy): fix the
	// policy, not the object.
	KindAccessDenied
)

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "NotFound"
	case KindExists:
		return "Exists"
	case KindScheduledForDeletion:
		return "ScheduledForDeletion"
	case KindThrottled:
		return "Throttled"
	case KindInvalidParameter:
		return "InvalidParameter"
	case KindAccessDenied:
		return "AccessDenied"
	}
	return "Other"
}

// The one place where Secrets Manager error codes are mapped to kinds.
var codeKinds = map[string]Kind{
	"ResourceNotFoundException":        KindNotFound,
	"ResourceExistsException":          KindExists,
	"InvalidRequestException":          KindScheduledForDeletion,
	"ThrottlingException":              KindThrottled,
	"Throttling":                       KindThrottled,
	"TooManyRequestsException":         KindThrottled,
	"RequestLimitExceeded":             KindThrottled,
	"InvalidParameterException":        KindInvalidParameter,
	"ValidationException":              KindInvalidParameter,
	"LimitExceededException":           KindInvalidParameter,
	"MalformedPolicyDocumentException": KindInvalidParameter,
	"EncryptionFailure":                KindAccessDenied,
	"DecryptionFailure":                KindAccessDenied,
	"AccessDeniedException":            KindAccessDenied,
}

// KindOf classifies err. InvalidRequestException is what Secrets Manager answers for a secret
// scheduled for deletion (and for a few states nodeless never puts a secret in, such as a
// rotation under way).
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
	if k, ok := codeKinds[apiErr.ErrorCode()]; ok {
		return k
	}
	return KindOther
}

// Error is an error with a kind: the Mirror's own refusals (an object DeleteOf was told is
// deleted), and test doubles that produce classified errors themselves.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Kind.String() + ": " + e.Msg }

// IsNotFound reports whether err means the secret does not exist.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == KindNotFound }

// IsExists reports whether err means the secret, or the version token, exists.
func IsExists(err error) bool { return err != nil && KindOf(err) == KindExists }

// IsScheduledForDeletion reports whether err means the secret is scheduled for deletion.
func IsScheduledForDeletion(err error) bool {
	return err != nil && KindOf(err) == KindScheduledForDeletion
}

// IsThrottled reports whether err means Secrets Manager throttled the call.
func IsThrottled(err error) bool { return err != nil && KindOf(err) == KindThrottled }

// IsAccessDenied reports whether err means a permission is missing.
func IsAccessDenied(err error) bool { return err != nil && KindOf(err) == KindAccessDenied }

// IgnoreNotFound returns nil for a NotFound error and err otherwise.
func IgnoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}
