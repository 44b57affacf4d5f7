package vpc

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
)

// spareState is what a test sees of the pool from outside: the spare namespaces' mount points and
// the spares' veths in the VPC's namespace.
func spareState(t *testing.T, v *VPC, stateDir string) (mounts, veths []string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(stateDir, "netns"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), sparePrefix) {
			mounts = append(mounts, e.Name())
		}
	}
	err = withHandle(v.nsPath, func(h *netlink.Handle) error {
		links, err := RetryDump(h.LinkList)
		if err != nil {
			return err
		}
		for _, l := range links {
			if strings.HasPrefix(l.Attrs().Name, spareVethPrefix) {
				veths = append(veths, l.Attrs().Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(mounts)
	sort.Strings(veths)
	return mounts, veths
}

func always() bool { return true }

// sparesVPC skips the test unless it runs as root with slirp4netns, and starts a VPC on cidr in a
// fresh state dir; when the test ends, the VPC stops and every mount under the state dir goes.
func sparesVPC(t *testing.T, cidr string) (stateDir string, subnet ipam.Subnet, r *running) {
	t.Helper()
	requireRoot(t)
	stateDir = t.TempDir()
	t.Cleanup(func() { unmountAll(t, stateDir) })
	subnet, err := ipam.ParseSubnet(cidr)
	if err != nil {
		t.Fatal(err)
	}
	r = startVPC(t, stateDir, subnet)
	t.Cleanup(func() { r.stop(t) })
	return stateDir, subnet, r
}

// taskInterface is the interface of the task with address addr in subnet, as the scheduler assigns
// it.
func taskInterface(subnet ipam.Subnet, addr string) Interface {
	a := netip.MustParseAddr(addr)
	return Interface{Address: subnet.WithBits(a), Gateway: subnet.Gateway(), MAC: ipam.MAC(a)}
}

// removeTask detaches the task id from the VPC and removes its namespace under stateDir.
func removeTask(t *testing.T, v *VPC, stateDir, id string) {
	t.Helper()
	if err := v.DetachTask(id); err != nil {
		t.Error(err)
	}
	if err := RemoveNamespace(filepath.Join(stateDir, "netns", id)); err != nil {
		t.Error(err)
	}
}

// wantSpares checks that the pool holds n spares and the state dir and the VPC exactly as many.
func wantSpares(t *testing.T, s *Spares, v *VPC, stateDir string, n int, when string) {
	t.Helper()
	mounts, veths := spareState(t, v, stateDir)
	if len(mounts) != n || len(veths) != n || s.Ready() != n {
		t.Errorf("%s: mounts %v, veths %v, Ready %d; want %d of each", when, mounts, veths, s.Ready(), n)
	}
}

// attachKeepsThePair attaches the task on a taken spare and checks that its eth0 stayed the spare's,
// now with the task's MAC.
func attachKeepsThePair(t *testing.T, v *VPC, id, ns string, ifc Interface) {
	t.Helper()
	var before, after netlink.Link
	err := withHandle(ns, func(th *netlink.Handle) error {
		var err error
		if before, err = th.LinkByName(TaskInterface); err != nil {
			return fmt.Errorf("the taken namespace has no %s: %w", TaskInterface, err)
		}
		if err := v.AttachTask(id, ns, ifc); err != nil {
			return err
		}
		after, err = th.LinkByName(TaskInterface)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if before.Attrs().Index != after.Attrs().Index {
		t.Errorf("AttachTask made the taken pair again (eth0 index %d → %d)", before.Attrs().Index, after.Attrs().Index)
	}
	if diff := cmp.Diff(ifc.MAC.String(), after.Attrs().HardwareAddr.String()); diff != "" {
		t.Errorf("eth0's MAC (-want +got):\n%s", diff)
	}
}

// TestSparesTakeRefillDrain walks the pool's rules: it fills to its size while quiet and not
// otherwise; a take moves a spare to the task's path, whose pair AttachTask then keeps (same eth0,
// same VPC end) and gives the task's address; an empty pool says so; Drain leaves nothing.
func TestSparesTakeRefillDrain(t *testing.T) {
	dir, subnet, r := sparesVPC(t, "10.78.0.0/16")
	s := NewSpares(dir, r.v, 2)

	if err := s.Fill(func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	if got := s.Ready(); got != 0 {
		t.Fatalf("a busy runtime filled the pool: %d spares, want 0", got)
	}
	if err := s.Fill(always); err != nil {
		t.Fatal(err)
	}
	wantSpares(t, s, r.v, dir, 2, "after Fill")

	ifc := taskInterface(subnet, "10.78.0.9")
	ns := filepath.Join(dir, "netns", "task1")
	if !s.Take("task1", ns, ifc.MAC) {
		t.Fatal("Take from a full pool found nothing")
	}
	attachKeepsThePair(t, r.v, "task1", ns, ifc)
	port := serveIn(t, ns)
	if got := get(t, r.v.Dial, "http://10.78.0.9:"+port+"/"); !strings.HasPrefix(got, subnet.Gateway().String()+":") {
		t.Errorf("the task on a taken spare answered %q, want a request from the gateway", got)
	}
	wantSpares(t, s, r.v, dir, 1, "after Take")

	if !s.Take("task2", filepath.Join(dir, "netns", "task2"), ifc.MAC) {
		t.Fatal("Take of the last spare found nothing")
	}
	if s.Take("task3", filepath.Join(dir, "netns", "task3"), ifc.MAC) {
		t.Error("Take from an empty pool reported a spare")
	}
	if IsNamespace(filepath.Join(dir, "netns", "task3")) {
		t.Error("Take from an empty pool left a namespace at the task's path")
	}

	if err := s.Fill(always); err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(); err != nil {
		t.Fatal(err)
	}
	wantSpares(t, s, r.v, dir, 0, "after Drain")
	if !IsNamespace(ns) {
		t.Error("Drain removed a taken namespace")
	}
	for _, id := range []string{"task1", "task2"} {
		removeTask(t, r.v, dir, id)
	}
}

// TestSparesOfAnEarlierProcess: a process killed with spares ready, or in the middle of a take,
// leaves spare namespaces and veths; the next pool's Sweep removes them (none is reused: a take cut
// off between mounting the task's path and unmounting the spare's would otherwise hand one
// namespace to two tasks) and leaves tasks' namespaces alone, and the VPC does not count spares as
// attached tasks.
func TestSparesOfAnEarlierProcess(t *testing.T) {
	dir, subnet, r := sparesVPC(t, "10.79.0.0/16")
	old := NewSpares(dir, r.v, 3)
	if err := old.Fill(always); err != nil {
		t.Fatal(err)
	}
	// A take cut off after the task's path was mounted: the spare's path is still there too.
	name := old.ready[0]
	cut := filepath.Join(dir, "netns", "cut")
	if err := bindNamespace(filepath.Join(dir, "netns", name), cut); err != nil {
		t.Fatal(err)
	}
	if n, err := r.v.attached(); err != nil || n != 0 {
		t.Errorf("the VPC counts %d attached tasks (%v) with only spares on it, want 0", n, err)
	}

	s := NewSpares(dir, r.v, 3) // the next process
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	wantSpares(t, s, r.v, dir, 0, "after Sweep")
	if !IsNamespace(cut) {
		t.Fatal("Sweep removed the namespace of a task")
	}
	// The cut-off task's start runs again: AttachTask makes its pair anew.
	if err := r.v.AttachTask("cut", cut, taskInterface(subnet, "10.79.0.7")); err != nil {
		t.Fatal(err)
	}
	port := serveIn(t, cut)
	if got := get(t, r.v.Dial, "http://10.79.0.7:"+port+"/"); got == "" {
		t.Error("the task whose take was cut off does not answer")
	}
	removeTask(t, r.v, dir, "cut")
}
