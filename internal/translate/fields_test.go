package translate

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var corev1Pkg = reflect.TypeFor[corev1.Pod]().PkgPath()

// route is how a classified field is reached from PodSpec: field names, "[]" entering a slice.
type route struct {
	typ    reflect.Type // the struct holding the field
	fields []reflect.StructField
	path   string // as Kubernetes prints it, slices at index 0
}

// classifiedFields walks every field reachable from PodSpec through descend rules (and inline
// structs) and returns, per rule key, the first route to it. Unclassified fields are reported.
func classifiedFields(t *testing.T) map[string]route {
	t.Helper()
	rules := fieldRules()
	routes := map[string]route{}
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type, via []reflect.StructField, path string)
	walk = func(typ reflect.Type, via []reflect.StructField, path string) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			here := append(slices.Clone(via), f)
			name := jsonName(f)
			if name == "" {
				walk(elemStruct(f.Type), here, path)
				continue
			}
			key := typ.Name() + "." + name
			p := path + "." + name
			rule, ok := rules[key]
			if !ok {
				t.Errorf("%s (%s %s): not classified; add a rule in fields.go: translated (where it goes), checked (which values are refused), refused (what to do instead) or ignored (why)", p, key, f.Type)
				continue
			}
			if rule.what != descend && rule.note == "" {
				t.Errorf("%s: the rule has no note", key)
			}
			if rule.what == refused && rule.reason == "" {
				t.Errorf("%s: a refused field needs a reason", key)
			}
			routes[key] = route{typ: typ, fields: here, path: p}
			if rule.what != descend {
				continue
			}
			st := elemStruct(f.Type)
			if st == nil || st.PkgPath() != corev1Pkg {
				t.Errorf("%s: descend rule on %s, which is not a struct of k8s.io/api/core/v1", key, f.Type)
				continue
			}
			if f.Type.Kind() == reflect.Slice {
				p += "[0]"
			}
			walk(st, here, p)
		}
	}
	walk(rootType, nil, "spec")
	return routes
}

// TestEveryPodFieldIsClassified fails on any field of PodSpec (and of what hangs off it) that
// nodeless neither translates, refuses by name, nor ignores for a stated reason — the field a
// new Kubernetes release adds lands here first — and on rules naming a field that no longer
// exists.
func TestEveryPodFieldIsClassified(t *testing.T) {
	routes := classifiedFields(t)
	for key := range fieldRules() {
		if _, ok := routes[key]; !ok {
			t.Errorf("rule %s names no field reachable from PodSpec (renamed or removed upstream?)", key)
		}
	}
	if testing.Verbose() {
		byWhat := map[disposition][]string{}
		for key, r := range routes {
			p := strings.ReplaceAll(r.path, "spec.initContainers[0].", "spec.containers[*].")
			p = strings.ReplaceAll(p, "[0]", "[*]")
			byWhat[fieldRules()[key].what] = append(byWhat[fieldRules()[key].what], p)
		}
		for _, d := range []disposition{translated, checked, refused, ignored} {
			sort.Strings(byWhat[d])
			t.Logf("%s (%d): %s", [...]string{"", "descend", "translated", "checked", "refused", "ignored"}[d], len(byWhat[d]), strings.Join(byWhat[d], ", "))
		}
	}
}

// TestEveryRefusedFieldIsRefused sets each field classified `refused` on an otherwise valid Pod
// and expects Translate to name it with the rule's reason.
func TestEveryRefusedFieldIsRefused(t *testing.T) {
	routes := classifiedFields(t)
	for key, rule := range fieldRules() {
		if rule.what != refused {
			continue
		}
		r := routes[key]
		t.Run(r.path, func(t *testing.T) {
			pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
			setAlong(reflect.ValueOf(&pod.Spec).Elem(), r.fields)
			problems := refusal(t, pod)
			for _, p := range problems {
				if p.Path == r.path && p.Reason == rule.reason {
					return
				}
			}
			t.Errorf("want a %s problem at %s, got %v", rule.reason, r.path, problems)
		})
	}
}

// setAlong follows fields from v, making pointers and first slice elements as it goes, and sets
// the last field to a non-zero value.
func setAlong(v reflect.Value, fields []reflect.StructField) {
	for i, f := range fields {
		fv := v.FieldByIndex(f.Index)
		if i == len(fields)-1 {
			setNonZero(fv)
			return
		}
		v = enter(fv)
	}
}

// enter returns the struct a field holds, allocating a pointer or a first slice element.
func enter(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return enter(v.Elem())
	case reflect.Slice:
		if v.Len() == 0 {
			e := reflect.New(v.Type().Elem()).Elem()
			switch x := e.Addr().Interface().(type) {
			case *corev1.Volume:
				x.Name = "vol"
			case *corev1.Container:
				x.Name, x.Image = "c", "img"
			}
			v.Set(reflect.Append(v, e))
		}
		return enter(v.Index(0))
	}
	return v
}

func setNonZero(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		if e := v.Elem(); e.Kind() != reflect.Struct {
			setNonZero(e)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem())
	default:
		panic(fmt.Sprintf("setNonZero: %s", v.Kind()))
	}
}
