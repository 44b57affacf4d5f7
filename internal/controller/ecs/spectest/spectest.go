// Package spectest helps the ECS controllers' tests classify every member of a CRD spec by the path
// its change takes to ECS (a new revision, a new deployment, an in-place call, create only, or not
// sent), found by reflection over the Go spec types, so that a member added to a spec later fails
// those tests until it is classified and its path is checked.
package spectest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Path is what a change of a spec member does on ECS.
type Path int

// The paths a change can take.
const (
	// NewRevision: the member is part of the task definition content; a change registers exactly
	// one new revision (RegisterTaskDefinition).
	NewRevision Path = iota + 1
	// NewDeployment: UpdateService carries the change and ECS rolls the service's tasks to it.
	NewDeployment
	// InPlace: the call named in Member.Call changes the resource where it is, no new revision, no
	// new deployment.
	InPlace
	// CreateOnly: sent when the resource is created; ECS cannot change it afterwards, so a change
	// is refused by name (CRD rule and/or a RecreateRequired condition).
	CreateOnly
	// NotSent: never sent to ECS; Member.Why says why.
	NotSent
)

func (p Path) String() string {
	switch p {
	case NewRevision:
		return "new revision"
	case NewDeployment:
		return "new deployment"
	case InPlace:
		return "in place"
	case CreateOnly:
		return "create only"
	case NotSent:
		return "not sent"
	}
	return "unclassified"
}

// Member is the classification of one spec member.
type Member struct {
	Path Path
	// Call is the ECS call that carries the member (for CreateOnly: the create call).
	Call string
	// Why explains a NotSent member, or how a member reaches ECS when it is not sent as is
	// (a reference resolved to an ARN).
	Why string
}

// Leaves returns the JSON path of every leaf member of the struct type t: nested structs are
// descended (the members of an embedded `json:",inline"` struct are the embedding struct's) ("runtimePlatform.cpuArchitecture"), lists of structs too with "[]"
// ("containerDefinitions[].image"); scalars, lists of scalars and maps are leaves.
func Leaves(t reflect.Type) []string {
	var out []string
	leaves(t, "", &out)
	slices.Sort(out)
	return out
}

func leaves(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if inline(f) {
			leaves(f.Type, prefix, out)
			continue
		}
		name := jsonName(f)
		if name == "" {
			continue
		}
		path := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			leaves(ft, path+".", out)
		case ft.Kind() == reflect.Slice && structElem(ft):
			leaves(ft.Elem(), path+"[].", out)
		default:
			*out = append(*out, path)
		}
	}
}

func structElem(t reflect.Type) bool {
	e := t.Elem()
	for e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	return e.Kind() == reflect.Struct
}

// inline reports an embedded struct whose members are the embedding struct's own (`json:",inline"`).
func inline(f reflect.StructField) bool {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() || isAlias(f) {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// Fill sets every leaf of the struct v points to a first value: "v1" for strings, 11 for numbers,
// false for booleans, ["v1"] and {"k": "v1"} for lists and maps, and one element for lists of
// structs. Pointers are allocated.
func Fill(t testing.TB, v any) {
	t.Helper()
	if err := fill(reflect.ValueOf(v).Elem()); err != nil {
		t.Fatal(err)
	}
}

func fill(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		return fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if jsonName(v.Type().Field(i)) == "" {
				continue
			}
			if err := fill(v.Field(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		return fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf("v1"))
		return nil
	}
	return setScalar(v, 1)
}

func setScalar(v reflect.Value, variant int) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d", variant))
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(10 + variant))
	case reflect.Bool:
		v.SetBool(variant != 1)
	default:
		return fmt.Errorf("spectest: no value for a %s: teach Fill and Change about it", v.Type())
	}
	return nil
}

// Change sets the leaf at path (as Leaves names it) of the struct v points to, filled by Fill, to
// a second value, different from Fill's: "v2", 12, true, ["v2"], {"k": "v2"}. In a list of structs
// it changes the first element.
func Change(t testing.TB, v any, path string) {
	t.Helper()
	if err := change(reflect.ValueOf(v).Elem(), strings.Split(path, ".")); err != nil {
		t.Fatalf("changing %s: %v", path, err)
	}
}

func change(v reflect.Value, parts []string) error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if len(parts) == 0 {
		return changeLeaf(v)
	}
	name, list := strings.CutSuffix(parts[0], "[]")
	f, err := fieldByJSON(v, name)
	if err != nil {
		return err
	}
	if list {
		if f.Len() == 0 {
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		}
		f = f.Index(0)
	}
	return change(f, parts[1:])
}

func changeLeaf(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		return setScalar(v.Index(0), 2)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf("v2"))
		return nil
	}
	return setScalar(v, 2)
}

func fieldByJSON(v reflect.Value, name string) (reflect.Value, error) {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("spectest: %s has no members", v.Type())
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if inline(f) {
			if found, err := fieldByJSON(v.Field(i), name); err == nil {
				return found, nil
			}
			continue
		}
		if jsonName(f) == name {
			return v.Field(i), nil
		}
	}
	return reflect.Value{}, fmt.Errorf("spectest: %s has no member %q", v.Type(), name)
}

// Top is the top-level spec member of a leaf path: "deploymentConfiguration" for
// "deploymentConfiguration.maximumPercent".
func Top(path string) string {
	top, _, _ := strings.Cut(path, ".")
	return strings.TrimSuffix(top, "[]")
}

// Classified checks that table classifies exactly the leaves of spec (a struct type): a leaf
// missing from the table, or a table entry that is no leaf, is reported through errorf.
func Classified(spec reflect.Type, table map[string]Member, errorf func(format string, args ...any)) {
	all := Leaves(spec)
	for _, leaf := range all {
		if _, ok := table[leaf]; !ok {
			errorf("spec member %s is not classified: add it to the table with the path its change takes to ECS, and make sure that path is implemented", leaf)
		}
	}
	for path, m := range table {
		if !slices.Contains(all, path) {
			errorf("the table classifies %s, which %s does not have", path, spec.Name())
		}
		if m.Path == 0 || (m.Path != NotSent && m.Call == "") || (m.Path == NotSent && m.Why == "") {
			errorf("%s: a classification needs a path, and a call (or, when not sent, why)", path)
		}
	}
}

// Table formats a classification as a Markdown table, for docs and reports.
func Table(table map[string]Member) string {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("| member | path | call | note |\n|---|---|---|---|\n")
	for _, k := range keys {
		m := table[k]
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k, m.Path, m.Call, m.Why)
	}
	return b.String()
}

// isAlias reports a field that is no member of its own: another controller's spelling of a member
// (a field with an `alias` tag, api/ecs/v1alpha1/aliases.go), moved into that member before any
// controller reads the spec, or refused by the API server. Neither Leaves nor Fill sees it.
func isAlias(f reflect.StructField) bool {
	return f.Tag.Get("alias") != ""
}
