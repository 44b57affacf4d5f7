package ecsmodel

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// CheckOutput checks a response body against the output shape of op and returns every problem
// found: a member the model does not know, a wrong JSON type, a required member missing, an enum
// value the model does not list.
func (m *Model) CheckOutput(op string, body []byte) []error {
	o, ok := m.Operations[op]
	if !ok {
		return []error{fmt.Errorf("operation %s is not in the ECS model", op)}
	}
	v, err := Decode(body)
	if err != nil {
		return []error{err}
	}
	if o.Output == "" {
		return nil
	}
	w := &outputWalker{m: m}
	w.walk("", v, o.Output)
	return w.errs
}

// CheckError checks an error body: its __type must be an exception shape of the model (or one of the
// protocol-level errors AWS returns before reaching the operation) and it must carry a message.
func (m *Model) CheckError(body []byte) error {
	var e struct {
		Type    *string `json:"__type"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("error body is not JSON: %w", err)
	}
	if e.Type == nil || e.Message == nil || *e.Message == "" {
		return fmt.Errorf("error body %s lacks __type or message", body)
	}
	if !m.IsError(*e.Type) && !slices.Contains(ProtocolErrors, *e.Type) {
		return fmt.Errorf("error type %s is neither in the ECS model nor a protocol error", *e.Type)
	}
	return nil
}

// ProtocolErrors are the error types AWS JSON services return outside the operations' models
// (authentication, serialization, unknown operation).
var ProtocolErrors = []string{
	"MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException",
	"IncompleteSignatureException", "SerializationException", "UnknownOperationException",
	"ThrottlingException", "RequestEntityTooLargeException",
}

type outputWalker struct {
	m    *Model
	errs []error
}

func (w *outputWalker) fail(path, format string, args ...any) {
	if path == "" {
		path = "(body)"
	}
	w.errs = append(w.errs, fmt.Errorf("%s: "+format, append([]any{path}, args...)...))
}

func (w *outputWalker) walk(path string, v any, shapeName string) {
	s := w.m.Shapes[shapeName]
	if s == nil {
		w.fail(path, "shape %s unknown", shapeName)
		return
	}
	if v == nil {
		return
	}
	switch s.Type {
	case "structure":
		w.structure(path, v, s)
	case "list":
		arr, ok := v.([]any)
		if !ok {
			w.fail(path, "want an array, got %s", jsonKind(v))
			return
		}
		for i, e := range arr {
			w.walk(fmt.Sprintf("%s[%d]", path, i), e, s.Member)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			w.fail(path, "want an object, got %s", jsonKind(v))
			return
		}
		for k, e := range obj {
			w.walk(fmt.Sprintf("%s[%q]", path, k), e, s.Value)
		}
	default:
		w.scalar(path, v, s)
	}
}

func (w *outputWalker) structure(path string, v any, s *Shape) {
	obj, ok := v.(map[string]any)
	if !ok {
		w.fail(path, "want an object, got %s", jsonKind(v))
		return
	}
	for k, e := range obj {
		shape, known := s.Members[k]
		if !known {
			w.fail(join(path, k), "member not in the ECS model")
			continue
		}
		w.walk(join(path, k), e, shape)
	}
	for _, r := range s.Required {
		if obj[r] == nil {
			w.fail(join(path, r), "required member missing")
		}
	}
}

func (w *outputWalker) scalar(path string, v any, s *Shape) {
	switch s.Type {
	case "string":
		str, ok := v.(string)
		if !ok {
			w.fail(path, "want a string, got %s", jsonKind(v))
			return
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			w.fail(path, "enum value %q not in the model (%v)", str, s.Enum)
		}
	case "integer", "long":
		n, ok := v.(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, 64); !ok || err != nil {
			w.fail(path, "want an integer, got %v", v)
		}
	case "double", "float", "timestamp":
		n, ok := v.(json.Number)
		if _, err := strconv.ParseFloat(string(n), 64); !ok || err != nil {
			w.fail(path, "want a number, got %v", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			w.fail(path, "want a boolean, got %s", jsonKind(v))
		}
	}
}
