package crd

import (
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestServiceConnectClientAliasPort: the Service CRD's
// spec.serviceConnectConfiguration.services[].clientAliases[].port takes 1 to 65535, as the
// API server's schema validation (the code kube-apiserver runs on create) checks it: port 0,
// which ECS and the local data plane refuse, is refused before it reaches them.
func TestServiceConnectClientAliasPort(t *testing.T) {
	alias := memberSchema(t, "Service", "spec", "serviceConnectConfiguration", "services[]", "clientAliases[]")
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&alias, &internal, nil); err != nil {
		t.Fatal(err)
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(&internal)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		port    int64
		wantErr string // part of the error; "" when accepted
	}{
		{0, "should be greater than or equal to 1"},
		{-1, "should be greater than or equal to 1"},
		{1, ""},
		{8080, ""},
		{65535, ""},
		{65536, "should be less than or equal to 65535"},
	} {
		path := field.NewPath("spec", "serviceConnectConfiguration", "services").Index(0).Child("clientAliases").Index(0)
		errs := apiservervalidation.ValidateCustomResource(path, map[string]any{"port": tc.port, "dnsName": "web.shop"}, validator)
		got := errs.ToAggregate()
		switch {
		case tc.wantErr == "" && got != nil:
			t.Errorf("port %d: refused: %v", tc.port, got)
		case tc.wantErr != "" && (got == nil || !strings.Contains(got.Error(), tc.wantErr) || !strings.Contains(got.Error(), path.Child("port").String())):
			t.Errorf("port %d: error %v, want one naming %s and saying %q", tc.port, got, path.Child("port"), tc.wantErr)
		}
	}
}

// memberSchema is the schema of a member of kind's CRD, by its path of property names from the
// top ("name[]" steps into a list's items).
func memberSchema(t *testing.T, kind string, path ...string) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	crds, err := Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range crds {
		if c.Spec.Names.Kind != kind {
			continue
		}
		s := *c.Spec.Versions[0].Schema.OpenAPIV3Schema
		for _, step := range path {
			name := strings.TrimSuffix(step, "[]")
			next, ok := s.Properties[name]
			if !ok {
				t.Fatalf("the %s CRD has no %s at %s", kind, name, strings.Join(path, "."))
			}
			s = next
			if strings.HasSuffix(step, "[]") {
				if s.Items == nil || s.Items.Schema == nil {
					t.Fatalf("the %s CRD's %s is not a list", kind, name)
				}
				s = *s.Items.Schema
			}
		}
		return s
	}
	t.Fatalf("no %s CRD among the generated CRDs", kind)
	return apiextensionsv1.JSONSchemaProps{}
}
