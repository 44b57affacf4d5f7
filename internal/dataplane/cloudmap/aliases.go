package cloudmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Service Connect client aliases (docs/adr/0016-cloud-map-locally.md, "Service Connect"): each
// client alias name gets a virtual address (VIP) of its own from the alias range, kept in the
// store with the alias, so that a restart (even kill -9) keeps every address and hands none out
// twice. The VPC's DNS server answers the name with the VIP; the data plane's Service Connect
// proxy (package connectproxy) listens on VIP:port inside the VPC's namespace for each of the
// alias's ports and forwards every connection to a healthy instance of the alias's Cloud Map
// service at its AWS_INSTANCE_PORT (the containerPort of the Service Connect service's portName),
// which may differ from the alias's port, as ECS's Service Connect proxy does.

// DefaultAliasCIDR is the range the client aliases' virtual addresses come from unless the data
// plane is told otherwise (dataplane.Options.ServiceConnectCIDR, --service-connect-cidr): next to
// the embedded control plane's Service range (10.0.0.0/24) and outside the VPC's default subnet
// (ipam.DefaultCIDR) and the uplink's network (ipam.UplinkCIDR). 254 alias names.
const DefaultAliasCIDR = "10.0.1.0/24"

// Settings in the store.
const (
	// settingAliasCIDR is the alias range the store's VIPs come from (AdoptAliasRange).
	settingAliasCIDR = "cloudmap/alias-cidr"
	// settingAliasLast is the VIP handed out last: the next one is looked for after it, so that a
	// freed address is not handed out again until the range wrapped (a client may still hold the
	// old name's answer for one TTL).
	settingAliasLast = "cloudmap/alias-last"
)

// Prefix lengths an alias range may have: /8 to /30 (two usable addresses).
const (
	aliasMinBits = 8
	aliasMaxBits = 30
)

// ErrAliasRangeFull is wrapped by SetAliases when every address of the alias range is held.
var ErrAliasRangeFull = errors.New("no free virtual address for a client alias")

// Alias is a Service Connect client alias name as the store keeps it (key alias/<name>): its
// virtual address and the ports listening there. Several ECS services may give one name, each
// its own ports (ECS: each name and port is unique within the namespace); the name has one
// address, which it keeps while any service still gives it.
type Alias struct {
	// Name is the DNS name, lower case, without the trailing dot.
	Name string `json:"name"`
	// Owner is the ARN of the ECS service that owned every port of a record written before each
	// port had an owner of its own; storedAliases moves it into those ports. Never written.
	Owner string `json:"owner,omitempty"`
	// VIP is the alias's virtual address (dotted IPv4, from the alias range).
	VIP string `json:"vip,omitempty"`
	// Ports are the alias's ports (clientAliases[].port), each served by one Cloud Map service and
	// given by one ECS service, in port order.
	Ports []AliasPort `json:"ports,omitempty"`
	// ServiceID and Port are the single port of an alias stored before aliases had virtual
	// addresses; storedAliases reads such a record into Ports, and AdoptAliasRange stores it so
	// with a VIP. Never written.
	ServiceID string `json:"serviceId,omitempty"`
	Port      int32  `json:"port,omitempty"`
}

// AliasPort is one port of a client alias name.
type AliasPort struct {
	// Port is where the alias listens (clientAliases[].port, 1 to 65535).
	Port int32 `json:"port"`
	// ServiceID is the Cloud Map service whose healthy instances take the connections, at their
	// AWS_INSTANCE_PORT.
	ServiceID string `json:"serviceId"`
	// Owner is the ARN of the ECS service whose Service Connect configuration gave the port.
	Owner string `json:"owner,omitempty"`
}

// ClientAlias is one of an ECS service's client aliases as SetAliases takes them.
type ClientAlias struct {
	// Name is the DNS name (case and a trailing dot do not matter).
	Name      string
	Port      int32
	ServiceID string
	// Member is where the request gave the alias, e.g.
	// "serviceConnectConfiguration.services[0].clientAliases[1]", for errors.
	Member string
}

func aliasKey(name string) string { return "alias/" + name }

