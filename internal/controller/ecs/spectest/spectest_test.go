package spectest

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type inner struct {
	N   *int32            `json:"n,omitempty"`
	Tag map[string]string `json:"tag,omitempty"`
}

type sample struct {
	Name string   `json:"name"`
	On   *bool    `json:"on,omitempty"`
	Args []string `json:"args,omitempty"`
	In   *inner   `json:"in,omitempty"`
	List []inner  `json:"list,omitempty"`
	Skip string   `json:"-"`
}

func TestLeavesFillChange(t *testing.T) {
	want := []string{"args", "in.n", "in.tag", "list[].n", "list[].tag", "name", "on"}
	if diff := cmp.Diff(want, Leaves(reflect.TypeFor[sample]())); diff != "" {
		t.Errorf("Leaves (-want +got):\n%s", diff)
	}
	var base sample
	Fill(t, &base)
	if base.Name != "v1" || *base.On || base.Args[0] != "v1" || *base.In.N != 11 || base.List[0].Tag["k"] != "v1" {
		t.Errorf("Fill left a member unset: %+v", base)
	}
	for _, path := range want {
		var changed sample
		Fill(t, &changed)
		Change(t, &changed, path)
		if cmp.Equal(base, changed) {
			t.Errorf("Change(%s) changed nothing", path)
		}
	}
	if got := Top("list[].n"); got != "list" {
		t.Errorf("Top = %q", got)
	}
	var errs []string
	Classified(reflect.TypeFor[sample](), map[string]Member{"name": {Path: InPlace, Call: "X"}, "gone": {Path: NotSent}},
		func(format string, args ...any) { errs = append(errs, format) })
	if len(errs) != 8 { // 6 unclassified, 1 stale entry, 1 incomplete entry
		t.Errorf("Classified reported %d problems, want 8: %v", len(errs), errs)
	}
}
