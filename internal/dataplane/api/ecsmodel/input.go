package ecsmodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem classifies what is wrong with a request member.
type Problem int

// The problems CheckInput reports. Syntax and Type are serialization errors (the body is not what the
// protocol allows); the others are invalid parameters.
const (
	ProblemSyntax Problem = iota + 1
	ProblemType
	ProblemUnknown
	ProblemUnsupported
	ProblemRequired
	ProblemEnum
	ProblemRange
)

// FieldError is a request member that does not fit the model (or the server's Go type).
type FieldError struct {
	// Path names the member: "containerDefinitions[1].dependsOn[0].containerName"; "" for the body.
	Path    string
	Problem Problem
	Message string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// IsSerialization reports whether the body could not be read as the operation's input at all.
func (e *FieldError) IsSerialization() bool {
	return e.Problem == ProblemSyntax || e.Problem == ProblemType
}

// Decode parses a JSON body into a generic value (numbers kept as json.Number); an empty body is {}.
func Decode(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &FieldError{Problem: ProblemSyntax, Message: "the request body is not valid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &FieldError{Problem: ProblemSyntax, Message: "the request body has data after its JSON object"}
	}
	return v, nil
}

// CheckInput checks body against the input shape of op and against target, the Go type it will be
// decoded into: a member the model knows but target lacks is reported as ProblemUnsupported (the
// local data plane cannot honour it), so nothing a client asks for is silently dropped; such a
// member is let through when it asks for nothing (null, [], {} or false), as tools that send every
// member do. A nil target,
// an interface or json.RawMessage accepts whatever the model accepts.
func (m *Model) CheckInput(op string, body []byte, target reflect.Type) error {
	o, ok := m.Operations[op]
	if !ok {
		return fmt.Errorf("operation %s is not in the ECS model", op)
	}
	v, err := Decode(body)
	if err != nil {
		return err
	}
	w := inputWalker{m: m}
	return w.walk("", v, o.Input, target)
}

type inputWalker struct{ m *Model }

var rawMessageType = reflect.TypeFor[json.RawMessage]()

func goElem(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || t == rawMessageType {
		return nil
	}
	return t
}

func (w inputWalker) walk(path string, v any, shapeName string, target reflect.Type) error {
	s := w.m.Shapes[shapeName]
	if s == nil {
		return fmt.Errorf("%s: shape %s is not in the ECS model", path, shapeName)
	}
	if v == nil {
		return nil // null is the same as absent
	}
	target = goElem(target)
	switch s.Type {
	case "structure":
		return w.structure(path, v, s, target)
	case "list":
		return w.list(path, v, s, target)
	case "map":
		return w.mapping(path, v, s, target)
	default:
		return checkScalar(path, v, s)
	}
}

func typeError(path, want string, v any) error {
	return &FieldError{Path: path, Problem: ProblemType, Message: "want " + want + ", got " + jsonKind(v)}
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

func join(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

func (w inputWalker) structure(path string, v any, s *Shape, target reflect.Type) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return typeError(path, "an object", v)
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		p := join(path, k)
		shape, known := s.Members[k]
		if !known {
			return &FieldError{Path: p, Problem: ProblemUnknown, Message: "unknown member; " + knownMembers(s)}
		}
		var ft reflect.Type
		if target != nil {
			f, found := fieldByJSONName(target, k)
			if !found {
				if unused(obj[k]) {
					continue // null, [], {} or false: the feature is not asked for
				}
				return &FieldError{Path: p, Problem: ProblemUnsupported,
					Message: "not supported by the nodeless local data plane; remove it"}
			}
			ft = f
		}
		if err := w.walk(p, obj[k], shape, ft); err != nil {
			return err
		}
	}
	for _, r := range s.Required {
		if obj[r] == nil {
			return &FieldError{Path: join(path, r), Problem: ProblemRequired, Message: "required member missing"}
		}
	}
	return nil
}

// unused reports whether a value asks for nothing: null, an empty array or object, or false.
func unused(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case bool:
		return !x
	}
	return false
}