// aliasName is name as aliases are keyed: lower case, without the trailing dot.
func aliasName(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// ParseAliasRange parses the alias range cidr ("10.0.1.0/24"): an IPv4 network address with a
// prefix length from /8 to /30, overlapping neither the VPC's subnet nor the ranges a VPC subnet
// may not overlap either (loopback, link-local, multicast, the uplink's network). Its errors say
// what to use instead.
func ParseAliasRange(cidr string, subnet netip.Prefix) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	switch {
	case err != nil:
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR block; use one such as %s", cidr, DefaultAliasCIDR)
	case !p.Addr().Is4():
		return netip.Prefix{}, fmt.Errorf("%s is not IPv4; the local VPC is IPv4 only: use one such as %s", cidr, DefaultAliasCIDR)
	case p.Bits() < aliasMinBits || p.Bits() > aliasMaxBits:
		return netip.Prefix{}, fmt.Errorf("%s: use a prefix length from /%d to /%d", cidr, aliasMinBits, aliasMaxBits)
	case p.Masked() != p:
		return netip.Prefix{}, fmt.Errorf("%s has host bits set; use the network address %s", cidr, p.Masked())
	case subnet.IsValid() && p.Overlaps(subnet):
		return netip.Prefix{}, fmt.Errorf("%s overlaps the VPC's subnet %s, whose addresses are the tasks'; use a range outside it such as %s", cidr, subnet, DefaultAliasCIDR)
	}
	if r, why, ok := ipam.Reserved(p); ok {
		return netip.Prefix{}, fmt.Errorf("%s overlaps %s, which %s; use another range such as %s", cidr, r, why, DefaultAliasCIDR)
	}
	return p, nil
}

// aliasRange is the alias range of the store (DefaultAliasCIDR when none was adopted: a store
// whose data plane never set one, such as the in-memory ECS of the controller tests).
func aliasRange(tx *store.Tx) netip.Prefix {
	if p, err := netip.ParsePrefix(tx.Setting(settingAliasCIDR)); err == nil {
		return p
	}
	return netip.MustParsePrefix(DefaultAliasCIDR)
}

// AdoptAliasRange makes prefix the range of the store's client alias addresses, and returns the
// range adopted before (invalid when none was; the caller stops serving it when it differs). An
// alias whose VIP is outside prefix, or that has none (a record written before aliases had
// virtual addresses), gets a new one, in this transaction. It fails, naming the flag, when
// prefix holds too few addresses for the aliases.
func AdoptAliasRange(tx *store.Tx, prefix netip.Prefix) (netip.Prefix, error) {
	prev, _ := netip.ParsePrefix(tx.Setting(settingAliasCIDR))
	if prev != prefix {
		if err := tx.PutSetting(settingAliasCIDR, prefix.String()); err != nil {
			return prev, err
		}
	}
	all, err := storedAliases(tx)
	if err != nil {
		return prev, err
	}
	for _, a := range all {
		if vip, err := netip.ParseAddr(a.VIP); err == nil && prefix.Contains(vip) {
			continue
		}
		if err := assignVIP(tx, a, prefix, all, "", 0); err != nil {
			return prev, fmt.Errorf("service connect range (--service-connect-cidr) %s: %w", prefix, err)
		}
	}
	return prev, nil
}

// storedAliases are every alias record, in name order, each port with its owner (ownPorts).
func storedAliases(tx *store.Tx) ([]*Alias, error) {
	var out []*Alias
	err := each(tx, "alias/", func(a *Alias) bool { ownPorts(a); out = append(out, a); return true })
	return out, err
}

// ownPorts reads a record as this version writes it: the one port of a record from before VIPs
// moves into Ports, and the ports of a record from before ports had owners get its Owner.
func ownPorts(a *Alias) {
	if a.ServiceID != "" {
		a.Ports = append(a.Ports, AliasPort{Port: a.Port, ServiceID: a.ServiceID})
		a.ServiceID, a.Port = "", 0
	}
	for i := range a.Ports {
		if a.Ports[i].Owner == "" {
			a.Ports[i].Owner = a.Owner
		}
	}
	a.Owner = ""
}

// AliasPortOwner is the ECS service (ARN) that gave the alias name with port ("" when none did):
// another service may give the name with other ports, not with this one.
func AliasPortOwner(tx *store.Tx, name string, port int32) (string, error) {
	a, err := get[Alias](tx, aliasKey(aliasName(name)))
	if err != nil || a == nil {
		return "", err
	}
	ownPorts(a)
	for _, p := range a.Ports {
		if p.Port == port {
			return p.Owner, nil
		}
	}
	return "", nil
}

