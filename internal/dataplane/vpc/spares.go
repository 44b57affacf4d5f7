package vpc

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Names of spare namespaces and of their veths in the VPC's namespace.
const (
	// sparePrefix begins the mount point of every spare namespace (StateDir/netns/spare-<8 hex>).
	sparePrefix = "spare-"
	// spareVethPrefix begins the VPC end of a spare's veth pair; a task's is "veth…" (vethName).
	spareVethPrefix = "vsp"
)

// IsSpareNamespace reports whether name, an entry of StateDir/netns, is a spare's mount point.
func IsSpareNamespace(name string) bool { return strings.HasPrefix(name, sparePrefix) }

// IsSpareVeth reports whether name, a link in the VPC's namespace, is the VPC end of a spare's
// veth pair.
func IsSpareVeth(name string) bool { return strings.HasPrefix(name, spareVethPrefix) }

// Spares is a pool of ready task namespaces: each is mounted at StateDir/netns/spare-<hex>, has lo
// up and, when there is a VPC, a veth pair whose task end is eth0 (down, no address) and whose VPC
// end is on the bridge (down). Take hands one to a task: the namespace moves to the task's path and
// the pair gets the names and MAC that AttachTask expects, so AttachTask then only sets the address,
// the route and the links up. Making a namespace and a veth pair costs a start 4–5 % sequentially
// and 3–7 % with 50 at once on two cores (bench/README.md, "Faster starts, sixth pass"); Fill makes
// them while nothing starts.
//
// Crash safety: a spare is never reused across processes. Sweep, which a new pool runs before its
// first Fill, removes every spare an earlier process left (killed with spares ready, or in the
// middle of a Take: then the task's path holds the namespace too and keeps it for the task, whose
// start AttachTask completes by making its pair anew). `nodeless down` removes every namespace under
// StateDir/netns, spares included. Drain removes the pool's spares when the runtime stops.
type Spares struct {
	dir  string // StateDir/netns
	vpc  *VPC   // nil: spares without a veth pair
	size int

	mu    sync.Mutex
	ready []string // names of the spares, oldest first
}

// NewSpares is a pool of up to size spares under stateDir, joined to v when v is not nil. Nothing
// is made before Fill.
func NewSpares(stateDir string, v *VPC, size int) *Spares {
	return &Spares{dir: filepath.Join(stateDir, "netns"), vpc: v, size: size}
}

// Ready is how many spares the pool holds.
func (s *Spares) Ready() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ready)
}

// Fill makes spares until the pool holds its size, checking quiet before each: it stops, with no
// error, as soon as quiet reports false (a task is starting, and a spare's kernel work would compete
// with it). Call it once the VPC is ready; it is not safe to call concurrently with itself.
func (s *Spares) Fill(quiet func() bool) error {
	for s.Ready() < s.size && quiet() {
		name, err := s.make()
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.ready = append(s.ready, name)
		s.mu.Unlock()
	}
	return nil
}

// make creates one spare and returns its name; a half-made one is removed.
func (s *Spares) make() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("naming a spare namespace: %w", err)
	}
	name := sparePrefix + hex.EncodeToString(b[:])
	path := filepath.Join(s.dir, name)
	if err := EnsureNamespace(path); err != nil {
		return "", fmt.Errorf("making a spare namespace: %w", err)
	}
	if s.vpc == nil {
		return name, nil
	}
	if err := s.vpc.addSparePair(spareVethName(name), path); err != nil {
		return "", errors.Join(fmt.Errorf("making a spare namespace: %w", err), RemoveNamespace(path))
	}
	return name, nil
}

// spareVethName is the VPC end of a spare's pair: "vsp" and 11 hex digits of the spare's name's
// SHA-256 (IFNAMSIZ allows 15 characters).
func spareVethName(spare string) string {
	sum := sha256.Sum256([]byte(spare))
	return spareVethPrefix + hex.EncodeToString(sum[:])[:11]
}

// addSparePair creates a veth pair whose peer is eth0 in the namespace at nsPath and whose VPC end,
// name, is on the bridge; both ends stay down.
func (v *VPC) addSparePair(name, nsPath string) error {
	return withHandle(v.nsPath, func(vh *netlink.Handle) error {
		br, err := vh.LinkByName(BridgeName)
		if err != nil {
			return fmt.Errorf("finding the bridge %s: %w", BridgeName, err)
		}
		taskNs, err := netns.GetFromPath(nsPath)
		if err != nil {
			return fmt.Errorf("opening network namespace %s: %w", nsPath, err)
		}
		defer func() { _ = taskNs.Close() }()
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.MasterIndex = name, taskMTU, br.Attrs().Index
		veth := &netlink.Veth{LinkAttrs: attrs, PeerName: TaskInterface, PeerNamespace: netlink.NsFd(taskNs), PeerMTU: taskMTU}
		if err := vh.LinkAdd(veth); err != nil {
			return fmt.Errorf("creating veth pair %s/%s: %w", name, TaskInterface, err)
		}
		return nil
	})
}

