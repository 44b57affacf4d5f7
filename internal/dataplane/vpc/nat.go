package vpc

import (
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// natTable is nodeless's nftables table in the VPC's namespace (family ip).
const natTable = "nodeless"

// ensureNAT replaces nodeless's table in the VPC's namespace, in one atomic batch, by one that
// masquerades the subnet's packets leaving through the uplink:
//
//	table ip nodeless {
//		chain postrouting {
//			type nat hook postrouting priority srcnat;
//			ip saddr <subnet> oifname "tap0" masquerade
//		}
//	}
//
// The rule matches the uplink by name, so it holds for every tap slirp4netns creates. It speaks
// netlink to the namespace (github.com/google/nftables), so no nft or iptables binary is needed and
// nothing can reach the host's ruleset.
func (v *VPC) ensureNAT() error {
	ns, err := netns.GetFromPath(v.nsPath)
	if err != nil {
		return fmt.Errorf("opening network namespace %s: %w", v.nsPath, err)
	}
	defer func() { _ = ns.Close() }()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: natTable, Family: nftables.TableFamilyIPv4}
	// Add (a no-op when it exists), delete, add: the batch replaces whatever an earlier run left.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	ch := c.AddChain(&nftables.Chain{
		Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: v.masqueradeExprs()})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("writing nftables table %s: %w", natTable, err)
	}
	return nil
}

// masqueradeExprs is `ip saddr <subnet> oifname "tap0" masquerade`.
func (v *VPC) masqueradeExprs() []expr.Any {
	p := v.opts.Subnet.Prefix()
	network := p.Addr().As4()
	mask := net.CIDRMask(p.Bits(), 32)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(UplinkName)},
		// The IPv4 source address: 4 bytes at offset 12 of the network header.
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: network[:]},
		&expr.Masq{},
	}
}

// ifname is an interface name as nftables compares it: NUL-padded to IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}
