package controlplane

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apiserverfeatures "k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/component-base/featuregate"
)

// TestFeatureGatesTakeEffect builds the components' options as Up does and checks the gates that
// featureGates sets are in effect in the process-wide gates both components read.
func TestFeatureGatesTakeEffect(t *testing.T) {
	dir := t.TempDir()
	p, err := EnsurePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newComponentOptions(Config{StateDir: dir}.withDefaults(), p); err != nil {
		t.Fatalf("newComponentOptions: %v", err)
	}
	want := map[featuregate.Feature]bool{
		apiserverfeatures.UnknownVersionInteroperabilityProxy: false,
	}
	got := map[featuregate.Feature]bool{}
	for gate := range want {
		got[gate] = utilfeature.DefaultFeatureGate.Enabled(gate)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("feature gates (-want +got):\n%s", diff)
	}
}
