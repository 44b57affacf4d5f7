// Command kube-defaults prints the defaults of the Kubernetes release this module builds that an
// upgrade must review for the embedded control plane: every feature gate with its default and
// stage, every kube-apiserver admission plugin (on or off by default) and every
// kube-controller-manager controller (on or off by default), one sorted line each. Run it on the
// old and the new tree and diff the two (docs/upgrading-kubernetes.md):
//
//	go run ./hack/kube-defaults > /tmp/defaults-new.txt
//
// The defaults are the release's own, before nodeless's flags (internal/controlplane/options.go)
// change any of them.
package main

import (
	"fmt"
	"os"
	"slices"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app" // registers the API server's feature gates
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kubeapiserveroptions "k8s.io/kubernetes/pkg/kubeapiserver/options"
)

func main() {
	lines := append(featureGates(), admissionPlugins()...)
	lines = append(lines, controllers()...)
	slices.Sort(lines)
	for _, l := range lines {
		if _, err := fmt.Println(l); err != nil {
			fmt.Fprintln(os.Stderr, "kube-defaults:", err)
			os.Exit(1)
		}
	}
}

// featureGates is one "feature-gate NAME default=BOOL stage=STAGE" line per gate, at the release's
// own version (no emulation version set).
func featureGates() []string {
	var out []string
	for name, spec := range utilfeature.DefaultMutableFeatureGate.GetAll() {
		stage := string(spec.PreRelease)
		if stage == "" {
			stage = "GA"
		}
		out = append(out, fmt.Sprintf("feature-gate %s default=%t stage=%s", name, spec.Default, stage))
	}
	return out
}

// admissionPlugins is one "admission-plugin NAME on|off" line per kube-apiserver plugin.
func admissionPlugins() []string {
	off := kubeapiserveroptions.DefaultOffAdmissionPlugins()
	var out []string
	for _, p := range kubeapiserveroptions.AllOrderedPlugins {
		out = append(out, fmt.Sprintf("admission-plugin %s %s", p, onOff(!off.Has(p))))
	}
	return out
}

// controllers is one "controller NAME on|off" line per kube-controller-manager controller.
func controllers() []string {
	disabled := kcmapp.ControllersDisabledByDefault()
	var out []string
	for _, c := range kcmapp.KnownControllers() {
		out = append(out, fmt.Sprintf("controller %s %s", c, onOff(!slices.Contains(disabled, c))))
	}
	return out
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
