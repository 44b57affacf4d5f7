package controlplane

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apiserver/pkg/util/compatibility"
	cliflag "k8s.io/component-base/cli/flag"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// serviceAccountIssuer is the `iss` of service-account tokens, the in-cluster name of the API.
const serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// componentOptions holds the parsed options of the three Kubernetes components.
type componentOptions struct {
	apiServer *apiserveroptions.ServerRunOptions
	manager   *kcmoptions.KubeControllerManagerOptions
	scheduler *scheduleroptions.Options
}

// newComponentOptions builds the components' options from the same flags their binaries take,
// so that every default the upstream commands apply is applied here too.
//
// Embedding trap (up to Kubernetes 1.34): the controller-manager's options and flags are created
// BEFORE the API server's. KubeControllerManagerOptions.Flags overrode a default of the
// process-wide feature gates (WatchListClient), which panics once any flag set holds the gates, as
// the API server's does. WatchListClient is on by default since 1.35 and 1.37 has no override; the
// order stays, as it costs nothing should a component override a default again.
//
// We never call the upstream cobra commands: kube-apiserver's command sets up the process signal
// handler (genericapiserver.SetupSignalContext, which panics when called a second time), and the
// controller-manager's and scheduler's commands re-apply the logging configuration that the API
// server already applied and fail. We parse the flags ourselves and call each component's Run
// directly. The three share the process-wide feature gates: only the API server's flags set them.
func newComponentOptions(cfg Config, p *PKI) (*componentOptions, error) {
	manager, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager options: %w", err)
	}
	mfs := manager.Flags(kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(),
		kcmapp.ControllerAliases())
	apiServer := apiserveroptions.NewServerRunOptions()
	afs := apiServer.Flags()
	scheduler := scheduleroptions.NewOptions()

	if err := parseFlags("kube-controller-manager", mfs, managerArgs(cfg, p)); err != nil {
		return nil, err
	}
	if err := parseFlags("kube-apiserver", afs, apiServerArgs(cfg, p)); err != nil {
		return nil, err
	}
	if err := parseFlags("kube-scheduler", *scheduler.Flags, schedulerArgs(cfg)); err != nil {
		return nil, err
	}
	// What the upstream commands do in PersistentPreRunE: apply emulation versions and feature
	// gates from the (shared) registry. Both components share it, so once is enough.
	if err := compatibility.DefaultComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("applying feature gates: %w", err)
	}
	return &componentOptions{apiServer: apiServer, manager: manager, scheduler: scheduler}, nil
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
		// The kubelet API of the virtual node: the API server calls it (logs, exec, attach,
		// port-forward) at the node's InternalIP (127.0.0.1) with its own client certificate, and
		// verifies the node's serving certificate with the cluster CA.
		"--kubelet-client-certificate=" + p.KubeletClientCert,
		"--kubelet-client-key=" + p.KubeletClientKey,
		"--kubelet-certificate-authority=" + p.CACert,
		"--kubelet-preferred-address-types=InternalIP",
		// TaintNodesByCondition (on by default) taints every Node at creation with
		// node.kubernetes.io/not-ready:NoSchedule, which only node-lifecycle-controller removes
		// once the node is Ready (plugin/pkg/admission/nodetaint/admission.go). node-lifecycle is
		// off (see controllerChoices): left on, the virtual node would stay unschedulable forever.
		"--disable-admission-plugins=TaintNodesByCondition",
		// There are no nodes and no kube-proxy: the `kubernetes` Service's endpoints would point at
		// 127.0.0.1, which the reconciler complains about. Nothing routes to them anyway.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--cert-dir=" + p.Dir,
		"--feature-gates=" + featureGates,
	}
}

// featureGates (the --feature-gates value, comma-separated Name=bool) departs from the release's
// defaults only where a default does not fit one API server with no nodes; the gates are
// process-wide, shared with the controller-manager. docs/upgrading-kubernetes.md says which gates
// to review at each upgrade.
//
// UnknownVersionInteroperabilityProxy (beta, on by default since 1.36) proxies requests between
// API servers of different releases. nodeless runs exactly one; left on, it renews a peer-endpoint
// lease in etcd every 10 s that nothing reads, doubling etcd's writes at idle (6 to 12 a minute).
const featureGates = "UnknownVersionInteroperabilityProxy=false"

func managerArgs(cfg Config, p *PKI) []string {
	return []string{
		"--kubeconfig=" + managerKubeconfig(cfg.StateDir),
		// taint-eviction-controller runs beside it instead (ControllerManager.runTaintEviction).
		"--controllers=" + strings.Join(slices.DeleteFunc(slices.Clone(cfg.Controllers), isTaintEviction), ","),
		"--leader-elect=false",
		// No serving port: nothing scrapes it, and it would be one more port to collide.
		"--secure-port=0",
		"--service-account-private-key-file=" + p.SAKey,
		"--root-ca-file=" + p.CACert,
		"--use-service-account-credentials=false",
		// Only the kubernetes.io/kube-apiserver-client signer (see controllerChoices): the kubelet
		// signers stay unconfigured, there is no kubelet.
		"--cluster-signing-kube-apiserver-client-cert-file=" + p.CACert,
		"--cluster-signing-kube-apiserver-client-key-file=" + p.CAKey,
	}
}

// schedulerArgs are kubeadm's flags for kube-scheduler, minus leader election (one scheduler) and
// the serving port (nothing scrapes it). No --config: the default profile.
func schedulerArgs(cfg Config) []string {
	return []string{
		"--kubeconfig=" + schedulerKubeconfig(cfg.StateDir),
		"--leader-elect=false",
		"--secure-port=0",
	}
}
