package vpc

import (
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
	h, closeH, err := handleAt(v.nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer closeH()
	links, err := linkList(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, spareVethPrefix) {
			veths = append(veths, l.Attrs().Name)
		}
	}
	sort.Strings(mounts)
	sort.Strings(veths)
	return mounts, veths
}

func always() bool { return true }

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
	th, closeT, err := handleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer closeT()
	before, err := th.LinkByName(TaskInterface)
	if err != nil {
		t.Fatalf("the taken namespace has no %s: %v", TaskInterface, err)
	}
	if err := v.AttachTask(id, ns, ifc); err != nil {
		t.Fatal(err)
	}
	after, err := th.LinkByName(TaskInterface)
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
	requireRoot(t)
	dir := t.TempDir()
	defer unmountAll(t, dir)
	subnet, _ := ipam.ParseSubnet("10.78.0.0/16")
	r := startVPC(t, dir, subnet)
	defer r.stop(t)
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

	addr := netip.MustParseAddr("10.78.0.9")
	ifc := Interface{Address: subnet.WithBits(addr), Gateway: subnet.Gateway(), MAC: ipam.MAC(addr)}
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
		if err := r.v.DetachTask(id); err != nil {
			t.Error(err)
		}
		if err := RemoveNamespace(filepath.Join(dir, "netns", id)); err != nil {
			t.Error(err)
		}
	}
}

// TestSparesOfAnEarlierProcess: a process killed with spares ready, or in the middle of a take,
// leaves spare namespaces and veths; the next pool's Sweep removes them (none is reused: a take cut
// off between mounting the task's path and unmounting the spare's would otherwise hand one
// namespace to two tasks) and leaves tasks' namespaces alone, and the VPC does not count spares as
// attached tasks.
func TestSparesOfAnEarlierProcess(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	defer unmountAll(t, dir)
	subnet, _ := ipam.ParseSubnet("10.79.0.0/16")
	r := startVPC(t, dir, subnet)
	defer r.stop(t)
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
	addr := netip.MustParseAddr("10.79.0.7")
	ifc := Interface{Address: subnet.WithBits(addr), Gateway: subnet.Gateway(), MAC: ipam.MAC(addr)}
	if err := r.v.AttachTask("cut", cut, ifc); err != nil {
		t.Fatal(err)
	}
	port := serveIn(t, cut)
	if got := get(t, r.v.Dial, "http://10.79.0.7:"+port+"/"); got == "" {
		t.Error("the task whose take was cut off does not answer")
	}
	if err := r.v.DetachTask("cut"); err != nil {
		t.Error(err)
	}
	if err := RemoveNamespace(cut); err != nil {
		t.Error(err)
	}
}
