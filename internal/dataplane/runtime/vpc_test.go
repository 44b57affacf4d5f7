package runtime

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// newVPC runs a VPC on stateDir until the test ends.
func newVPC(t *testing.T, stateDir string) *vpc.VPC {
	t.Helper()
	requireContainerd(t)
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		t.Skipf("needs slirp4netns (hack/install-deps.sh installs it): %v", err)
	}
	subnet, err := ipam.ParseSubnet("10.78.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	v, err := vpc.New(vpc.Options{StateDir: stateDir, Subnet: subnet, Logger: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("VPC Run: %v", err)
		}
	})
	select {
	case <-v.Ready():
	case err := <-done:
		t.Fatalf("VPC Run: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the VPC is not ready after a minute")
	}
	return v
}

func onVPC(v *vpc.VPC, spec TaskSpec, host byte) TaskSpec {
	addr := netip.AddrFrom4([4]byte{10, 78, 0, host})
	spec.Network = &vpc.Interface{Address: v.Subnet().WithBits(addr), Gateway: v.Subnet().Gateway(), MAC: ipam.MAC(addr)}
	return spec
}

// vethCount counts the veths in the VPC's namespace.
func vethCount(t *testing.T, v *vpc.VPC) int {
	t.Helper()
	ns, err := netns.GetFromPath(v.NamespacePath())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range links {
		if l.Type() == "veth" {
			n++
		}
	}
	return n
}

// TestTasksOnTheVPC runs two tasks on the VPC and checks that one reaches the other by IP (and is
// seen with its own IP), that the nodeless process reaches a task with Dial, that a task reaches a
// server on the host's 127.0.0.1 at 10.0.2.2, that the task's files name its address, and that
// Remove takes the task's veth away.
func TestTasksOnTheVPC(t *testing.T) {
	stateDir := t.TempDir()
	t.Cleanup(func() { unmountUnder(t, stateDir) })
	v := newVPC(t, stateDir)
	e := newEnvWith(t, stateDir, v)
	e.loadImage()
	a := onVPC(v, taskSpec(container("web", withCommand("-listen", ":8080"), withPort(8080))), 10)
	b := onVPC(v, taskSpec(container("web", withCommand("-listen", ":8080"), withPort(8080))), 11)
	stA := e.start(a)
	stB := e.start(b) // removed below; the cleanup's Remove is then a no-op
	e.waitState(a.TaskID, 20*time.Second, "a RUNNING", running("web"))
	e.waitState(b.TaskID, 20*time.Second, "b RUNNING", running("web"))
	portA := stA.HostPorts["8080/tcp"]
	if got := vethCount(t, v); got != 2 {
		t.Errorf("%d veths with two tasks, want 2", got)
	}

	fetch := func(target string) string {
		return get(t, portA, "/fetch?url="+url.QueryEscape(target))
	}
	if got := fetch("http://10.78.0.11:8080/remote"); !strings.HasPrefix(got, "10.78.0.10:") {
		t.Errorf("task b saw task a come from %q, want 10.78.0.10:port", got)
	}
	if got := get(t, portA, "/file?path=/etc/hosts"); !strings.Contains(got, "10.78.0.10\tip-") {
		t.Errorf("task a's /etc/hosts does not name its address:\n%s", got)
	}
	if got := get(t, portA, "/file?path=/etc/resolv.conf"); !strings.Contains(got, "nameserver") || strings.Contains(got, "nameserver 127.") {
		t.Errorf("task a's /etc/resolv.conf:\n%s", got)
	}

	dialed := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: v.Dial}}
	resp, err := dialed.Get("http://10.78.0.11:8080/remote")
	if err != nil {
		t.Fatalf("GET task b through Dial: %v", err)
	}
	resp.Body.Close()

	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "from the host") }),
		ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(host) }()
	defer srv.Close()
	hostURL := fmt.Sprintf("http://%s:%d/", vpc.HostLoopback, host.Addr().(*net.TCPAddr).Port)
	if got := fetch(hostURL); got != "from the host" {
		t.Errorf("task a fetching the host's loopback server at %s got %q", hostURL, got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.rt.Stop(ctx, b.TaskID); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.Remove(ctx, b.TaskID, stB); err != nil {
		t.Fatal(err)
	}
	if got := vethCount(t, v); got != 1 {
		t.Errorf("%d veths once task b is removed, want 1", got)
	}
}

func TestTaskWithAddressButNoVPCFailsToStart(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	spec := taskSpec(container("web"))
	spec.Network = &vpc.Interface{Address: netip.MustParsePrefix("10.78.0.5/24"), Gateway: netip.MustParseAddr("10.78.0.1"),
		MAC: ipam.MAC(netip.MustParseAddr("10.78.0.5"))}
	e.start(spec)
	st := e.waitState(spec.TaskID, 20*time.Second, "a start failure", func(s TaskState) bool { return s.StartFailure != "" })
	if !strings.Contains(st.StartFailure, "no VPC") {
		t.Errorf("StartFailure = %q", st.StartFailure)
	}
}
