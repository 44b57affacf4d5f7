package controlplane

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Default ports. Everything listens on 127.0.0.1 only.
const (
	DefaultAPIServerPort  = 6443
	DefaultEtcdClientPort = 2379
	DefaultEtcdPeerPort   = 2380
)

// Host is the only address the control plane listens on.
const Host = "127.0.0.1"

// serviceCIDR is the range of ClusterIPs; nodeless has no kube-proxy: under `nodeless up` the
// Services' load balancer (internal/serviceproxy) serves them inside the local VPC. The first
// address belongs to the `kubernetes` Service.
const serviceCIDR = "10.0.0.0/24"

// ServiceCIDR is the range of ClusterIPs (--service-cluster-ip-range): the Services' load balancer
// makes it local to the VPC's namespace so that ClusterIPs carry traffic (internal/serviceproxy).
const ServiceCIDR = serviceCIDR

var firstServiceIP = net.IPv4(10, 0, 0, 1)

// Config says where the control plane keeps its state and which ports it uses.
type Config struct {
	// StateDir holds the PKI, etcd's data, the kubeconfig and the logs. Created if missing.
	StateDir string
	// APIServerPort, EtcdClientPort and EtcdPeerPort are ports on 127.0.0.1; zero means the default.
	APIServerPort  int
	EtcdClientPort int
	EtcdPeerPort   int
	// Controllers are the kube-controller-manager controllers to run (their names as
	// --controllers spells them); nil means DefaultControllers().
	Controllers []string
}

func (c Config) withDefaults() Config {
	if c.APIServerPort == 0 {
		c.APIServerPort = DefaultAPIServerPort
	}
	if c.EtcdClientPort == 0 {
		c.EtcdClientPort = DefaultEtcdClientPort
	}
	if c.EtcdPeerPort == 0 {
		c.EtcdPeerPort = DefaultEtcdPeerPort
	}
	if c.Controllers == nil {
		c.Controllers = DefaultControllers()
	}
	return c
}

// DefaultStateDir is ~/.nodeless, or $NODELESS_STATE_DIR when set.
func DefaultStateDir() string {
	if dir := os.Getenv("NODELESS_STATE_DIR"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".nodeless"
	}
	return filepath.Join(home, ".nodeless")
}

// KubeconfigPath is the admin kubeconfig of the control plane kept in stateDir.
func KubeconfigPath(stateDir string) string { return filepath.Join(stateDir, "kubeconfig") }

// LogPath is the file that the embedded components log to.
func LogPath(stateDir string) string { return filepath.Join(stateDir, "logs", "nodeless.log") }

func pkiDir(stateDir string) string  { return filepath.Join(stateDir, "pki") }
func etcdDir(stateDir string) string { return filepath.Join(stateDir, "etcd") }
func managerKubeconfig(stateDir string) string {
	return filepath.Join(stateDir, "pki", "controller-manager.kubeconfig")
}
func schedulerKubeconfig(stateDir string) string {
	return filepath.Join(stateDir, "pki", "scheduler.kubeconfig")
}

func (c Config) apiServerURL() string { return fmt.Sprintf("https://%s:%d", Host, c.APIServerPort) }
func (c Config) etcdClientURL() string {
	return fmt.Sprintf("https://%s:%d", Host, c.EtcdClientPort)
}
func (c Config) etcdPeerURL() string { return fmt.Sprintf("https://%s:%d", Host, c.EtcdPeerPort) }
