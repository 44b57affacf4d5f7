package crdinstall

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	manifest := []byte(`---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: as.x.dev}
---
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: bs.x.dev}
`)
	crds, err := Decode([][]byte{manifest})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range crds {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"as.x.dev", "bs.x.dev"}, names); diff != "" {
		t.Errorf("CRD names (-want +got):\n%s", diff)
	}

	_, err = Decode([][]byte{[]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")})
	if err == nil || !strings.Contains(err.Error(), "not a CustomResourceDefinition") {
		t.Errorf("ConfigMap manifest: got %v, want not a CustomResourceDefinition", err)
	}
}
