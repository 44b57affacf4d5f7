package api

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// jsonAPI is an API of the awsJson1_1 protocol served beside ECS on the same endpoint and with the
// same credentials (Secrets Manager, Cloud Map; the router picks one by its X-Amz-Target prefix
// and SigV4 service): its operations, whose bodies are decoded strictly into the serving package's
// own request types, and how the API spells its refusals.
type jsonAPI struct {
	// name is the API's name in refusals ("Cloud Map").
	name string
	// unknownMember is the error code of a member the request type lacks (it is refused by name,
	// never ignored); badBody the code of a body that does not decode.
	unknownMember, badBody string
	// typed is the API's error for the serving package's typed error, nil for any other error
	// (which is the server's fault: ServerException / 500).
	typed func(error) *apiError
	ops   map[string]operation
}

// jsonOp adapts an operation of a side API: the body is decoded strictly into In, and the
// package's errors keep the API's codes and members.
func jsonOp[In any, Out any](a *jsonAPI, fn func(*In) (*Out, error)) operation {
	return func(_ context.Context, body []byte) (any, error) {
		in := new(In)
		if len(bytes.TrimSpace(body)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(in); err != nil {
				if strings.Contains(err.Error(), "unknown field") {
					return nil, newError(a.unknownMember, "%s: the local data plane's %s does not serve this member; remove it", strings.TrimPrefix(err.Error(), "json: "), a.name)
				}
				return nil, newError(a.badBody, "decoding the request: %v", err)
			}
		}
		out, err := fn(in)
		if ae := a.typed(err); ae != nil {
			return nil, ae
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// serve runs the operation op (of X-Amz-Target target), or refuses one the API does not serve
// (UnknownOperationException listing those it does).
func (a *jsonAPI) serve(ctx context.Context, target, op string, body []byte) (any, error) {
	fn, ok := a.ops[op]
	if !ok {
		return nil, newError(errUnknownOperation,
			"unknown operation %q: the local data plane serves the %s operations %s", target, a.name, strings.Join(slices.Sorted(maps.Keys(a.ops)), ", "))
	}
	return fn(ctx, body)
}
