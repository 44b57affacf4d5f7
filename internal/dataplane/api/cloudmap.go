package api

import (
	"errors"
	"net/http"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
)

// CloudMapTargetPrefix is the X-Amz-Target prefix of the AWS Cloud Map API (servicediscovery),
// served on the same endpoint for the data plane's own Cloud Map (package cloudmap).
const CloudMapTargetPrefix = "Route53AutoNaming_v20170314."

// serviceCloudMap is Cloud Map's SigV4 service name.
const serviceCloudMap = "servicediscovery"

// cloudMapAPI is the Cloud Map operations served. A member the local Cloud Map does not serve, or
// a body that does not decode, is InvalidInput; the registry's errors keep their Cloud Map codes
// and members (NamespaceId, ServiceId, ...).
func cloudMapAPI(r *cloudmap.Registry) *jsonAPI {
	a := &jsonAPI{name: "Cloud Map", unknownMember: cloudmap.CodeInvalidInput, badBody: cloudmap.CodeInvalidInput,
		typed: func(err error) *apiError {
			var ce *cloudmap.Error
			if !errors.As(err, &ce) {
				return nil
			}
			return &apiError{Type: ce.Code, Message: ce.Message, Status: http.StatusBadRequest, Members: ce.Members}
		}}
	a.ops = map[string]operation{
		"CreatePrivateDnsNamespace":        jsonOp(a, r.CreatePrivateDNSNamespace),
		"CreateHttpNamespace":              jsonOp(a, r.CreateHTTPNamespace),
		"GetNamespace":                     jsonOp(a, r.GetNamespace),
		"ListNamespaces":                   jsonOp(a, r.ListNamespaces),
		"DeleteNamespace":                  jsonOp(a, r.DeleteNamespace),
		"CreateService":                    jsonOp(a, r.CreateService),
		"GetService":                       jsonOp(a, r.GetService),
		"ListServices":                     jsonOp(a, r.ListServices),
		"DeleteService":                    jsonOp(a, r.DeleteService),
		"RegisterInstance":                 jsonOp(a, r.RegisterInstance),
		"DeregisterInstance":               jsonOp(a, r.DeregisterInstance),
		"GetInstance":                      jsonOp(a, r.GetInstance),
		"ListInstances":                    jsonOp(a, r.ListInstances),
		"DiscoverInstances":                jsonOp(a, r.DiscoverInstances),
		"UpdateInstanceCustomHealthStatus": jsonOp(a, r.UpdateInstanceCustomHealthStatus),
		"GetOperation":                     jsonOp(a, r.GetOperation),
		"ListOperations":                   jsonOp(a, r.ListOperations),
	}
	return a
}
