package cloudmap

import "fmt"

// Error codes as Cloud Map spells them (the "__type" of its JSON error bodies).
const (
	CodeInvalidInput           = "InvalidInput"
	CodeNamespaceNotFound      = "NamespaceNotFound"
	CodeNamespaceAlreadyExists = "NamespaceAlreadyExists"
	CodeServiceNotFound        = "ServiceNotFound"
	CodeServiceAlreadyExists   = "ServiceAlreadyExists"
	CodeInstanceNotFound       = "InstanceNotFound"
	CodeOperationNotFound      = "OperationNotFound"
	CodeResourceInUse          = "ResourceInUse"
	CodeDuplicateRequest       = "DuplicateRequest"
)

// Error is a Cloud Map error: its code, message, and the members some codes carry
// (NamespaceAlreadyExists: CreatorRequestId, NamespaceId; ServiceAlreadyExists: CreatorRequestId,
// ServiceId, ServiceArn).
type Error struct {
	Code    string
	Message string
	Members map[string]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalidInput(format string, args ...any) *Error {
	return newError(CodeInvalidInput, format, args...)
}

func namespaceNotFound(id string) *Error {
	return newError(CodeNamespaceNotFound, "Namespace not found: %s. Create it with CreatePrivateDnsNamespace or CreateHttpNamespace, or name an existing one (ListNamespaces).", id)
}

func serviceNotFound(id string) *Error {
	return newError(CodeServiceNotFound, "Service not found: %s. Create it with CreateService, or name an existing one (ListServices).", id)
}
