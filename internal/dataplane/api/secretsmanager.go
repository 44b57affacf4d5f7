package api

import (
	"errors"
	"net/http"

	"github.com/nodeless-dev/nodeless/internal/dataplane/secretstore"
)

// secretsAPI is the Secrets Manager operations the data plane's secret store serves (X-Amz-Target
// secretsmanager.<Operation>). A member the store does not know is InvalidParameterException, a
// body that does not decode SerializationException; the store's errors keep their Secrets
// Manager codes.
func secretsAPI(st *secretstore.Store) *jsonAPI {
	a := &jsonAPI{name: "Secrets Manager", unknownMember: errInvalidParameter, badBody: errSerialization,
		typed: func(err error) *apiError {
			var se *secretstore.Error
			if !errors.As(err, &se) {
				return nil
			}
			return &apiError{Type: se.Code, Message: se.Message, Status: http.StatusBadRequest}
		}}
	a.ops = map[string]operation{
		"CreateSecret":   jsonOp(a, st.CreateSecret),
		"PutSecretValue": jsonOp(a, st.PutSecretValue),
		"GetSecretValue": jsonOp(a, st.GetSecretValue),
		"DescribeSecret": jsonOp(a, st.DescribeSecret),
		"DeleteSecret":   jsonOp(a, st.DeleteSecret),
		"ListSecrets":    jsonOp(a, st.ListSecrets),
		"TagResource":    jsonOp(a, st.TagResource),
		"UntagResource":  jsonOp(a, st.UntagResource),
	}
	return a
}