// SetAliases makes aliases the client aliases of owner: owner's ports of every name are replaced
// by those asked for; a name that keeps any port (owner's or another service's) keeps its VIP, a
// new name gets the next free address of the alias range, and a name left with no port is
// removed, freeing its address. The caller checked that no other owner gave one of the names with
// the same port (AliasPortOwner) and that no name and port is given twice. It fails with
// ErrAliasRangeFull (wrapped, naming the alias's member) when the range has no free address left.
func SetAliases(tx *store.Tx, owner string, aliases []ClientAlias) error {
	all, err := storedAliases(tx)
	if err != nil {
		return err
	}
	want := map[string][]AliasPort{}
	var order []string
	member := map[string]string{}
	for _, ca := range aliases {
		name := aliasName(ca.Name)
		if _, ok := want[name]; !ok {
			member[name] = ca.Member
			order = append(order, name)
		}
		want[name] = append(want[name], AliasPort{Port: ca.Port, ServiceID: ca.ServiceID, Owner: owner})
	}
	kept, err := dropPortsOf(tx, all, owner, want)
	if err != nil {
		return err
	}
	prefix := aliasRange(tx)
	for _, name := range order {
		a := findAlias(kept, name)
		if a == nil {
			a = &Alias{Name: name}
			kept = append(kept, a)
		}
		a.Ports = append(a.Ports, want[name]...)
		if vip, err := netip.ParseAddr(a.VIP); err == nil && prefix.Contains(vip) {
			if err := putAlias(tx, a); err != nil {
				return err
			}
			continue
		}
		if err := assignVIP(tx, a, prefix, kept, member[name], len(order)); err != nil {
			return err
		}
	}
	return nil
}

// dropPortsOf removes owner's ports from every alias of all and returns the aliases left: a name
// with other services' ports is stored without owner's; a name with none left is deleted unless
// want (owner's names) has it.
func dropPortsOf(tx *store.Tx, all []*Alias, owner string, want map[string][]AliasPort) ([]*Alias, error) {
	kept := all[:0:0]
	for _, a := range all {
		others := slices.DeleteFunc(slices.Clone(a.Ports), func(p AliasPort) bool { return p.Owner == owner })
		if len(others) == len(a.Ports) {
			kept = append(kept, a)
			continue
		}
		a.Ports = others
		_, wanted := want[a.Name]
		switch {
		case len(others) == 0 && !wanted:
			if err := tx.CloudMapDelete(aliasKey(a.Name)); err != nil {
				return nil, err
			}
			continue
		case !wanted:
			if err := putAlias(tx, a); err != nil {
				return nil, err
			}
		}
		kept = append(kept, a)
	}
	return kept, nil
}

