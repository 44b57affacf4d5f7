package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	etcdversion "go.etcd.io/etcd/api/v3/version"
	kubeversion "k8s.io/component-base/version"
)

// version is set at link time by the Makefile (-X main.version=...).
var version = "dev"

// kubernetesModule is the module whose release nodeless embeds (kube-apiserver,
// kube-controller-manager, kubectl).
const kubernetesModule = "k8s.io/kubernetes"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the nodeless version and the versions it embeds",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var deps []*debug.Module
			if bi, ok := debug.ReadBuildInfo(); ok {
				deps = bi.Deps
			}
			printVersion(cmd.OutOrStdout(), kubeversion.Get().GitVersion, deps)
			return nil
		},
	}
}

// printVersion writes nodeless's version, the Kubernetes and etcd releases it embeds, then the
// versions of the main modules it is built from, as deps (the binary's build info) has them:
//
//	nodeless v0.3.0
//	  kubernetes v1.37.2
//	  etcd 3.7.3
//	  k8s.io/kubernetes v1.37.2
//	  ...
//
// stamped is the version the embedded components report (`kubectl version`, the API server's
// /version): k8s.io/component-base/version, set at link time by hack/kube-version-ldflags.sh.
func printVersion(w io.Writer, stamped string, deps []*debug.Module) {
	fmt.Fprintf(w, "nodeless %s\n", version)
	fmt.Fprintf(w, "  kubernetes %s\n", kubernetesRelease(stamped, moduleVersion(deps, kubernetesModule)))
	fmt.Fprintf(w, "  etcd %s\n", etcdversion.Version)
	for _, path := range []string{kubernetesModule, "github.com/containerd/containerd", "go.etcd.io/etcd/server/v3",
		"github.com/aws/aws-sdk-go-v2/service/ecs", "sigs.k8s.io/controller-runtime"} {
		if v := moduleVersion(deps, path); v != "" {
			fmt.Fprintf(w, "  %s %s\n", path, v)
		}
	}
}

// kubernetesRelease is the Kubernetes release line of `nodeless version`: the stamped version
// when it matches the k8s.io/kubernetes module (or the module is unknown), otherwise the module's
// version with what is wrong with the stamp, so that a binary built without
// hack/kube-version-ldflags.sh says so instead of showing v0.0.0-master.
func kubernetesRelease(stamped, module string) string {
	switch {
	case module == "" || stamped == module:
		return stamped
	case strings.HasPrefix(stamped, "v0.0.0"):
		return module + " (not stamped: the API server and kubectl report " + stamped +
			"; build with `make build`, which uses hack/kube-version-ldflags.sh)"
	default:
		return module + " (but stamped " + stamped + ": rebuild with `make build`)"
	}
}

func moduleVersion(deps []*debug.Module, path string) string {
	for _, dep := range deps {
		if dep.Path == path {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return ""
}
