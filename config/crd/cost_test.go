package crd

import (
	"context"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
)

// TestCRDsPassTheAPIServersValidation runs the API server's own validation of a
// CustomResourceDefinition (the code kube-apiserver runs on create) over every generated CRD,
// offline: structural schema, and the CEL rules' compilation and estimated cost, per rule and
// for the whole schema. A rule whose cost the server cannot bound (a string comparison inside a
// list without maxItems, a list without maxItems walked by all()) fails here, naming it, instead
// of failing `nodeless up` when it installs the CRDs.
func TestCRDsPassTheAPIServersValidation(t *testing.T) {
	crds, err := Objects()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the check sees an unbounded rule", func(t *testing.T) {
		bad := crds[0].DeepCopy()
		spec := bad.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
		spec.Properties["unbounded"] = apiextensionsv1.JSONSchemaProps{Type: "array",
			Items:        &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}},
			XValidations: apiextensionsv1.ValidationRules{{Rule: "self.all(a, self.all(b, a == b))"}}}
		bad.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
		if errs := validate(t, bad); len(errs) == 0 {
			t.Error("a rule comparing every pair of an unbounded list of unbounded strings passed")
		}
	})
	for _, v1 := range crds {
		t.Run(v1.Name, func(t *testing.T) {
			for _, e := range validate(t, v1) {
				t.Errorf("%s", e)
			}
		})
	}
}

// validate is what the API server answers to creating crd.
func validate(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) []error {
	t.Helper()
	internal := &apiextensions.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
		t.Fatal(err)
	}
	// The server validates what it stores: status as a new object has it.
	internal.Status.StoredVersions = []string{internal.Spec.Versions[0].Name}
	var out []error
	for _, e := range validation.ValidateCustomResourceDefinition(context.Background(), internal) {
		out = append(out, e)
	}
	return out
}