func findAlias(all []*Alias, name string) *Alias {
	for _, a := range all {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func putAlias(tx *store.Tx, a *Alias) error {
	slices.SortFunc(a.Ports, func(x, y AliasPort) int { return int(x.Port - y.Port) })
	return tx.CloudMapPut(aliasKey(a.Name), a)
}

// assignVIP gives a the next free address of prefix (none of others holds it) and stores it.
// member names the request's member that gave a (may be "") and asks is how many names the
// request asks for (0 at start, AdoptAliasRange; for the error when the range is full).
func assignVIP(tx *store.Tx, a *Alias, prefix netip.Prefix, others []*Alias, member string, asks int) error {
	used := map[netip.Addr]bool{}
	for _, o := range others {
		if vip, err := netip.ParseAddr(o.VIP); err == nil && o.Name != a.Name {
			used[vip] = true
		}
	}
	last, _ := netip.ParseAddr(tx.Setting(settingAliasLast))
	vip, ok := nextFreeVIP(prefix, used, last)
	if !ok {
		return rangeFull(a, prefix, others, member, asks)
	}
	a.VIP = vip.String()
	if err := tx.PutSetting(settingAliasLast, a.VIP); err != nil {
		return err
	}
	return putAlias(tx, a)
}

// rangeFull is the error (wrapping ErrAliasRangeFull) when no address of prefix is free for a:
// how many addresses the range has, how many names the request asks for (asks; 0 at start) and
// how many the other owners' aliases hold, and what to do.
func rangeFull(a *Alias, prefix netip.Prefix, others []*Alias, member string, asks int) error {
	if asks == 0 {
		return fmt.Errorf("client alias %s: the Service Connect range %s has %d addresses, one per client alias name, fewer than the %d names stored: %w; "+
			"start the data plane with a larger --service-connect-cidr, or delete services' client aliases no longer needed",
			a.Name, prefix, hostCount(prefix), len(others), ErrAliasRangeFull)
	}
	where := "client alias " + a.Name
	if member != "" {
		where = member + ".dnsName: " + a.Name
	}
	held := 0
	for _, o := range others {
		if o.Name != a.Name && o.VIP != "" && slices.ContainsFunc(o.Ports, func(p AliasPort) bool { return !slices.Contains(ownersOf(a), p.Owner) }) {
			held++
		}
	}
	return fmt.Errorf("%s: the Service Connect range %s has %d addresses, one per client alias name; this request asks for %d names "+
		"and other services' client aliases hold %d: %w; give fewer client alias names (ports of one name share its address), "+
		"or start the data plane with a larger --service-connect-cidr",
		where, prefix, hostCount(prefix), asks, held, ErrAliasRangeFull)
}

// ownersOf are the owners of a's ports.
func ownersOf(a *Alias) []string {
	var out []string
	for _, p := range a.Ports {
		out = append(out, p.Owner)
	}
	return out
}

// nextFreeVIP is the first address of prefix after last (wrapping around; from the start when
// last is not in prefix) that is neither the network nor the broadcast address nor used.
func nextFreeVIP(prefix netip.Prefix, used map[netip.Addr]bool, last netip.Addr) (netip.Addr, bool) {
	first := prefix.Addr().Next()
	n := hostCount(prefix)
	start := 0
	if last.Is4() && prefix.Contains(last) {
		start = offset(first, last) + 1
	}
	for i := 0; i < n; i++ {
		a := nth(first, (start+i)%n)
		if !used[a] {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// hostCount is how many addresses of prefix a VIP may take (all but the network and broadcast
// addresses).
func hostCount(prefix netip.Prefix) int { return 1<<(32-prefix.Bits()) - 2 }

// offset is how many addresses to lies after from.
func offset(from, to netip.Addr) int { return int(toUint(to) - toUint(from)) }

// nth is the address i after from.
func nth(from netip.Addr, i int) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], toUint(from)+uint32(i))
	return netip.AddrFrom4(b)
}

func toUint(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// AliasListener is one listener the Service Connect proxy keeps: an alias's VIP and one of its
// ports, forwarding to the healthy instances of a Cloud Map service.
type AliasListener struct {
	Name      string
	Address   netip.AddrPort
	ServiceID string
}

// AliasListeners are the listeners every stored alias asks for, in name and port order. Records
// without a valid VIP (none: AdoptAliasRange gives every alias one) are skipped.
func AliasListeners(tx *store.Tx) ([]AliasListener, error) {
	all, err := storedAliases(tx)
	if err != nil {
		return nil, err
	}
	var out []AliasListener
	for _, a := range all {
		vip, err := netip.ParseAddr(a.VIP)
		if err != nil || !vip.Is4() {
			continue
		}
		for _, p := range a.Ports {
			if p.Port > 0 && p.Port <= 65535 {
				out = append(out, AliasListener{Name: a.Name, Address: netip.AddrPortFrom(vip, uint16(p.Port)), ServiceID: p.ServiceID})
			}
		}
	}
	return out, nil
}

// AliasTargets are where the connections of an alias port served by the Cloud Map service
// serviceID go: each healthy instance's AWS_INSTANCE_IPV4 and AWS_INSTANCE_PORT, in address
// order. Instances without a port are skipped (Service Connect registers every task with one).
func AliasTargets(tx *store.Tx, serviceID string) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	err := each(tx, instPrefix(serviceID), func(i *instance) bool {
		addr, ok := healthyAddr(i)
		port, err := strconv.ParseUint(i.Attributes[AttrPort], 10, 16)
		if ok && err == nil && port > 0 {
			out = append(out, netip.AddrPortFrom(addr, uint16(port)))
		}
		return true
	})
	slices.SortFunc(out, netip.AddrPort.Compare)
	return out, err
}

// aliasTTL is the TTL of a client alias's answers: the VPC's DNS server's own (servicedns
// DefaultTTL), as there is no Cloud Map record to take one from.
const aliasTTL = 5

// lookupAlias answers a client alias (name lower case, fully qualified) with its VIP, whether or
// not a task serves it at the moment (as on ECS, where the alias always resolves and the proxy
// refuses connections while no task is healthy); false when name is no alias.
func lookupAlias(tx *store.Tx, name string) (Records, bool) {
	a, err := get[Alias](tx, aliasKey(strings.TrimSuffix(name, ".")))
	if err != nil || a == nil {
		return Records{}, false
	}
	recs := Records{Zone: name, ZoneTTL: aliasTTL * time.Second, Exists: true, ATTL: aliasTTL * time.Second}
	if vip, err := netip.ParseAddr(a.VIP); err == nil && vip.Is4() {
		recs.A = []netip.Addr{vip}
	}
	return recs, true
}
