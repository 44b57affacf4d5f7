package elbv2

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestForm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		form     string
		read     func(f *form) any
		want     any
		leftover string
	}{
		{"list", "Names.member.1=a&Names.member.2=b", func(f *form) any { return f.list("Names") }, []string{"a", "b"}, ""},
		{"empty list", "Names=", func(f *form) any { return f.list("Names") }, []string(nil), ""},
		{"list with a gap", "Names.member.1=a&Names.member.3=c", func(f *form) any { return f.list("Names") }, []string(nil), "Names.member.2 is missing"},
		{"number out of range", "Port=70000", func(f *form) any { return f.int32("Port", 1, 65535) == nil }, true, "between 1 and 65535"},
		{"not a number", "Port=x", func(f *form) any { return f.int32("Port", 1, 65535) == nil }, true, `Port: "x" is not a number`},
		{"member given twice", "Name=a&Name=b", func(f *form) any { v, _ := f.str("Name"); return v }, "a", "Name: given 2 times"},
		{"an unread member is named", "Name=a&Tags.member.1.Key=k", func(f *form) any { v, _ := f.str("Name"); return v }, "a", "member Tags[0].Key is not supported"},
		{"a required member", "", func(f *form) any { return f.required("Name") }, "", "Value null at 'name'"},
		{"bool", "HealthCheckEnabled=maybe", func(f *form) any { return f.bool("HealthCheckEnabled") == nil }, true, "not true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.form)
			if err != nil {
				t.Fatal(err)
			}
			f := newForm(v)
			if diff := cmp.Diff(tc.want, tc.read(f)); diff != "" {
				t.Errorf("read (-want +got):\n%s", diff)
			}
			err = f.leftover("Op")
			switch {
			case tc.leftover == "" && err != nil:
				t.Errorf("leftover: %v", err)
			case tc.leftover != "" && (err == nil || !contains(err.Error(), tc.leftover)):
				t.Errorf("leftover: %v, want an error with %q", err, tc.leftover)
			}
		})
	}
}

func TestCodeMatches(t *testing.T) {
	for _, tc := range []struct {
		matcher string
		code    int
		want    bool
	}{
		{"200", 200, true}, {"200", 204, false}, {"200-399", 302, true}, {"200-399", 404, false},
		{"200,404", 404, true}, {"200-299,500", 500, true}, {"200-299,500", 503, false},
	} {
		if got := codeMatches(tc.matcher, tc.code); got != tc.want {
			t.Errorf("codeMatches(%q, %d) = %v, want %v", tc.matcher, tc.code, got, tc.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
