package ecsmodel

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Transport is an http.RoundTripper for ECS clients that checks every response against the model
// — success bodies against the operation's output shape, errors for a known type and a message, a
// 5xx as a problem of its own — and reports what it finds. Tests put it under the SDK client, so
// every call they make is also a conformance check.
type Transport struct {
	// Base does the round trip (http.DefaultTransport when nil).
	Base http.RoundTripper
	// Report receives the problems of one response (called only when there are some).
	Report func(op string, problems []error)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	op := req.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	if problems := Check(op, resp.StatusCode, resp.Header.Get("Content-Type"), body); len(problems) > 0 && t.Report != nil {
		t.Report(op, problems)
	}
	return resp, nil
}

// Check checks one response of op: its status, content type and body.
func Check(op string, status int, contentType string, body []byte) []error {
	m, err := Load()
	if err != nil {
		return []error{err}
	}
	var problems []error
	if contentType != "application/x-amz-json-1.1" {
		problems = append(problems, fmt.Errorf("Content-Type %q, want application/x-amz-json-1.1", contentType))
	}
	switch status {
	case http.StatusOK:
		problems = append(problems, m.CheckOutput(op, body)...)
	case http.StatusBadRequest:
		if err := m.CheckError(body); err != nil {
			problems = append(problems, err)
		}
	default:
		problems = append(problems, fmt.Errorf("HTTP %d: %s", status, body))
	}
	return problems
}
