package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
)

// CloudMapTargetPrefix is the X-Amz-Target prefix of the AWS Cloud Map API (servicediscovery),
// served on the same endpoint for the data plane's own Cloud Map (package cloudmap).
const CloudMapTargetPrefix = "Route53AutoNaming_v20170314."

// serviceCloudMap is Cloud Map's SigV4 service name.
const serviceCloudMap = "servicediscovery"

// cloudMapOperations is the dispatch table of the Cloud Map operations served.
func cloudMapOperations(r *cloudmap.Registry) map[string]operation {
	return map[string]operation{
		"CreatePrivateDnsNamespace":        cmHandle(r.CreatePrivateDNSNamespace),
		"CreateHttpNamespace":              cmHandle(r.CreateHTTPNamespace),
		"GetNamespace":                     cmHandle(r.GetNamespace),
		"ListNamespaces":                   cmHandle(r.ListNamespaces),
		"DeleteNamespace":                  cmHandle(r.DeleteNamespace),
		"CreateService":                    cmHandle(r.CreateService),
		"GetService":                       cmHandle(r.GetService),
		"ListServices":                     cmHandle(r.ListServices),
		"DeleteService":                    cmHandle(r.DeleteService),
		"RegisterInstance":                 cmHandle(r.RegisterInstance),
		"DeregisterInstance":               cmHandle(r.DeregisterInstance),
		"GetInstance":                      cmHandle(r.GetInstance),
		"ListInstances":                    cmHandle(r.ListInstances),
		"DiscoverInstances":                cmHandle(r.DiscoverInstances),
		"UpdateInstanceCustomHealthStatus": cmHandle(r.UpdateInstanceCustomHealthStatus),
		"GetOperation":                     cmHandle(r.GetOperation),
	}
}

// serveCloudMap serves one Cloud Map operation.
func (s *Server) serveCloudMap(ctx context.Context, target, op string, body []byte) (any, error) {
	fn, ok := s.cloudMap[op]
	if !ok {
		names := make([]string, 0, len(s.cloudMap))
		for n := range s.cloudMap {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, newError(errUnknownOperation,
			"unknown operation %q: the local data plane serves the Cloud Map operations %s", target, strings.Join(names, ", "))
	}
	return fn(ctx, body)
}

// cmHandle adapts a Cloud Map operation: the body is decoded strictly (a member the local Cloud
// Map does not serve is refused by name as InvalidInput, never ignored) and the registry's errors
// keep their Cloud Map codes and members.
func cmHandle[In any, Out any](fn func(*In) (*Out, error)) operation {
	return func(_ context.Context, body []byte) (any, error) {
		in := new(In)
		if len(bytes.TrimSpace(body)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(in); err != nil {
				if strings.Contains(err.Error(), "unknown field") {
					return nil, newError(cloudmap.CodeInvalidInput, "%s: the local data plane's Cloud Map does not serve this member; remove it", strings.TrimPrefix(err.Error(), "json: "))
				}
				return nil, newError(cloudmap.CodeInvalidInput, "decoding the request: %v", err)
			}
		}
		out, err := fn(in)
		var ce *cloudmap.Error
		if errors.As(err, &ce) {
			return nil, &apiError{Type: ce.Code, Message: ce.Message, Status: http.StatusBadRequest, Members: ce.Members}
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
