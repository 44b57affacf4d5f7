package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
)

// upFlags are the flags of `nodeless up`.
type upFlags struct {
	stateDir         string
	apiServerPort    int
	etcdClientPort   int
	etcdPeerPort     int
	controlPlaneOnly bool
	verbosity        int
	logRotation      controlplane.LogRotation
	parts            partsFlags
}

func newUpCmd() *cobra.Command {
	f := upFlags{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the Kubernetes API (kube-apiserver, etcd, kube-controller-manager), nodeless's controllers and the local data plane",
		Long: `up runs a real Kubernetes control plane on 127.0.0.1 with nodeless's controllers and its local
data plane behind it, until Ctrl-C. State (certificates, etcd data, kubeconfig, logs) lives in
--state-dir; running up again keeps every object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkUpFlags(cmd.Flags()); err != nil {
				return err
			}
			return runUp(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.stateDir, "state-dir", controlplane.DefaultStateDir(), "where certificates, etcd data, the kubeconfig and logs are kept ($NODELESS_STATE_DIR)")
	fs.IntVar(&f.apiServerPort, "apiserver-port", controlplane.DefaultAPIServerPort, "kube-apiserver port on 127.0.0.1")
	fs.IntVar(&f.etcdClientPort, "etcd-client-port", controlplane.DefaultEtcdClientPort, "etcd client port on 127.0.0.1")
	fs.IntVar(&f.etcdPeerPort, "etcd-peer-port", controlplane.DefaultEtcdPeerPort, "etcd peer port on 127.0.0.1")
	fs.BoolVar(&f.controlPlaneOnly, "control-plane-only", false, "run only the Kubernetes control plane: no nodeless CRDs, controllers or data plane")
	fs.StringVar(&f.parts.dataplaneAddress, "dataplane-address", dataplane.DefaultAddress, "address of the local data plane's ECS API; keep it on 127.0.0.1 (it runs containers as root)")
	fs.StringVar(&f.parts.agentBinary, "agent-binary", "", "the nodeless-agent executable: the containers' logging binary and the files agent's image (default: beside this executable)")
	fs.StringVar(&f.parts.region, "region", dataplane.DefaultRegion, "region of the local data plane's ARNs; ECS clients sign for it")
	fs.StringVar(&f.parts.vpcCIDR, "vpc-cidr", ipam.DefaultCIDR, "IPv4 subnet of the local VPC that gives every Pod (task) its address, outside the Service range "+controlplane.ServiceCIDR+" (changeable only while no task runs)")
	addServiceConnectCIDRFlag(fs, &f.parts.serviceConnectCIDR)
	addHealthyAfterRunningFlag(fs, &f.parts.healthyAfterRunning)
	addSpareNamespacesFlag(fs, &f.parts.spareNamespaces)
	addFargateStrictFlag(fs, &f.parts.fargateStrict)
	f.parts.serviceProxy.add(fs)
	f.parts.node.add(fs)
	fs.IntVar(&f.verbosity, "v", 0, "log verbosity of the embedded Kubernetes components (their log is <state-dir>/logs/nodeless.log)")
	fs.IntVar(&f.logRotation.MaxSizeMiB, "log-max-size", controlplane.DefaultLogMaxSizeMiB, "MiB at which <state-dir>/logs/nodeless.log is rotated")
	fs.IntVar(&f.logRotation.MaxFiles, "log-max-files", controlplane.DefaultLogMaxFiles, "how many rotated nodeless.log files are kept")
	return cmd
}

// upGCPercent is the GOGC of `nodeless up` unless $GOGC says otherwise. Measured on 2 cores: idle
// RSS of the control plane 315 MiB at GOGC=50 against 350-365 MiB at the default 100; a soft
// GOMEMLIMIT of 250 MiB did not help (most of the difference is heap headroom).
const upGCPercent = 50

func runUp(cmd *cobra.Command, f upFlags) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(upGCPercent)
	}
	out := cmd.OutOrStdout()
	opts := controlplane.UpOptions{
		Config: controlplane.Config{
			StateDir:       f.stateDir,
			APIServerPort:  f.apiServerPort,
			EtcdClientPort: f.etcdClientPort,
			EtcdPeerPort:   f.etcdPeerPort,
		},
		Progress:     out,
		LogVerbosity: f.verbosity,
		LogRotation:  f.logRotation,
		OnReady:      func(_ *rest.Config) { printUsage(out, f.stateDir) },
	}
	if !f.controlPlaneOnly {
		if err := addNodelessParts(cmd.Context(), f.parts, &opts); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "nodeless up: state dir %s\n", f.stateDir)
	return controlplane.Up(cmd.Context(), opts)
}

func printUsage(out io.Writer, stateDir string) {
	embedded := "nodeless kubectl get ns"
	if stateDir != controlplane.DefaultStateDir() {
		embedded = "NODELESS_STATE_DIR=" + stateDir + " " + embedded
	}
	fmt.Fprintf(out, `
  export KUBECONFIG=%s
  kubectl get ns        (or, with no kubectl installed: %s)
  logs: %s
Ctrl-C stops everything; up again keeps every object.
`, controlplane.KubeconfigPath(stateDir), embedded, controlplane.LogPath(stateDir))
}
