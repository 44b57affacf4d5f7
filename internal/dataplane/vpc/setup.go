package vpc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// setup creates the VPC's namespace, its bridge with the gateway address, IPv4 forwarding and the
// NAT table, keeping whatever already exists. Every step is idempotent: it is what Run does on
// every start, after a clean stop or a kill -9 alike.
func (v *VPC) setup() error {
	if err := EnsureNamespace(v.nsPath); err != nil {
		return fmt.Errorf("creating the VPC's network namespace: %w", err)
	}
	err := withHandle(v.nsPath, func(h *netlink.Handle) error {
		if err := v.ensureBridge(h); err != nil {
			return fmt.Errorf("setting up the VPC's bridge %s: %w", BridgeName, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := inNamespace(v.nsPath, enableForwarding); err != nil {
		return fmt.Errorf("enabling IPv4 forwarding in the VPC's namespace: %w", err)
	}
	if err := v.ensureNAT(); err != nil {
		return fmt.Errorf("setting up NAT in the VPC's namespace: %w", err)
	}
	return nil
}

// withHandle calls fn with a netlink handle whose requests act on the network namespace at path,
// and closes the handle once fn returns. It returns fn's error as it is, or, without calling fn, an
// error naming path when the namespace or netlink cannot be opened. A missing namespace is such an
// error: callers for whom it means "nothing to do" check IsNamespace first.
func withHandle(path string, fn func(*netlink.Handle) error) error {
	h, closeH, err := handleAt(path)
	if err != nil {
		return err
	}
	defer closeH()
	return fn(h)
}

// handleAt returns a netlink handle whose requests act on the namespace at path, and what closes it;
// withHandle is the usual way to use one.
func handleAt(path string) (*netlink.Handle, func(), error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, nil, fmt.Errorf("opening network namespace %s: %w", path, err)
	}
	defer func() { _ = ns.Close() }()
	// Only the route family: links, addresses, routes and neighbours are all this package uses, and
	// each further family is one more socket opened inside the namespace (about 0.1 ms per handle).
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("opening netlink in network namespace %s: %w", path, err)
	}
	return h, h.Close, nil
}

// ensureBridge creates the bridge when missing and gives it exactly the gateway address (a
// previous run with another subnet may have left another one).
func (v *VPC) ensureBridge(h *netlink.Handle) error {
	br, err := h.LinkByName(BridgeName)
	if err != nil {
		if !isNotFound(err) {
			return err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU = BridgeName, taskMTU
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
			return fmt.Errorf("creating: %w", err)
		}
		if br, err = h.LinkByName(BridgeName); err != nil {
			return err
		}
	}
	gw := v.opts.Subnet.WithBits(v.opts.Subnet.Gateway())
	if err := setOnlyAddress(h, br, gw); err != nil {
		return err
	}
	return h.LinkSetUp(br)
}

// setOnlyAddress makes want the only IPv4 address of link.
func setOnlyAddress(h *netlink.Handle, link netlink.Link, want netip.Prefix) error {
	addrs, err := addrList(h, link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("listing addresses of %s: %w", link.Attrs().Name, err)
	}
	for _, a := range addrs {
		if a.IPNet != nil && a.IPNet.String() != want.String() {
			if err := h.AddrDel(link, &a); err != nil {
				return fmt.Errorf("removing stale address %s of %s: %w", a.IPNet, link.Attrs().Name, err)
			}
		}
	}
	if err := h.AddrReplace(link, &netlink.Addr{IPNet: ipNet(want)}); err != nil {
		return fmt.Errorf("setting address %s on %s: %w", want, link.Attrs().Name, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// enableForwarding turns IPv4 forwarding on in the namespace the calling thread is in (the sysctl
// is per namespace: the host's stays as it is).
func enableForwarding() error {
	return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// dumpRetries bounds how often RetryDump calls a dump again.
const dumpRetries = 5

// RetryDump returns what dump, one netlink dump request such as (*netlink.Handle).LinkList,
// returns, calling it again while it fails with netlink.ErrDumpInterrupted: the kernel flagged the
// dump NLM_F_DUMP_INTR because the table changed while it was read, so its results may be
// incomplete or inconsistent (tasks and spare namespaces come and go in the VPC's namespace while
// it is listed). At most 5 retries (dumpRetries): after them, the last call's results and
// ErrDumpInterrupted (errors.Is); any other error at once, with its call's results.
func RetryDump[T any](dump func() ([]T, error)) ([]T, error) {
	items, err := dump()
	for i := 0; i < dumpRetries && errors.Is(err, netlink.ErrDumpInterrupted); i++ {
		items, err = dump()
	}
	return items, err
}

// addrList is h.AddrList(link, family) read again while a concurrent change interrupts it
// (RetryDump).
func addrList(h *netlink.Handle, link netlink.Link, family int) ([]netlink.Addr, error) {
	return RetryDump(func() ([]netlink.Addr, error) { return h.AddrList(link, family) })
}
