package vpc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping a test that creates network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		t.Skipf("needs slirp4netns (hack/install-deps.sh installs it): %v", err)
	}
}

// running is a VPC whose Run goroutine the test controls.
type running struct {
	v      *VPC
	cancel context.CancelFunc
	done   chan error
}

func startVPC(t *testing.T, stateDir string, subnet ipam.Subnet) *running {
	t.Helper()
	v, err := New(Options{StateDir: stateDir, Subnet: subnet, Logger: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{v: v, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- v.Run(ctx) }()
	select {
	case <-v.Ready():
	case err := <-r.done:
		t.Fatalf("VPC Run: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the VPC is not ready after a minute")
	}
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("VPC Run: %v", err)
	}
}

// task is a namespace standing for a task, attached to the VPC.
type task struct {
	id, ns string
	ifc    Interface
}

func newTask(t *testing.T, v *VPC, stateDir, id string, host uint8) task {
	t.Helper()
	ns := filepath.Join(stateDir, "netns", id)
	if err := EnsureNamespace(ns); err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrFrom4([4]byte{10, 77, 0, host})
	tk := task{id: id, ns: ns, ifc: Interface{Address: v.Subnet().WithBits(addr), Gateway: v.Subnet().Gateway(), MAC: ipam.MAC(addr)}}
	if err := v.AttachTask(id, ns, tk.ifc); err != nil {
		t.Fatal(err)
	}
	return tk
}

// serveIn serves HTTP inside the namespace at ns, answering every request with the client's
// address, until the test ends.
func serveIn(t *testing.T, ns string) string {
	t.Helper()
	var ln net.Listener
	err := inNamespace(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", ":0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RemoteAddr)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// get fetches url over connections that dial returns.
func get(t *testing.T, dial func(ctx context.Context, network, addr string) (net.Conn, error), url string) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func fromNamespace(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return DialInNamespace(ctx, ns, network, addr, nil)
	}
}

var lifetimes = regexp.MustCompile(`"(valid|preferred)_life_time":\d+,?`)

// hostState is what the test holds unchanged on the host: interfaces, addresses, routes, rules,
// firewall tables and forwarding sysctls.
func hostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"ip", "-j", "link", "show"}, {"ip", "-j", "addr", "show"}, {"ip", "-j", "route", "show", "table", "all"},
		{"ip", "-j", "rule", "show"}, {"nft", "list", "ruleset"}, {"iptables-save"}, {"ip6tables-save"},
	} {
		if _, err := exec.LookPath(args[0]); err != nil {
			continue
		}
		out, err := exec.Command(args[0], args[1:]...).Output()
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		// Address lifetimes count down on hosts that use DHCP: they are not a change.
		out = lifetimes.ReplaceAll(out, nil)
		fmt.Fprintf(&b, "$ %s\n%s\n", strings.Join(args, " "), out)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		fmt.Fprintf(&b, "nftables table %d %s\n", tb.Family, tb.Name)
	}
	for _, s := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/all/rp_filter"} {
		v, _ := os.ReadFile("/proc/sys/" + s)
		fmt.Fprintf(&b, "%s = %s", s, v)
	}
	return b.String()
}

// leaks counts what the VPC may leave behind: veths in its namespace, namespace mounts under
// stateDir, and slirp4netns processes attached to stateDir.
type leaks struct {
	Veths, Mounts, Uplinks int
}

func count(t *testing.T, stateDir string) leaks {
	t.Helper()
	var l leaks
	if IsNamespace(NamespacePath(stateDir)) {
		err := withHandle(NamespacePath(stateDir), func(h *netlink.Handle) error {
			links, err := RetryDump(h.LinkList)
			if err != nil {
				return err
			}
			for _, k := range links {
				if k.Type() == "veth" {
					l.Veths++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], stateDir+"/") {
			l.Mounts++
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, _ := os.ReadFile(p)
		if bytes.HasPrefix(raw, []byte("slirp4netns")) || bytes.Contains(raw, []byte("/slirp4netns\x00")) {
			if bytes.Contains(raw, []byte(stateDir+"/")) {
				l.Uplinks++
			}
		}
	}
	return l
}

func unmountAll(t *testing.T, stateDir string) {
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	var mounts []string
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], stateDir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Logf("unmounting %s: %v", m, err)
		}
	}
}

