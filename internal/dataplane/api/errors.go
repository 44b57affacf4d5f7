package api

import (
	"fmt"
	"net/http"
)

// Error types the server returns, as ECS spells them.
const (
	errInvalidParameter      = "InvalidParameterException"
	errClient                = "ClientException"
	errServer                = "ServerException"
	errClusterNotFound       = "ClusterNotFoundException"
	errServiceNotFound       = "ServiceNotFoundException"
	errServiceNotActive      = "ServiceNotActiveException"
	errClusterHasServices    = "ClusterContainsServicesException"
	errClusterHasTasks       = "ClusterContainsTasksException"
	errResourceNotFound      = "ResourceNotFoundException"
	errResourceInUse         = "ResourceInUseException"
	errConflict              = "ConflictException"
	errLimitExceeded         = "LimitExceededException"
	errUnsupportedFeature    = "UnsupportedFeatureException"
	errSerialization         = "SerializationException"
	errUnknownOperation      = "UnknownOperationException"
	errMissingAuthentication = "MissingAuthenticationTokenException"
	errUnrecognizedClient    = "UnrecognizedClientException"
	errInvalidSignature      = "InvalidSignatureException"
	errIncompleteSignature   = "IncompleteSignatureException"
	errPlatformIncompatible  = "PlatformTaskDefinitionIncompatibilityException"
	errRequestEntityTooLarge = "RequestEntityTooLargeException"
)

// apiError is an error the client sees: its type, message and HTTP status.
type apiError struct {
	Type    string
	Message string
	Status  int
	// ResourceIDs is set on ConflictException (the task ARNs already bound to the clientToken).
	ResourceIDs []string
	// Members are other members of the error body (Cloud Map's NamespaceId, ServiceId, ...).
	Members map[string]string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func newError(typ, format string, args ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func invalidParameter(format string, args ...any) *apiError {
	return newError(errInvalidParameter, format, args...)
}

func clientError(format string, args ...any) *apiError { return newError(errClient, format, args...) }

func clusterNotFound(name string) *apiError {
	return newError(errClusterNotFound,
		"Cluster not found: %s. Create it with CreateCluster, or name an existing cluster.", name)
}

func serviceNotFound(name string) *apiError {
	return newError(errServiceNotFound,
		"Service not found: %s. Create it with CreateService, or name an existing service of this cluster.", name)
}
