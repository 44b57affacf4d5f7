package vpc

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
)

// TestServeAddresses: an address of a prefix made local to the VPC's namespace (a Service's
// ClusterIP) is reachable from a task through its default route, the listener in the namespace sees
// the task's own address; StopServingAddresses takes the prefix back; the host's network is as it
// was.
func TestServeAddresses(t *testing.T) {
	requireRoot(t)
	before := hostState(t)
	stateDir := t.TempDir()
	t.Cleanup(func() { unmountAll(t, stateDir) })
	subnet, err := ipam.ParseSubnet("10.77.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	r := startVPC(t, stateDir, subnet)
	a := newTask(t, r.v, stateDir, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 5)
	ctx := context.Background()
	if err := r.v.ServeAddresses(ctx, netip.MustParsePrefix("10.77.128.0/24")); err == nil {
		t.Error("ServeAddresses of a prefix inside the VPC's subnet succeeded")
	}
	for range 2 { // idempotent
		if err := r.v.ServeAddresses(ctx, netip.MustParsePrefix("10.96.0.0/24")); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := r.v.ListenInVPC(ctx, "tcp4", "10.96.0.7:8080")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RemoteAddr)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	if got := get(t, fromNamespace(a.ns), "http://10.96.0.7:8080/"); !strings.HasPrefix(got, "10.77.0.5:") {
		t.Errorf("the listener on 10.96.0.7 saw the task's request come from %q, want the task's 10.77.0.5:port", got)
	}
	pc, err := r.v.ListenPacketInVPC(ctx, "udp4", "10.96.0.7:53")
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.Close()
	if _, err := r.v.ListenInVPC(ctx, "tcp4", "10.97.0.7:8080"); err == nil {
		t.Error("listening on an address that is not local to the VPC's namespace succeeded")
	}
	for range 2 { // removing a route that is gone is not an error
		if err := r.v.StopServingAddresses(ctx, netip.MustParsePrefix("10.96.0.0/24")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.v.ListenInVPC(ctx, "tcp4", "10.96.0.8:8080"); err == nil {
		t.Error("listening on an address of a range no longer served succeeded")
	}
	_ = srv.Close()
	if err := RemoveNamespace(a.ns); err != nil {
		t.Fatal(err)
	}
	_ = r.v.DetachTask(a.id)
	r.stop(t)
	if after := hostState(t); after != before {
		t.Errorf("the host's network changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
