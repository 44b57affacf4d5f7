package v1alpha1

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestAddToSchemeRegistersEveryKind holds the kinds that AddToScheme registers equal to the kinds of
// this package: a kind left out of addKnownTypes would fail only at run time, when a client first
// meets it ("no kind is registered for the type").
func TestAddToSchemeRegistersEveryKind(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatalf("AddToScheme: %v", err)
	}
	var got []string
	for kind := range s.KnownTypes(GroupVersion) {
		got = append(got, kind)
	}
	slices.Sort(got)
	want := []string{
		"Cluster", "ClusterList", "CreateOptions", "DeleteOptions", "GetOptions", "ListOptions",
		"PatchOptions", "Service", "ServiceList", "Task", "TaskDefinition", "TaskDefinitionList",
		"TaskList", "UpdateOptions", "WatchEvent",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kinds in %s (-want +got):\n%s", GroupVersion, diff)
	}
}
