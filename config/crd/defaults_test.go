package crd

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
)

// TestServiceStatusCountsDefaultToZero: `kubectl get ecss` prints DESIRED, RUNNING and PENDING
// from the status counts. The controller writes the status as a merge patch, which leaves out a
// count that was 0 and is 0 still, so without a schema default a Service that never had a
// pending task showed an empty PENDING column. The API server defaults them (the same
// structural defaulting it runs on every read and write).
func TestServiceStatusCountsDefaultToZero(t *testing.T) {
	crds, err := Objects()
	if err != nil {
		t.Fatal(err)
	}
	var schema *apiextensionsv1.JSONSchemaProps
	for _, c := range crds {
		if c.Spec.Names.Kind == "Service" {
			schema = c.Spec.Versions[0].Schema.OpenAPIV3Schema
		}
	}
	if schema == nil {
		t.Fatal("no Service CRD")
	}
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(schema, internal, nil); err != nil {
		t.Fatal(err)
	}
	s, err := structuralschema.NewStructural(internal)
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{"status": map[string]any{"status": "ACTIVE", "runningCount": int64(2)}}
	defaulting.Default(obj, s)
	want := map[string]any{"status": map[string]any{"status": "ACTIVE", "desiredCount": int64(0), "runningCount": int64(2), "pendingCount": int64(0)}}
	if diff := cmp.Diff(want, obj); diff != "" {
		t.Errorf("status after the API server's defaulting (-want +got):\n%s", diff)
	}
}
