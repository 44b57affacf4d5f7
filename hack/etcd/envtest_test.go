package main

import (
	"os"
	"testing"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestEnvtestWithBuiltAssets checks that the binaries of hack/build-kubebuilder-assets.sh work
// with controller-runtime's envtest. It runs only when KUBEBUILDER_ASSETS is set:
//
//	eval "$(hack/build-kubebuilder-assets.sh)" && go test ./hack/etcd
func TestEnvtestWithBuiltAssets(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS not set; see hack/build-kubebuilder-assets.sh")
	}
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	}()
	v, err := kubernetes.NewForConfigOrDie(cfg).Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	t.Logf("envtest API server %s", v.GitVersion)
}
