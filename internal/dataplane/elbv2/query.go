package elbv2

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// form reads the members of a Query-protocol request (form-encoded, lists as NAME.member.N,
// structures as NAME.MEMBER) and remembers which keys it read, so that every key it did not read
// can be refused by name (leftover). There is no Go library for the server side of the AWS Query
// protocol; net/url parses the form and this type gives it the protocol's shape.
type form struct {
	v    url.Values
	used map[string]bool
	err  error
}

func newForm(v url.Values) *form {
	return &form{v: v, used: map[string]bool{"Action": true, "Version": true}}
}

// fail records the first error; later reads are no-ops in effect.
func (f *form) fail(err *Error) {
	if f.err == nil {
		f.err = err
	}
}

// str returns the member's value and whether it was given.
func (f *form) str(name string) (string, bool) {
	vs, ok := f.v[name]
	if !ok {
		return "", false
	}
	f.used[name] = true
	if len(vs) > 1 {
		f.fail(validation("%s: given %d times; give it once", name, len(vs)))
	}
	return vs[0], true
}

// required returns the member's value, or records a ValidationError naming it.
func (f *form) required(name string) string {
	v, ok := f.str(name)
	if !ok || v == "" {
		f.fail(validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name)))
	}
	return v
}

// int32 returns the member as a number in [lo, hi], nil when absent.
func (f *form) int32(name string, lo, hi int64) *int32 {
	raw, ok := f.str(name)
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(raw, 10, 32)
	if err != nil {
		f.fail(validation("%s: %q is not a number", name, raw))
		return nil
	}
	if n < lo || n > hi {
		f.fail(validation("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value between %d and %d", n, lowerFirst(name), lo, hi))
		return nil
	}
	v := int32(n)
	return &v
}

// bool returns the member as true/false, nil when absent.
func (f *form) bool(name string) *bool {
	raw, ok := f.str(name)
	if !ok {
		return nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		f.fail(validation("%s: %q is not true or false", name, raw))
		return nil
	}
	return &b
}

// list returns the strings of NAME.member.1, NAME.member.2, ... (an empty list is NAME="").
func (f *form) list(name string) []string {
	var out []string
	for _, p := range f.members(name) {
		v, _ := f.str(p)
		out = append(out, v)
	}
	return out
}

// members returns the prefixes NAME.member.1 ... NAME.member.N for which any key exists, in
// order; a gap is an error naming the list.
func (f *form) members(name string) []string {
	if _, ok := f.v[name]; ok {
		f.used[name] = true // an explicitly empty list
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `\.member\.(\d+)(\.|$)`)
	seen := map[int]bool{}
	for k := range f.v {
		if m := re.FindStringSubmatch(k); m != nil {
			n, _ := strconv.Atoi(m[1])
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for i := 1; i <= len(seen); i++ {
		if !seen[i] {
			f.fail(validation("%s: list members must be numbered from 1 without gaps (%s.member.%d is missing)", name, name, i))
			return nil
		}
		out = append(out, fmt.Sprintf("%s.member.%d", name, i))
	}
	return out
}

// leftover is a ValidationError naming the first member (sorted) no read consumed, or the first
// read error.
func (f *form) leftover(action string) error {
	if f.err != nil {
		return f.err
	}
	var left []string
	for k := range f.v {
		if !f.used[k] {
			left = append(left, k)
		}
	}
	if len(left) == 0 {
		return nil
	}
	slices.Sort(left)
	return validation("%s: member %s is not supported by the nodeless local load balancer (it would have no effect here); remove it", action, memberPath(left[0]))
}

// memberPath turns a form key into the member's path: Tags.member.1.Key → Tags[0].Key.
func memberPath(key string) string {
	re := regexp.MustCompile(`\.member\.(\d+)`)
	return re.ReplaceAllStringFunc(key, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, ".member."))
		return fmt.Sprintf("[%d]", n-1)
	})
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
