package crd

import "testing"

func TestObjectsDecode(t *testing.T) {
	crds, err := Objects()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"clusters.ecs.nodeless.dev":        true,
		"taskdefinitions.ecs.nodeless.dev": true,
		"services.ecs.nodeless.dev":        true,
		"tasks.ecs.nodeless.dev":           true,
	}
	for _, c := range crds {
		if !want[c.Name] {
			t.Errorf("unexpected CRD %s", c.Name)
		}
		delete(want, c.Name)
		if len(c.Spec.Versions) != 1 || c.Spec.Versions[0].Subresources == nil || c.Spec.Versions[0].Subresources.Status == nil {
			t.Errorf("CRD %s: want one version with a status subresource", c.Name)
		}
	}
	for name := range want {
		t.Errorf("CRD %s missing", name)
	}
}
