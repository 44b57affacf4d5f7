package ipam

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// DefaultCIDR is the local VPC's subnet unless configured otherwise: the pod network Kubernetes
// users know from kind and flannel, outside the embedded control plane's Service range (10.0.0.0/24)
// and outside the uplink's own network (UplinkCIDR).
const DefaultCIDR = "10.244.0.0/16"

// UplinkCIDR is the network the userspace uplink (slirp4netns) uses inside the VPC's namespace: its
// gateway 10.0.2.2 stands for the host's loopback and 10.0.2.3 for the host's DNS resolver. A VPC
// subnet must not overlap it.
const UplinkCIDR = "10.0.2.0/24"

// Prefix lengths a subnet may have: at least /8 (16.7 M addresses is plenty) and at most /28 (13
// usable addresses after the network, gateway and broadcast addresses).
const (
	minBits = 8
	maxBits = 28
)

// Settings in the store.
const (
	settingSubnet = "ipam/subnet"
	settingLast   = "ipam/last"
)

// ErrExhausted is returned by Allocate when every address of the subnet is held.
var ErrExhausted = errors.New("no free address")

// reserved are ranges a subnet must not overlap, with the reason: a relative clause that reads
// after "which" ("overlaps 127.0.0.0/8, which is loopback").
var reserved = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "is the unspecified network"},
	{netip.MustParsePrefix("127.0.0.0/8"), "is loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "is link-local"},
	{netip.MustParsePrefix("224.0.0.0/3"), "is multicast or reserved"},
	{netip.MustParsePrefix(UplinkCIDR), "the VPC's uplink (slirp4netns) uses inside the VPC's namespace"},
}

// Reserved reports the range p overlaps among those no address nodeless serves may come from
// (loopback, link-local, multicast, the uplink's network), with the reason, for the checks of
// other ranges of the VPC (the Service Connect alias range).
func Reserved(p netip.Prefix) (netip.Prefix, string, bool) {
	for _, r := range reserved {
		if p.Overlaps(r.prefix) {
			return r.prefix, r.why, true
		}
	}
	return netip.Prefix{}, "", false
}

// Subnet is the VPC's subnet. The zero Subnet is not valid; use ParseSubnet or Default.
type Subnet struct {
	prefix netip.Prefix
}

// Default returns the subnet of DefaultCIDR.
func Default() Subnet { return Subnet{prefix: netip.MustParsePrefix(DefaultCIDR)} }

// ParseSubnet parses an IPv4 CIDR block such as "10.244.0.0/16": a network address (no host bits
// set), a prefix length from /8 to /28, overlapping neither special ranges (loopback, link-local,
// multicast) nor UplinkCIDR. Its errors say what to use instead.
func ParseSubnet(cidr string) (Subnet, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return Subnet{}, fmt.Errorf("%q is not a CIDR block; use one such as %s", cidr, DefaultCIDR)
	}
	if !p.Addr().Is4() {
		return Subnet{}, fmt.Errorf("%s is not IPv4; the local VPC is IPv4 only: use one such as %s", cidr, DefaultCIDR)
	}
	if p.Bits() < minBits || p.Bits() > maxBits {
		return Subnet{}, fmt.Errorf("%s: use a prefix length from /%d to /%d", cidr, minBits, maxBits)
	}
	if p.Masked() != p {
		return Subnet{}, fmt.Errorf("%s has host bits set; use the network address %s", cidr, p.Masked())
	}
	for _, r := range reserved {
		if p.Overlaps(r.prefix) {
			return Subnet{}, fmt.Errorf("%s overlaps %s, which %s; use another range such as %s", cidr, r.prefix, r.why, DefaultCIDR)
		}
	}
	return Subnet{prefix: p}, nil
}

// Prefix is the subnet's CIDR block.
func (s Subnet) Prefix() netip.Prefix { return s.prefix }

// String is the CIDR block, e.g. "10.244.0.0/16".
func (s Subnet) String() string { return s.prefix.String() }

// IsZero reports whether s is the zero Subnet.
func (s Subnet) IsZero() bool { return !s.prefix.IsValid() }

// Gateway is the subnet's first host address (10.244.0.1 in 10.244.0.0/16): the bridge's address
// in the VPC's namespace and every task's default route.
func (s Subnet) Gateway() netip.Addr { return s.prefix.Addr().Next() }

// WithBits returns addr with the subnet's prefix length, as an interface address ("10.244.0.5/16").
func (s Subnet) WithBits(addr netip.Addr) netip.Prefix {
	return netip.PrefixFrom(addr, s.prefix.Bits())
}

