package elbv2

import (
	"fmt"
	"net/http"
)

// Error codes as ELBv2 spells them (the SDK's types/errors.go ErrorCode values).
const (
	CodeValidation                  = "ValidationError"
	CodeLoadBalancerNotFound        = "LoadBalancerNotFound"
	CodeTargetGroupNotFound         = "TargetGroupNotFound"
	CodeListenerNotFound            = "ListenerNotFound"
	CodeDuplicateLoadBalancerName   = "DuplicateLoadBalancerName"
	CodeDuplicateTargetGroupName    = "DuplicateTargetGroupName"
	CodeDuplicateListener           = "DuplicateListener"
	CodeResourceInUse               = "ResourceInUse"
	CodeInvalidTarget               = "InvalidTarget"
	CodeInvalidConfigurationRequest = "InvalidConfigurationRequest"
	CodeUnsupportedProtocol         = "UnsupportedProtocol"
	CodeIncompatibleProtocols       = "IncompatibleProtocols"
	CodeTargetGroupAssociationLimit = "TargetGroupAssociationLimit"
	CodeDuplicateTagKeys            = "DuplicateTagKeys"
	CodeTooManyTags                 = "TooManyTags"
	CodeOperationNotPermitted       = "OperationNotPermitted"
	CodeInvalidAction               = "InvalidAction"
	CodeMissingAction               = "MissingAction"
)

// Error is a client error of the ELBv2 API: its code, message and HTTP status (400 unless a
// not-found, which ELBv2 answers with 400 too; InvalidAction is 400 as well).
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func validation(format string, args ...any) *Error { return newError(CodeValidation, format, args...) }
