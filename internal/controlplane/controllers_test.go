package controlplane

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

// TestEveryControllerIsDecided holds controllerChoices equal to the controllers of the release:
// a Kubernetes upgrade that adds, renames or removes one fails here until someone decides it,
// with a reason (docs/upgrading-kubernetes.md).
func TestEveryControllerIsDecided(t *testing.T) {
	var decided []string
	for _, c := range controllerChoices {
		if c.why == "" {
			t.Errorf("controller %s: no reason given for running it or not", c.name)
		}
		decided = append(decided, c.name)
	}
	slices.Sort(decided)
	if dup := slices.Compact(slices.Clone(decided)); len(dup) != len(decided) {
		t.Errorf("a controller is decided twice: %v", decided)
	}
	if diff := cmp.Diff(kcmapp.KnownControllers(), decided); diff != "" {
		t.Errorf("controllers of kube-controller-manager (-known +decided in controllerChoices):\n%s", diff)
	}
}

// TestDefaultControllers checks the decisions that matter most to a user of `nodeless up`, and
// that the list cannot be changed from outside.
func TestDefaultControllers(t *testing.T) {
	on := DefaultControllers()
	for _, name := range []string{
		"deployment-controller", "replicaset-controller", "statefulset-controller", "job-controller",
		"cronjob-controller", "endpointslice-controller", "disruption-controller",
		"horizontal-pod-autoscaler-controller", "garbage-collector-controller",
		"root-ca-certificate-publisher-controller", "serviceaccount-controller",
		"persistentvolumeclaim-protection-controller",
	} {
		if !slices.Contains(on, name) {
			t.Errorf("%s is off, want on", name)
		}
	}
	for _, name := range []string{
		"daemonset-controller", "node-lifecycle-controller", "node-ipam-controller",
		"persistentvolume-attach-detach-controller", "ttl-controller",
	} {
		if slices.Contains(on, name) {
			t.Errorf("%s is on, want off", name)
		}
	}
	on[0] = "changed"
	if DefaultControllers()[0] == "changed" {
		t.Errorf("DefaultControllers returns a shared slice")
	}
}
