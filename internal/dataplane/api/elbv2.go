package api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/elbv2"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// serviceELBv2 is the SigV4 service name of the ELBv2 API.
const serviceELBv2 = "elasticloadbalancing"

// isQueryRequest reports whether r is a Query-protocol request (ELBv2's: a form-encoded POST with
// an Action and no X-Amz-Target) rather than an awsJson one.
func isQueryRequest(r *http.Request) bool {
	return r.Header.Get("X-Amz-Target") == "" &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// serveELBv2 serves one request of the local ELBv2 API (package elbv2) on the ECS endpoint, signed
// for service elasticloadbalancing with the data plane's credentials; answers are XML.
func (s *Server) serveELBv2(w http.ResponseWriter, r *http.Request) {
	reqID := model.NewUUID()
	w.Header().Set("X-Amzn-RequestId", reqID)
	log := s.log.WithValues("requestId", reqID)
	action, out, err := s.elbv2Serve(r)
	if err != nil {
		code, msg, status := elbv2Error(err)
		if status >= http.StatusInternalServerError {
			log.Error(err, "request failed", "action", action)
		} else {
			log.V(1).Info("request refused", "action", action, "code", code, "message", msg)
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = w.Write(elbv2.EncodeError(code, msg, reqID))
		return
	}
	raw, err := elbv2.EncodeResult(action, reqID, out)
	if err != nil {
		log.Error(err, "encoding the answer failed", "action", action)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	log.V(1).Info("request served", "action", action)
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(raw)
}

func (s *Server) elbv2Serve(r *http.Request) (string, any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(body) > maxBodyBytes {
		return "", nil, &elbv2.Error{Code: "ValidationError", Message: "the request body could not be read or is larger than 1 MiB", Status: http.StatusBadRequest}
	}
	if err := s.verifySignature(r, body, serviceELBv2); err != nil {
		return "", nil, err
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return "", nil, &elbv2.Error{Code: "InvalidAction", Message: "the ELBv2 API is served by POST / with a form-encoded body", Status: http.StatusBadRequest}
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return "", nil, &elbv2.Error{Code: "ValidationError", Message: "the form-encoded body does not parse: " + err.Error(), Status: http.StatusBadRequest}
	}
	if s.elbv2 == nil {
		return values.Get("Action"), nil, &elbv2.Error{Code: "InvalidAction", Message: "this data plane serves no ELBv2 API", Status: http.StatusBadRequest}
	}
	return s.elbv2.Serve(values)
}

// elbv2Error is an error's code, message and status in the Query protocol's terms.
func elbv2Error(err error) (string, string, int) {
	var ee *elbv2.Error
	if errors.As(err, &ee) {
		return ee.Code, ee.Message, ee.Status
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return strings.TrimSuffix(ae.Type, "Exception"), ae.Message, ae.Status
	}
	return "InternalFailure", "the local data plane failed to serve the request: " + err.Error(), http.StatusInternalServerError
}