// first and last bound the addresses handed to tasks: after the gateway, before the broadcast.
func (s Subnet) first() uint32 { return toUint(s.Gateway()) + 1 }
func (s Subnet) last() uint32 {
	return toUint(s.prefix.Addr()) | (1<<(32-s.prefix.Bits()) - 1) - 1
}

func toUint(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func fromUint(n uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return netip.AddrFrom4(b)
}

// Adopt makes s the subnet of the store's addresses. It fails, saying which flag to use, when tasks
// still hold addresses of a different subnet recorded earlier: their interfaces are configured for
// it, so the data plane must keep it until they are gone.
func (s Subnet) Adopt(tx *store.Tx) error {
	prev := tx.Setting(settingSubnet)
	if prev == s.String() {
		return nil
	}
	held, err := tx.Addresses()
	if err != nil {
		return err
	}
	if prev != "" && len(held) > 0 {
		return fmt.Errorf("VPC subnet %s asked for, but %d tasks still hold addresses of %s (task %s has %s): "+
			"start with the previous subnet (--vpc-cidr %s), or stop those tasks first",
			s, len(held), prev, held[0].Owner, held[0].Address, prev)
	}
	if err := tx.PutSetting(settingLast, ""); err != nil {
		return err
	}
	return tx.PutSetting(settingSubnet, s.String())
}

// Lookup returns the address owner holds, if any.
func Lookup(tx *store.Tx, owner string) (netip.Addr, bool, error) {
	held, err := tx.Addresses()
	if err != nil {
		return netip.Addr{}, false, err
	}
	for _, r := range held {
		if r.Owner == owner {
			a, err := netip.ParseAddr(r.Address)
			if err != nil {
				return netip.Addr{}, false, fmt.Errorf("stored address %q of %s: %w", r.Address, owner, err)
			}
			return a, true, nil
		}
	}
	return netip.Addr{}, false, nil
}

// Allocate returns the address owner (a task ID) holds, assigning it the next free address of s
// when it holds none or holds one outside s. It is idempotent: calling it again in a later
// transaction returns the same address until Release. ErrExhausted (wrapped) when s is full.
func (s Subnet) Allocate(tx *store.Tx, owner string) (netip.Addr, error) {
	if owner == "" {
		return netip.Addr{}, errors.New("allocating an address: empty owner")
	}
	held, err := tx.Addresses()
	if err != nil {
		return netip.Addr{}, err
	}
	used := make(map[uint32]bool, len(held))
	for _, r := range held {
		a, err := netip.ParseAddr(r.Address)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("stored address %q of %s: %w", r.Address, r.Owner, err)
		}
		if r.Owner == owner && s.prefix.Contains(a) {
			return a, nil
		}
		used[toUint(a)] = true
	}
	if err := Release(tx, owner); err != nil {
		return netip.Addr{}, err
	}
	n, ok := s.next(tx, used)
	if !ok {
		return netip.Addr{}, fmt.Errorf("subnet %s: all %d addresses are held by tasks: %w", s, s.last()-s.first()+1, ErrExhausted)
	}
	a := fromUint(n)
	if err := tx.PutAddress(&store.AddressRecord{Address: a.String(), Owner: owner}); err != nil {
		return netip.Addr{}, err
	}
	return a, tx.PutSetting(settingLast, a.String())
}

// next finds the first free address after the last one handed out, wrapping around.
func (s Subnet) next(tx *store.Tx, used map[uint32]bool) (uint32, bool) {
	first, last := s.first(), s.last()
	start := first
	if prev, err := netip.ParseAddr(tx.Setting(settingLast)); err == nil && s.prefix.Contains(prev) {
		if p := toUint(prev); p >= first && p < last {
			start = p + 1
		}
	}
	n := start
	for range last - first + 1 {
		if !used[n] {
			return n, true
		}
		n++
		if n > last {
			n = first
		}
	}
	return 0, false
}

// Release frees every address owner holds; releasing an owner that holds none is not an error.
func Release(tx *store.Tx, owner string) error {
	held, err := tx.Addresses()
	if err != nil {
		return err
	}
	for _, r := range held {
		if r.Owner == owner {
			if err := tx.DeleteAddress(r.Address); err != nil {
				return err
			}
		}
	}
	return nil
}

// MAC is the MAC address of the task interface that has addr: locally administered, unicast, the
// prefix 0a:58 followed by the four bytes of addr (as Kubernetes' CNI bridge plugin derives them),
// so that it is the same after every restart and unique within the VPC.
func MAC(addr netip.Addr) net.HardwareAddr {
	b := addr.As4()
	return net.HardwareAddr{0x0a, 0x58, b[0], b[1], b[2], b[3]}
}