func knownMembers(s *Shape) string {
	names := make([]string, 0, len(s.Members))
	for k := range s.Members {
		names = append(names, k)
	}
	slices.Sort(names)
	return "known members: " + strings.Join(names, ", ")
}

// fieldByJSONName finds the field of struct type t whose JSON name is name.
func fieldByJSONName(t reflect.Type, name string) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}

func (w inputWalker) list(path string, v any, s *Shape, target reflect.Type) error {
	arr, ok := v.([]any)
	if !ok {
		return typeError(path, "an array", v)
	}
	if err := checkBounds(path, float64(len(arr)), s, "entries"); err != nil {
		return err
	}
	var et reflect.Type
	if target != nil && (target.Kind() == reflect.Slice || target.Kind() == reflect.Array) {
		et = target.Elem()
	}
	for i, e := range arr {
		if err := w.walk(fmt.Sprintf("%s[%d]", path, i), e, s.Member, et); err != nil {
			return err
		}
	}
	return nil
}

func (w inputWalker) mapping(path string, v any, s *Shape, target reflect.Type) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return typeError(path, "an object", v)
	}
	var et reflect.Type
	if target != nil && target.Kind() == reflect.Map {
		et = target.Elem()
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := fmt.Sprintf("%s[%q]", path, k)
		if err := checkScalar(p+" (key)", k, w.m.Shapes[s.Key]); err != nil {
			return err
		}
		if err := w.walk(p, obj[k], s.Value, et); err != nil {
			return err
		}
	}
	return nil
}

func checkScalar(path string, v any, s *Shape) error {
	if s == nil {
		return nil
	}
	switch s.Type {
	case "string":
		return checkString(path, v, s)
	case "integer", "long":
		return checkInteger(path, v, s)
	case "double", "float":
		return checkFloat(path, v, s)
	case "boolean":
		if _, ok := v.(bool); !ok {
			return typeError(path, "a boolean", v)
		}
	case "timestamp":
		return checkFloat(path, v, s)
	case "blob":
		if _, ok := v.(string); !ok {
			return typeError(path, "a base64 string", v)
		}
	}
	return nil
}

func checkString(path string, v any, s *Shape) error {
	str, ok := v.(string)
	if !ok {
		return typeError(path, "a string", v)
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
		return &FieldError{Path: path, Problem: ProblemEnum,
			Message: fmt.Sprintf("%q is not one of %s", str, strings.Join(s.Enum, ", "))}
	}
	return checkBounds(path, float64(utf8.RuneCountInString(str)), s, "characters")
}

func checkInteger(path string, v any, s *Shape) error {
	n, ok := v.(json.Number)
	if !ok {
		return typeError(path, "an integer", v)
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return &FieldError{Path: path, Problem: ProblemType, Message: "want an integer, got " + string(n)}
	}
	if s.Type == "integer" && (i < math.MinInt32 || i > math.MaxInt32) {
		return &FieldError{Path: path, Problem: ProblemType, Message: string(n) + " does not fit a 32-bit integer"}
	}
	return checkBounds(path, float64(i), s, "")
}

func checkFloat(path string, v any, s *Shape) error {
	n, ok := v.(json.Number)
	if !ok {
		return typeError(path, "a number", v)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return &FieldError{Path: path, Problem: ProblemType, Message: "want a number, got " + string(n)}
	}
	if s.Type == "timestamp" {
		return nil
	}
	return checkBounds(path, f, s, "")
}

// checkBounds checks a value (unit "") or a length against the shape's min and max.
func checkBounds(path string, n float64, s *Shape, unit string) error {
	what := "value"
	if unit != "" {
		what = "length"
	}
	if s.Min != nil && n < *s.Min {
		return &FieldError{Path: path, Problem: ProblemRange,
			Message: fmt.Sprintf("%s %g is below the minimum %g%s", what, n, *s.Min, suffix(unit))}
	}
	if s.Max != nil && n > *s.Max {
		return &FieldError{Path: path, Problem: ProblemRange,
			Message: fmt.Sprintf("%s %g is above the maximum %g%s", what, n, *s.Max, suffix(unit))}
	}
	return nil
}

func suffix(unit string) string {
	if unit == "" {
		return ""
	}
	return " " + unit
}
