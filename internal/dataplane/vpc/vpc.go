package vpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/go-logr/logr"
	"github.com/vishvananda/netlink"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
)

// Names and sizes inside the VPC's namespace and the tasks' namespaces.
const (
	// BridgeName is the bridge in the VPC's namespace; it holds the subnet's gateway address.
	BridgeName = "nodeless0"
	// UplinkName is slirp4netns's tap device in the VPC's namespace.
	UplinkName = "tap0"
	// TaskInterface is the VPC interface inside every task's namespace.
	TaskInterface = "eth0"
	// uplinkMTU is the tap's MTU: slirp4netns's largest, for throughput (its TCP stack terminates
	// every connection, so the tasks' MTU does not have to match).
	uplinkMTU = 65520
	// taskMTU is the MTU of the bridge and the veth pairs.
	taskMTU = 1500
)

// Addresses slirp4netns gives the VPC's namespace on its default network (ipam.UplinkCIDR).
var (
	// HostLoopback is where a task reaches the host's 127.0.0.1 (slirp4netns's gateway): a server
	// on the host's 127.0.0.1:8080 is http://10.0.2.2:8080 from inside a task.
	HostLoopback = netip.MustParseAddr("10.0.2.2")
	// Nameserver forwards DNS queries to the host's resolver (slirp4netns's DNS).
	Nameserver = netip.MustParseAddr("10.0.2.3")
	// uplinkAddress is the tap's own address, the source of every masqueraded packet.
	uplinkAddress = netip.MustParseAddr("10.0.2.100")
)

// Options configures a VPC.
type Options struct {
	// StateDir is the data plane's state directory (required): the VPC's namespace is mounted at
	// StateDir/netns/vpc, slirp4netns's pid file and log are under StateDir/vpc.
	StateDir string
	// Subnet is the VPC's subnet (default ipam.Default()).
	Subnet ipam.Subnet
	// Slirp4netnsBin is the slirp4netns executable (default "slirp4netns" from PATH).
	Slirp4netnsBin string
	Logger         logr.Logger
}

// VPC is the local VPC. It implements component.Component: Run sets it up and supervises the
// uplink; Ready is closed once tasks can be attached and the uplink carries traffic.
type VPC struct {
	opts   Options
	nsPath string
	dir    string
	log    logr.Logger

	ready     chan struct{}
	readyOnce sync.Once
}

// New validates opts; nothing is created before Run.
func New(opts Options) (*VPC, error) {
	if opts.StateDir == "" {
		return nil, errors.New("vpc: StateDir is required")
	}
	dir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("vpc: resolving %s: %w", opts.StateDir, err)
	}
	if opts.Subnet.IsZero() {
		opts.Subnet = ipam.Default()
	}
	if opts.Slirp4netnsBin == "" {
		opts.Slirp4netnsBin = "slirp4netns"
	}
	if p, err := exec.LookPath(opts.Slirp4netnsBin); err == nil {
		opts.Slirp4netnsBin = p
	}
	return &VPC{
		opts: opts, nsPath: NamespacePath(dir), dir: filepath.Join(dir, "vpc"), log: opts.Logger,
		ready: make(chan struct{}),
	}, nil
}

// NamespacePath is where the VPC's network namespace of stateDir is mounted.
func NamespacePath(stateDir string) string { return filepath.Join(stateDir, "netns", "vpc") }

// NamespacePath is where the VPC's network namespace is mounted (`nsenter --net=PATH ip addr`
// shows it).
func (v *VPC) NamespacePath() string { return v.nsPath }

// Subnet is the VPC's subnet.
func (v *VPC) Subnet() ipam.Subnet { return v.opts.Subnet }

// Name implements component.Component.
func (v *VPC) Name() string { return "vpc" }

// Ready is closed once the namespace, bridge and NAT are set up and slirp4netns is running.
func (v *VPC) Ready() <-chan struct{} { return v.ready }

// Run sets the VPC up (idempotently), then runs slirp4netns until ctx ends, restarting it when it
// dies. It returns an error when the set-up fails or slirp4netns keeps failing to start. When it
// ends with no task attached, it removes the VPC's namespace, so that a data plane stopped with no
// task leaves nothing behind; with tasks attached the namespace stays for them.
func (v *VPC) Run(ctx context.Context) error {
	if err := v.setup(); err != nil {
		return err
	}
	err := v.superviseUplink(ctx)
	if rerr := v.removeIfUnused(); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return err
}

// removeIfUnused removes the VPC's namespace (and with it the bridge and the NAT table) when no veth
// is attached to it. A task attached concurrently loses its interface with the namespace, and
// AttachTask makes it again in the next VPC.
func (v *VPC) removeIfUnused() error {
	n, err := v.attached()
	if err != nil {
		return fmt.Errorf("counting the tasks attached to the VPC: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := RemoveNamespace(v.nsPath); err != nil {
		return fmt.Errorf("removing the VPC's namespace: %w", err)
	}
	v.log.Info("VPC removed: no task is attached to it", "namespace", v.nsPath)
	return nil
}

// attached counts the veths in the VPC's namespace: one per attached task (spares' do not count).
func (v *VPC) attached() (int, error) {
	if !IsNamespace(v.nsPath) {
		return 0, nil
	}
	n := 0
	err := withHandle(v.nsPath, func(h *netlink.Handle) error {
		links, err := RetryDump(h.LinkList)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Type() == "veth" && !IsSpareVeth(l.Attrs().Name) {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Dial connects to address ("IP:port", the IP within the VPC's subnet) over network ("tcp" or
// "udp", or their 4 forms) from a socket inside the VPC's namespace: the task sees the connection
// come from the gateway address. It waits for Ready (bounded by ctx).
func (v *VPC) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "udp", "udp4":
	default:
		return nil, fmt.Errorf("dialing %s into the VPC: network %q is not supported; use tcp or udp", address, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("dialing into the VPC: %q is not IP:port (a task's address, e.g. 10.244.0.5:8080)", address)
	}
	if !v.opts.Subnet.Prefix().Contains(ap.Addr()) {
		return nil, fmt.Errorf("dialing into the VPC: %s is outside the VPC's subnet %s", ap.Addr(), v.opts.Subnet)
	}
	select {
	case <-v.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("dialing %s: waiting for the VPC: %w", address, ctx.Err())
	}
	return DialInNamespace(ctx, v.nsPath, network, address, nil)
}
