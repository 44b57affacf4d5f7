package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/secretstore"
)

// secretsOperations is the dispatch table of the Secrets Manager operations the data plane's
// secret store serves (X-Amz-Target secretsmanager.<Operation>).
func (s *Server) secretsOperations() map[string]operation {
	st := s.secrets
	return map[string]operation{
		"CreateSecret":   smHandle(st.CreateSecret),
		"PutSecretValue": smHandle(st.PutSecretValue),
		"GetSecretValue": smHandle(st.GetSecretValue),
		"DescribeSecret": smHandle(st.DescribeSecret),
		"DeleteSecret":   smHandle(st.DeleteSecret),
		"ListSecrets":    smHandle(st.ListSecrets),
		"TagResource":    smHandle(st.TagResource),
		"UntagResource":  smHandle(st.UntagResource),
	}
}

// secretsOperationNames lists the Secrets Manager operations served, sorted.
func secretsOperationNames() []string {
	names := []string{"CreateSecret", "PutSecretValue", "GetSecretValue", "DescribeSecret", "DeleteSecret", "ListSecrets", "TagResource", "UntagResource"}
	slices.Sort(names)
	return names
}

// smHandle adapts a secret store operation: the body is decoded strictly (a member the store does
// not know is refused by name, never ignored) and the store's errors keep their Secrets Manager
// codes.
func smHandle[In any, Out any](fn func(*In) (*Out, error)) operation {
	return func(_ context.Context, body []byte) (any, error) {
		in := new(In)
		if len(bytes.TrimSpace(body)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(in); err != nil {
				if strings.Contains(err.Error(), "unknown field") {
					return nil, invalidParameter("%s: the local data plane's Secrets Manager does not serve this member; remove it", strings.TrimPrefix(err.Error(), "json: "))
				}
				return nil, newError(errSerialization, "decoding the request: %v", err)
			}
		}
		out, err := fn(in)
		var se *secretstore.Error
		if errors.As(err, &se) {
			return nil, &apiError{Type: se.Code, Message: se.Message, Status: http.StatusBadRequest}
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
