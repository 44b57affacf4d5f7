package controlplane

import "os"

// Exported for the tests of package controlplane_test, which run on the real control plane
// (internal/testenv imports this package, so they cannot live in package controlplane).
var (
	ApplyClusterObjects  = applyClusterObjects
	DaemonSetPolicyName  = daemonSetPolicyName
	KubeletClientBinding = kubeletClientBinding
)

// RemoveBuiltOptions removes the state dir of the options testOptions built, if any.
func RemoveBuiltOptions() {
	if builtOptions.stateDir != "" {
		_ = os.RemoveAll(builtOptions.stateDir) // a temp dir; nothing to do if it fails
	}
}
