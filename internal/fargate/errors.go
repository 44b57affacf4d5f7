package fargate

import (
	"errors"
	"fmt"
)

// ErrorType is the ECS error type of a refusal, as ECS spells it in __type.
type ErrorType string

// The error types ECS answers Fargate's refusals with.
const (
	// ClientException: the task definition cannot run on Fargate (RegisterTaskDefinition).
	ClientException ErrorType = "ClientException"
	// InvalidParameterException: a member of RunTask, CreateService or UpdateService is invalid.
	InvalidParameterException ErrorType = "InvalidParameterException"
)

// Error is one refusal: the ECS error type, the member it is about (its path in the request,
// ECS's spelling: "containerDefinitions[0].privileged"), ECS's message and what to do instead.
type Error struct {
	Type ErrorType
	// Field is the member's path in the request; a caller checking a Kubernetes object prefixes
	// it with the object's path ("spec.").
	Field string
	// Message is what ECS answers (where it is known; otherwise in ECS's style).
	Message string
	// Fix says what to change.
	Fix string
}

// Error is "field: message; fix".
func (e *Error) Error() string {
	s := e.Message
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func clientError(field, fix, format string, args ...any) *Error {
	return &Error{Type: ClientException, Field: field, Message: fmt.Sprintf(format, args...), Fix: fix}
}

func invalidParameter(field, fix, format string, args ...any) *Error {
	return &Error{Type: InvalidParameterException, Field: field, Message: fmt.Sprintf(format, args...), Fix: fix}
}
