package controlplane

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apiserver/pkg/util/compatibility"
	cliflag "k8s.io/component-base/cli/flag"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// serviceAccountIssuer is the `iss` of service-account tokens, the in-cluster name of the API.
const serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// componentOptions holds the parsed options of the two Kubernetes components.
type componentOptions struct {
	apiServer *apiserveroptions.ServerRunOptions
	manager   *kcmoptions.KubeControllerManagerOptions
}

// newComponentOptions builds both components' options from the same flags their binaries take,
// so that every default the upstream commands apply is applied here too.
//
// Embedding trap: the controller-manager's options and flags are created BEFORE the API server's.
// KubeControllerManagerOptions.Flags overrides a default of the process-wide feature gates
// (WatchListClient), which panics once any flag set holds the gates, as the API server's does.
//
// We never call the upstream cobra commands: kube-apiserver's command sets up the process signal
// handler (genericapiserver.SetupSignalContext, which panics when called a second time), and the
// controller-manager's command re-applies the logging configuration that the API server already
// applied and fails. We parse the flags ourselves and call each component's Run directly.
func newComponentOptions(cfg Config, p *PKI) (*componentOptions, error) {
	manager, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager options: %w", err)
	}
	mfs := manager.Flags(kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(),
		kcmapp.ControllerAliases())
	apiServer := apiserveroptions.NewServerRunOptions()
	afs := apiServer.Flags()

	if err := parseFlags("kube-controller-manager", mfs, managerArgs(cfg, p)); err != nil {
		return nil, err
	}
	if err := parseFlags("kube-apiserver", afs, apiServerArgs(cfg, p)); err != nil {
		return nil, err
	}
	// What the upstream commands do in PersistentPreRunE: apply emulation versions and feature
	// gates from the (shared) registry. Both components share it, so once is enough.
	if err := compatibility.DefaultComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("applying feature gates: %w", err)
	}
	return &componentOptions{apiServer: apiServer, manager: manager}, nil
}

func parseFlags(name string, named cliflag.NamedFlagSets, args []string) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s flags: %w", name, err)
	}
	return nil
}

func apiServerArgs(cfg Config, p *PKI) []string {
	return []string{
		"--bind-address=" + Host,
		"--advertise-address=" + Host,
		"--secure-port=" + strconv.Itoa(cfg.APIServerPort),
		"--tls-cert-file=" + p.ServingCert,
		"--tls-private-key-file=" + p.ServingKey,
		"--client-ca-file=" + p.CACert,
		"--etcd-servers=" + cfg.etcdClientURL(),
		"--etcd-cafile=" + p.CACert,
		"--etcd-certfile=" + p.EtcdClientCert,
		"--etcd-keyfile=" + p.EtcdClientKey,
		"--authorization-mode=RBAC",
		"--anonymous-auth=false",
		"--service-account-issuer=" + serviceAccountIssuer,
		"--service-account-key-file=" + p.SAPub,
		"--service-account-signing-key-file=" + p.SAKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		// There are no nodes and no kube-proxy: the `kubernetes` Service's endpoints would point at
		// 127.0.0.1, which the reconciler complains about. Nothing routes to them anyway.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--cert-dir=" + p.Dir,
	}
}

func managerArgs(cfg Config, p *PKI) []string {
	return []string{
		"--kubeconfig=" + managerKubeconfig(cfg.StateDir),
		"--controllers=" + strings.Join(cfg.Controllers, ","),
		"--leader-elect=false",
		// No serving port: nothing scrapes it, and it would be one more port to collide.
		"--secure-port=0",
		"--service-account-private-key-file=" + p.SAKey,
		"--root-ca-file=" + p.CACert,
		"--use-service-account-credentials=false",
	}
}