// TestVPC sets a VPC up, attaches two namespaces standing for tasks, and checks that they reach
// each other by IP, that the nodeless process reaches them with Dial, that a task reaches a server
// on the host's 127.0.0.1 through the uplink, that a restart keeps everything (and adopts the
// uplink), that a killed uplink is replaced, and that detaching and stopping leave nothing behind
// and the host unchanged.
func TestVPC(t *testing.T) {
	requireRoot(t)
	before := hostState(t)
	stateDir := t.TempDir()
	t.Cleanup(func() { unmountAll(t, stateDir) })
	subnet, err := ipam.ParseSubnet("10.77.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	r := startVPC(t, stateDir, subnet)
	a := newTask(t, r.v, stateDir, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 2)
	b := newTask(t, r.v, stateDir, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 3)
	port := serveIn(t, b.ns)

	t.Run("task to task", func(t *testing.T) {
		got := get(t, fromNamespace(a.ns), "http://10.77.0.3:"+port+"/")
		if !strings.HasPrefix(got, "10.77.0.2:") {
			t.Errorf("task b saw task a's request come from %q, want 10.77.0.2:port", got)
		}
	})
	t.Run("Dial from nodeless", func(t *testing.T) {
		got := get(t, r.v.Dial, "http://10.77.0.3:"+port+"/")
		if !strings.HasPrefix(got, "10.77.0.1:") {
			t.Errorf("task b saw Dial's request come from %q, want the gateway 10.77.0.1:port", got)
		}
		if _, err := r.v.Dial(context.Background(), "tcp", "127.0.0.1:"+port); err == nil {
			t.Error("Dial to an address outside the subnet succeeded")
		}
	})
	t.Run("host loopback through the uplink", func(t *testing.T) {
		hostPort := serveOnHostLoopback(t)
		got := get(t, fromNamespace(a.ns), "http://"+HostLoopback.String()+":"+hostPort+"/")
		if !strings.HasPrefix(got, "127.0.0.1:") {
			t.Errorf("the host server saw the task's request come from %q, want 127.0.0.1:port", got)
		}
	})

	want := leaks{Veths: 2, Mounts: 3, Uplinks: 1}
	if diff := cmp.Diff(want, count(t, stateDir)); diff != "" {
		t.Errorf("with two tasks attached (-want +got):\n%s", diff)
	}
	pid := uplinkPid(t, stateDir)

	t.Run("restart keeps tasks and adopts the uplink", func(t *testing.T) {
		// Run returns without stopping slirp4netns when it is killed as a kill -9 of nodeless
		// would: emulate that by starting a second VPC while the first one's uplink runs.
		r2 := startVPC(t, stateDir, subnet)
		defer r2.stop(t)
		if got := uplinkPid(t, stateDir); got != pid {
			t.Errorf("uplink pid %d after a second Run, want the adopted %d", got, pid)
		}
		if err := r2.v.AttachTask(a.id, a.ns, a.ifc); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, count(t, stateDir)); diff != "" {
			t.Errorf("after re-attaching (-want +got):\n%s", diff)
		}
		if got := get(t, fromNamespace(a.ns), "http://10.77.0.3:"+port+"/"); !strings.HasPrefix(got, "10.77.0.2:") {
			t.Errorf("after a restart, task b saw %q", got)
		}
	})
	// The second Run stopped the adopted uplink; the first one started another, and stops it now.
	r.stop(t)
	if got := count(t, stateDir).Uplinks; got != 0 {
		t.Errorf("%d uplinks after every Run stopped, want 0", got)
	}

	t.Run("a killed uplink is replaced", func(t *testing.T) {
		r3 := startVPC(t, stateDir, subnet)
		defer r3.stop(t)
		old := uplinkPid(t, stateDir)
		if err := unix.Kill(old, unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			if p, err := readPid(stateDir); err == nil && p != old && isUplinkProcess(p, r3.v.NamespacePath()) && r3.v.checkUplink() == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		hostPort := serveOnHostLoopback(t)
		get(t, fromNamespace(a.ns), "http://"+HostLoopback.String()+":"+hostPort+"/")
	})

	for _, tk := range []task{a, b} {
		if err := (&VPC{nsPath: NamespacePath(stateDir)}).DetachTask(tk.id); err != nil {
			t.Fatal(err)
		}
		if err := RemoveNamespace(tk.ns); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(leaks{Mounts: 1}, count(t, stateDir)); diff != "" {
		t.Errorf("after detaching both tasks and stopping (-want +got):\n%s", diff)
	}
	unmountAll(t, stateDir)
	if diff := cmp.Diff(before, hostState(t)); diff != "" {
		t.Errorf("the host's network changed (-before +after):\n%s", diff)
	}
}

func serveOnHostLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RemoteAddr)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func readPid(stateDir string) (int, error) {
	raw, err := os.ReadFile(filepath.Join(stateDir, "vpc", uplinkPidFile))
	if err != nil {
		return 0, err
	}
	var pid int
	_, err = fmt.Sscanf(string(raw), "%d", &pid)
	return pid, err
}

func uplinkPid(t *testing.T, stateDir string) int {
	t.Helper()
	pid, err := readPid(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestStopWithoutTasksLeavesNothing: a VPC stopped with no task attached removes its namespace and
// slirp4netns; one stopped with a task attached keeps its namespace for it.
func TestStopWithoutTasksLeavesNothing(t *testing.T) {
	requireRoot(t)
	stateDir := t.TempDir()
	t.Cleanup(func() { unmountAll(t, stateDir) })
	subnet, _ := ipam.ParseSubnet("10.77.0.0/16")
	r := startVPC(t, stateDir, subnet)
	r.stop(t)
	if diff := cmp.Diff(leaks{}, count(t, stateDir)); diff != "" {
		t.Errorf("after stopping a VPC without tasks (-want +got):\n%s", diff)
	}
	r = startVPC(t, stateDir, subnet)
	a := newTask(t, r.v, stateDir, "dddddddddddddddddddddddddddddddd", 4)
	r.stop(t)
	if diff := cmp.Diff(leaks{Veths: 1, Mounts: 2}, count(t, stateDir)); diff != "" {
		t.Errorf("after stopping a VPC with a task attached (-want +got):\n%s", diff)
	}
	if err := RemoveNamespace(a.ns); err != nil {
		t.Fatal(err)
	}
}

func TestAttachIsIdempotent(t *testing.T) {
	requireRoot(t)
	stateDir := t.TempDir()
	t.Cleanup(func() { unmountAll(t, stateDir) })
	subnet, _ := ipam.ParseSubnet("10.77.0.0/16")
	r := startVPC(t, stateDir, subnet)
	defer r.stop(t)
	a := newTask(t, r.v, stateDir, "cccccccccccccccccccccccccccccccc", 9)
	h, closeH, err := handleAt(a.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer closeH()
	first, err := h.LinkByName(TaskInterface)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.v.AttachTask(a.id, a.ns, a.ifc); err != nil {
		t.Fatal(err)
	}
	again, err := h.LinkByName(TaskInterface)
	if err != nil {
		t.Fatal(err)
	}
	if again.Attrs().Index != first.Attrs().Index {
		t.Errorf("a second AttachTask made eth0 again (index %d → %d)", first.Attrs().Index, again.Attrs().Index)
	}
	// Another address on the same MAC is corrected in place; another MAC makes the pair again.
	moved := a.ifc
	moved.Address = netip.MustParsePrefix("10.77.0.10/16")
	if err := r.v.AttachTask(a.id, a.ns, moved); err != nil {
		t.Fatal(err)
	}
	addrs, _ := h.AddrList(again, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.77.0.10/16" {
		t.Errorf("eth0's addresses after re-attaching with another one: %v", addrs)
	}
	moved.MAC = ipam.MAC(moved.Address.Addr())
	if err := r.v.AttachTask(a.id, a.ns, moved); err != nil {
		t.Fatal(err)
	}
	if got := count(t, stateDir).Veths; got != 1 {
		t.Errorf("%d veths in the VPC after re-attaching one task three times, want 1", got)
	}
	if err := r.v.DetachTask(a.id); err != nil {
		t.Fatal(err)
	}
	if err := r.v.DetachTask(a.id); err != nil {
		t.Errorf("detaching twice: %v", err)
	}
}
