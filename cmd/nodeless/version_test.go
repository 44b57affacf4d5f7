package main

import (
	"bytes"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
	etcdversion "go.etcd.io/etcd/api/v3/version"
)

func TestKubernetesRelease(t *testing.T) {
	tests := []struct {
		name, stamped, module, want string
	}{
		{"stamped as the module", "v1.37.2", "v1.37.2", "v1.37.2"},
		{"module unknown", "v1.37.2", "", "v1.37.2"},
		{"not stamped", "v0.0.0-master+$Format:%H$", "v1.37.2",
			"v1.37.2 (not stamped: the API server and kubectl report v0.0.0-master+$Format:%H$; build with `make build`, which uses hack/kube-version-ldflags.sh)"},
		{"stamped with another release", "v1.34.4", "v1.37.2",
			"v1.37.2 (but stamped v1.34.4: rebuild with `make build`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kubernetesRelease(tt.stamped, tt.module); got != tt.want {
				t.Errorf("kubernetesRelease(%q, %q):\n got %s\nwant %s", tt.stamped, tt.module, got, tt.want)
			}
		})
	}
}

func TestPrintVersion(t *testing.T) {
	deps := []*debug.Module{
		{Path: "github.com/spf13/cobra", Version: "v1.10.2"},
		{Path: "go.etcd.io/etcd/server/v3", Version: "v3.7.3"},
		{Path: "k8s.io/kubernetes", Version: "v1.37.2"},
		{Path: "sigs.k8s.io/controller-runtime", Version: "v0.25.2"},
	}
	var out bytes.Buffer
	printVersion(&out, "v1.37.2", deps)
	want := "nodeless " + version + "\n" +
		"  kubernetes v1.37.2\n" +
		"  etcd " + etcdversion.Version + "\n" +
		"  k8s.io/kubernetes v1.37.2\n" +
		"  go.etcd.io/etcd/server/v3 v3.7.3\n" +
		"  sigs.k8s.io/controller-runtime v0.25.2\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("nodeless version (-want +got):\n%s", diff)
	}
}
