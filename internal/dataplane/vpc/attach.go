package vpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Interface is a task's place in the VPC: what its eth0 gets.
type Interface struct {
	// Address is the task's IPv4 address with the subnet's prefix length, e.g. 10.244.0.5/16.
	Address netip.Prefix
	// Gateway is the task's default route (the bridge's address).
	Gateway netip.Addr
	// MAC is eth0's hardware address.
	MAC net.HardwareAddr
}

// vethName is the name of a task's veth in the VPC's namespace: "veth" and 11 hex digits of the
// task ID's SHA-256 (IFNAMSIZ allows 15 characters), derived so that attaching and detaching need
// no stored state, and hashed so that IDs sharing a prefix do not collide.
func vethName(taskID string) string {
	sum := sha256.Sum256([]byte(taskID))
	return "veth" + hex.EncodeToString(sum[:])[:11]
}

// AttachTask joins the task's namespace (nsPath) to the VPC: a veth pair whose task end is eth0
// with ifc's address, MAC and default route, and whose VPC end is on the bridge. It is idempotent:
// a pair that exists with ifc's MAC is kept (only its settings are made right), so re-attaching a
// running task after a restart does not disturb its connections; a half-made or different pair is
// made again. Call it once Ready is closed.
func (v *VPC) AttachTask(taskID, nsPath string, ifc Interface) error {
	if taskID == "" || !ifc.Address.IsValid() || !ifc.Gateway.IsValid() || len(ifc.MAC) != 6 {
		return fmt.Errorf("attaching task %q to the VPC: incomplete interface %+v", taskID, ifc)
	}
	return withHandle(v.nsPath, func(vh *netlink.Handle) error {
		return withHandle(nsPath, func(th *netlink.Handle) error { return v.attach(vh, th, taskID, nsPath, ifc) })
	})
}

// attach is AttachTask with handles in the VPC's namespace (vh) and the task's (th).
func (v *VPC) attach(vh, th *netlink.Handle, taskID, nsPath string, ifc Interface) error {
	host, eth0 := v.existingPair(vh, th, taskID, ifc)
	if host == nil {
		var err error
		if host, eth0, err = v.createPair(vh, th, taskID, nsPath, ifc); err != nil {
			return fmt.Errorf("attaching task %s to the VPC: %w", taskID, err)
		}
	}
	if err := configure(vh, th, host, eth0, ifc); err != nil {
		return fmt.Errorf("attaching task %s to the VPC: %w", taskID, err)
	}
	return nil
}

// existingPair returns both ends of the task's pair when they exist with ifc's MAC.
func (v *VPC) existingPair(vh, th *netlink.Handle, taskID string, ifc Interface) (host, eth0 netlink.Link) {
	host, herr := vh.LinkByName(vethName(taskID))
	eth0, terr := th.LinkByName(TaskInterface)
	if herr != nil || terr != nil || !bytes.Equal(eth0.Attrs().HardwareAddr, ifc.MAC) {
		return nil, nil
	}
	return host, eth0
}

// createPair deletes whatever is left of the task's pair and creates it again, its peer straight in
// the task's namespace (so two tasks attaching at once never see each other's eth0).
func (v *VPC) createPair(vh, th *netlink.Handle, taskID, nsPath string, ifc Interface) (host, eth0 netlink.Link, err error) {
	name := vethName(taskID)
	if l, err := vh.LinkByName(name); err == nil {
		_ = vh.LinkDel(l)
	}
	if l, err := th.LinkByName(TaskInterface); err == nil {
		_ = th.LinkDel(l)
	}
	taskNs, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, nil, fmt.Errorf("opening network namespace %s: %w", nsPath, err)
	}
	defer func() { _ = taskNs.Close() }()
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = name, taskMTU
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: TaskInterface, PeerHardwareAddr: ifc.MAC,
		PeerNamespace: netlink.NsFd(taskNs), PeerMTU: taskMTU}
	if err := vh.LinkAdd(veth); err != nil {
		return nil, nil, fmt.Errorf("creating veth pair %s/%s: %w", name, TaskInterface, err)
	}
	if host, err = vh.LinkByName(name); err != nil {
		return nil, nil, err
	}
	if eth0, err = th.LinkByName(TaskInterface); err != nil {
		return nil, nil, err
	}
	return host, eth0, nil
}

// configure puts the VPC end on the bridge and up, and gives eth0 exactly ifc's address, up, with
// the default route via the gateway. Each step is a no-op when already so.
func configure(vh, th *netlink.Handle, host, eth0 netlink.Link, ifc Interface) error {
	br, err := vh.LinkByName(BridgeName)
	if err != nil {
		return fmt.Errorf("finding the bridge %s: %w", BridgeName, err)
	}
	if host.Attrs().MasterIndex != br.Attrs().Index {
		if err := vh.LinkSetMaster(host, br); err != nil {
			return fmt.Errorf("adding %s to %s: %w", host.Attrs().Name, BridgeName, err)
		}
	}
	if err := vh.LinkSetUp(host); err != nil {
		return fmt.Errorf("bringing %s up: %w", host.Attrs().Name, err)
	}
	if err := setOnlyAddress(th, eth0, ifc.Address); err != nil {
		return err
	}
	if err := th.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("bringing %s up: %w", TaskInterface, err)
	}
	route := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: ifc.Gateway.AsSlice()}
	if err := th.RouteReplace(route); err != nil {
		return fmt.Errorf("setting the default route via %s: %w", ifc.Gateway, err)
	}
	return nil
}

// DetachTask deletes the task's veth pair (both ends go together); a task without one is not an
// error. Removing the task's namespace would delete the pair too, but only once nothing holds the
// namespace any more: detaching first frees the VPC's end at once.
func (v *VPC) DetachTask(taskID string) error {
	if !IsNamespace(v.nsPath) {
		return nil // no VPC, so nothing attached to it
	}
	return withHandle(v.nsPath, func(vh *netlink.Handle) error {
		l, err := vh.LinkByName(vethName(taskID))
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("detaching task %s from the VPC: %w", taskID, err)
		}
		if err := vh.LinkDel(l); err != nil {
			return fmt.Errorf("detaching task %s from the VPC: deleting %s: %w", taskID, l.Attrs().Name, err)
		}
		return nil
	})
}
