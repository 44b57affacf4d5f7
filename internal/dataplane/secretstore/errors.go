package secretstore

import (
	"errors"
	"fmt"
)

// Error codes, as Secrets Manager spells them.
const (
	CodeResourceNotFound  = "ResourceNotFoundException"
	CodeResourceExists    = "ResourceExistsException"
	CodeInvalidParameter  = "InvalidParameterException"
	CodeInvalidRequest    = "InvalidRequestException"
	CodeValidation        = "ValidationException"
	CodeInternalService   = "InternalServiceError"
	msgSecretNotFound     = "Secrets Manager can't find the specified secret."
	msgMarkedForDeletion  = "You can't perform this operation on the secret because it was marked for deletion."
	msgBothValues         = "You can't specify both a binary secret value and a string secret value in the same secret."
	msgModifyVersion      = "You can't modify an existing version, you can only create new versions."
	msgStageVersionDiffer = "You provided a VersionStage that is not associated to the provided VersionId."
)

// Error is a client error of the Secrets Manager API: its code and message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalidParameter(format string, args ...any) *Error {
	return newError(CodeInvalidParameter, format, args...)
}

func notFound() *Error { return newError(CodeResourceNotFound, "%s", msgSecretNotFound) }

func markedForDeletion() *Error { return newError(CodeInvalidRequest, "%s", msgMarkedForDeletion) }

// CodeOf returns the Secrets Manager error code of err ("" when it is not a client error).
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