// Take moves a spare to nsPath for the task taskID: the namespace is mounted there (and no longer
// at the spare's path), its eth0 gets mac and the VPC end the task's name, so that AttachTask keeps
// the pair. It reports false when the pool is empty or a step failed; nsPath may then hold the
// namespace with a pair that AttachTask makes again (both are idempotent), and the caller goes on
// as without a pool: EnsureNamespace, then AttachTask.
func (s *Spares) Take(taskID, nsPath string, mac net.HardwareAddr) bool {
	s.mu.Lock()
	if len(s.ready) == 0 {
		s.mu.Unlock()
		return false
	}
	name := s.ready[0]
	s.ready = s.ready[1:]
	s.mu.Unlock()
	src := filepath.Join(s.dir, name)
	if err := bindNamespace(src, nsPath); err != nil {
		_ = s.remove(name)
		return false
	}
	if err := RemoveNamespace(src); err != nil {
		return false
	}
	if s.vpc == nil {
		return true
	}
	return s.vpc.renameSparePair(spareVethName(name), vethName(taskID), nsPath, mac) == nil
}

// bindNamespace mounts the namespace mounted at src at dst too.
func bindNamespace(src, dst string) error {
	if err := mountPoint(dst); err != nil {
		return err
	}
	if err := unix.Mount(src, dst, "none", unix.MS_BIND, ""); err != nil {
		_ = os.Remove(dst)
		return fmt.Errorf("bind-mounting the network namespace %s at %s: %w", src, dst, err)
	}
	return nil
}

// renameSparePair gives a taken spare's pair the task's names: eth0 gets mac, the VPC end (down,
// which renaming needs) becomes name.
func (v *VPC) renameSparePair(spare, name, nsPath string, mac net.HardwareAddr) error {
	err := withHandle(nsPath, func(th *netlink.Handle) error {
		eth0, err := th.LinkByName(TaskInterface)
		if err != nil {
			return err
		}
		if err := th.LinkSetHardwareAddr(eth0, mac); err != nil {
			return fmt.Errorf("setting %s's MAC: %w", TaskInterface, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return withHandle(v.nsPath, func(vh *netlink.Handle) error {
		host, err := vh.LinkByName(spare)
		if err != nil {
			return err
		}
		if err := vh.LinkSetName(host, name); err != nil {
			return fmt.Errorf("renaming %s to %s: %w", spare, name, err)
		}
		return nil
	})
}

// Drain removes every spare (the pool's and any other under the state dir), for the runtime's
// stop; taken namespaces stay with their tasks.
func (s *Spares) Drain() error {
	s.mu.Lock()
	s.ready = nil
	s.mu.Unlock()
	return s.Sweep()
}

// Sweep removes every spare namespace under the state dir that the pool does not hold and every
// spare veth in the VPC's namespace: what an earlier process left. A new pool runs it before its
// first Fill.
func (s *Spares) Sweep() error {
	s.mu.Lock()
	held := map[string]bool{}
	for _, n := range s.ready {
		held[n] = true
	}
	s.mu.Unlock()
	entries, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("listing network namespaces: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if IsSpareNamespace(e.Name()) && !held[e.Name()] {
			errs = append(errs, s.remove(e.Name()))
		}
	}
	if s.vpc != nil {
		errs = append(errs, s.vpc.removeSpareVeths(held))
	}
	return errors.Join(errs...)
}

// remove deletes one spare: its VPC end (which takes eth0 with it) and its namespace.
func (s *Spares) remove(name string) error {
	var errs []error
	if s.vpc != nil {
		errs = append(errs, s.vpc.deleteLink(spareVethName(name)))
	}
	return errors.Join(append(errs, RemoveNamespace(filepath.Join(s.dir, name)))...)
}

// removeSpareVeths deletes the spare veths in the VPC's namespace but those of the held spares.
func (v *VPC) removeSpareVeths(held map[string]bool) error {
	if !IsNamespace(v.nsPath) {
		return nil
	}
	keep := map[string]bool{}
	for n := range held {
		keep[spareVethName(n)] = true
	}
	return withHandle(v.nsPath, func(vh *netlink.Handle) error {
		links, err := RetryDump(vh.LinkList)
		if err != nil {
			return fmt.Errorf("listing the VPC's links: %w", err)
		}
		var errs []error
		for _, l := range links {
			if n := l.Attrs().Name; IsSpareVeth(n) && !keep[n] {
				if err := vh.LinkDel(l); err != nil && !isNotFound(err) {
					errs = append(errs, fmt.Errorf("deleting spare veth %s: %w", n, err))
				}
			}
		}
		return errors.Join(errs...)
	})
}

// deleteLink deletes the link name in the VPC's namespace; a missing one is not an error.
func (v *VPC) deleteLink(name string) error {
	if !IsNamespace(v.nsPath) {
		return nil
	}
	return withHandle(v.nsPath, func(vh *netlink.Handle) error {
		l, err := vh.LinkByName(name)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := vh.LinkDel(l); err != nil && !isNotFound(err) {
			return fmt.Errorf("deleting %s: %w", name, err)
		}
		return nil
	})
}
