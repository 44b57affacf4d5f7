package vpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ServeAddresses makes every address of prefix local to the VPC's namespace: one route of type
// local on lo in the namespace's local table (`ip route replace local PREFIX dev lo table local`,
// the AnyIP route), so that a socket in the namespace may listen on any address of prefix and
// tasks, whose default route is the gateway, reach it. It is how a Service's ClusterIP (from the
// service CIDR) carries traffic: the load balancer listens on ClusterIP:port inside the VPC's
// namespace (ListenInVPC). Nothing changes outside the namespace. Idempotent; it waits for Ready
// (bounded by ctx). prefix must not overlap the VPC's subnet.
func (v *VPC) ServeAddresses(ctx context.Context, prefix netip.Prefix) error {
	prefix = prefix.Masked()
	if !prefix.Addr().Is4() {
		return fmt.Errorf("serving %s in the VPC: only IPv4 prefixes are supported", prefix)
	}
	if prefix.Overlaps(v.opts.Subnet.Prefix()) {
		return fmt.Errorf("serving %s in the VPC: it overlaps the VPC's subnet %s; choose a service CIDR outside it", prefix, v.opts.Subnet)
	}
	return v.withLocalRoute(ctx, prefix, "serving %s in the VPC", func(h *netlink.Handle, route *netlink.Route) error {
		if err := h.RouteReplace(route); err != nil {
			return fmt.Errorf("adding the local route: %w", err)
		}
		return nil
	})
}

// StopServingAddresses removes the local route ServeAddresses added for prefix, so that its
// addresses are no longer local to the VPC's namespace (a range the data plane served before and
// serves no more: the Service Connect alias range changed). Removing a route that is not there is
// not an error. It waits for Ready (bounded by ctx).
func (v *VPC) StopServingAddresses(ctx context.Context, prefix netip.Prefix) error {
	prefix = prefix.Masked()
	return v.withLocalRoute(ctx, prefix, "no longer serving %s in the VPC", func(h *netlink.Handle, route *netlink.Route) error {
		if err := h.RouteDel(route); err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("removing the local route: %w", err)
		}
		return nil
	})
}

// withLocalRoute waits for Ready (bounded by ctx) and calls change with a handle in the VPC's
// namespace and the route that makes prefix local there (type local on lo, table local). Errors
// are prefixed with what (a format with one %s, the prefix).
func (v *VPC) withLocalRoute(ctx context.Context, prefix netip.Prefix, what string, change func(*netlink.Handle, *netlink.Route) error) error {
	if err := v.waitReady(ctx); err != nil {
		return fmt.Errorf(what+": %w", prefix, err)
	}
	return withHandle(v.nsPath, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf(what+": finding lo: %w", prefix, err)
		}
		route := &netlink.Route{
			LinkIndex: lo.Attrs().Index, Dst: ipNet(prefix), Type: unix.RTN_LOCAL,
			Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST, Protocol: unix.RTPROT_STATIC,
		}
		if err := change(h, route); err != nil {
			return fmt.Errorf(what+": %w", prefix, err)
		}
		return nil
	})
}

// ListenInVPC opens a TCP listener (network "tcp" or "tcp4") on address ("IP:port") from a socket
// made inside the VPC's namespace: tasks connect to it at that address, and the accepted
// connections carry the task's own address as their remote address. The IP must be local to the
// namespace (see ServeAddresses). It waits for Ready (bounded by ctx).
func (v *VPC) ListenInVPC(ctx context.Context, network, address string) (net.Listener, error) {
	if err := v.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("listening on %s in the VPC: %w", address, err)
	}
	var l net.Listener
	err := inNamespace(v.nsPath, func() error {
		var err error
		l, err = (&net.ListenConfig{}).Listen(ctx, network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %s in the VPC: %w", address, err)
	}
	return l, nil
}

// ListenPacketInVPC is ListenInVPC for UDP (network "udp" or "udp4").
func (v *VPC) ListenPacketInVPC(ctx context.Context, network, address string) (net.PacketConn, error) {
	if err := v.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("listening on %s in the VPC: %w", address, err)
	}
	var pc net.PacketConn
	err := inNamespace(v.nsPath, func() error {
		var err error
		pc, err = (&net.ListenConfig{}).ListenPacket(ctx, network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %s in the VPC: %w", address, err)
	}
	return pc, nil
}

func (v *VPC) waitReady(ctx context.Context) error {
	select {
	case <-v.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the VPC: %w", ctx.Err())
	}
}
