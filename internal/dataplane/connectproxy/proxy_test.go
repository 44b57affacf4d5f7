package connectproxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/connectproxy"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// fakeVPC stands for the VPC's namespace: a listener asked for on VIP:port is a listener on
// 127.0.0.1 (the test connects to it through Addr), and task addresses are dialed at the test's
// backends.
type fakeVPC struct {
	mu        sync.Mutex
	served    []netip.Prefix
	listeners map[string]net.Listener // by the address asked for
	backends  map[string]string       // task address → 127.0.0.1 address
}

func (v *fakeVPC) ServeAddresses(_ context.Context, p netip.Prefix) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.served = append(v.served, p)
	return nil
}

func (v *fakeVPC) StopServingAddresses(_ context.Context, p netip.Prefix) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.served = slices.DeleteFunc(v.served, func(q netip.Prefix) bool { return q == p })
	return nil
}

func (v *fakeVPC) ListenInVPC(ctx context.Context, network, address string) (net.Listener, error) {
	l, err := (&net.ListenConfig{}).Listen(ctx, network, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.listeners[address] = l
	return l, nil
}

func (v *fakeVPC) dial(ctx context.Context, network, address string) (net.Conn, error) {
	v.mu.Lock()
	to, ok := v.backends[address]
	v.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no task at %s", address)
	}
	return (&net.Dialer{}).DialContext(ctx, network, to)
}

// address is where the test reaches the listener the proxy opened on vip.
func (v *fakeVPC) address(vip string) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, ok := v.listeners[vip]
	return l.Addr().String(), ok
}

// backend is a task's server: it answers every connection with its name.
func backend(t *testing.T, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, name)
			_ = c.Close()
		}
	}()
	return l.Addr().String()
}

// ask connects to addr and returns what the server behind it said ("" when the proxy closed the
// connection without a server).
func ask(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connecting to the alias: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

const owner = "arn:aws:ecs:us-east-1:000000000000:service/default/web"

// TestProxyFollowsRegistrations: a client alias web.shop:80 of a Service Connect service whose
// tasks serve on 8080: the proxy listens on the alias's VIP at port 80 in the VPC and balances over
// the registered tasks at 8080; a task deregistered in a committed transaction gets no new
// connection from the next one on, with no Sync in between (the order the scheduler relies on
// before SIGTERM); an alias given up closes its listener; a stopped proxy leaves no listener.
func TestProxyFollowsRegistrations(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := cloudmap.New(st, model.ARNs{Region: "us-east-1", Account: "000000000000"}, nil)
	if _, err := reg.CreateHTTPNamespace(&cloudmap.CreateHTTPNamespaceInput{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	var svc *cloudmap.Service
	rng := netip.MustParsePrefix("10.0.1.0/24")
	update := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := st.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx *store.Tx) error {
		if _, err := cloudmap.AdoptAliasRange(tx, rng); err != nil {
			return err
		}
		ns, err := cloudmap.NamespaceByRef(tx, "shop")
		if err != nil {
			return err
		}
		if svc, err = reg.ConnectService(tx, ns, "http", owner); err != nil {
			return err
		}
		return cloudmap.SetAliases(tx, owner, []cloudmap.ClientAlias{{Name: "web.shop", Port: 80, ServiceID: svc.ID}})
	})
	register := func(taskID, ip string, registered bool) {
		update(func(tx *store.Tx) error {
			return cloudmap.SyncTask(tx, cloudmap.Task{
				TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/" + taskID, Registered: registered, IPv4: ip,
				Cluster: "default", Service: "web", Region: "us-east-1",
				Registries: []model.ServiceRegistry{{RegistryArn: &svc.Arn, Port: ptr[int32](8080)}},
			})
		})
	}
	vpc := &fakeVPC{listeners: map[string]net.Listener{}, backends: map[string]string{
		"10.244.0.7:8080": backend(t, "task-a"), "10.244.0.8:8080": backend(t, "task-b"),
	}}
	register("aaaa", "10.244.0.7", true)
	register("bbbb", "10.244.0.8", true)

	p, err := connectproxy.New(connectproxy.Options{Store: st, VPC: vpc, Dial: vpc.dial, Range: rng,
		Previous: netip.MustParsePrefix("192.168.9.0/24"), Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-p.Ready()
	if got := fmt.Sprint(vpc.served); got != "[10.0.1.0/24]" {
		t.Errorf("ranges served in the VPC: %s, want the alias range only", got)
	}
	if got := fmt.Sprint(p.Listening()); got != "[10.0.1.1:80]" {
		t.Fatalf("listening on %s, want the alias's VIP at its port, [10.0.1.1:80]", got)
	}
	addr, ok := vpc.address("10.0.1.1:80")
	if !ok {
		t.Fatal("no listener in the VPC on 10.0.1.1:80")
	}
	seen := map[string]int{}
	for range 6 {
		seen[ask(t, addr)]++
	}
	if seen["task-a"] != 3 || seen["task-b"] != 3 {
		t.Errorf("6 connections through the alias reached %v, want 3 for each task", seen)
	}

	register("aaaa", "10.244.0.7", false) // deregistered: the task is stopping
	for range 4 {
		if got := ask(t, addr); got != "task-b" {
			t.Fatalf("a connection after task-a was deregistered reached %q, want task-b", got)
		}
	}
	register("bbbb", "10.244.0.8", false)
	if got := ask(t, addr); got != "" {
		t.Errorf("a connection with no task registered reached %q, want it closed", got)
	}
	register("aaaa", "10.244.0.7", true)
	if got := ask(t, addr); got != "task-a" {
		t.Errorf("a connection after task-a registered again reached %q", got)
	}

	update(func(tx *store.Tx) error { return cloudmap.SetAliases(tx, owner, nil) }) // DeleteService
	p.Sync()
	if got := p.Listening(); len(got) != 0 {
		t.Errorf("listening on %v after the alias was given up, want nothing", got)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Error("the given-up alias's listener still accepts connections")
	}
	update(func(tx *store.Tx) error {
		return cloudmap.SetAliases(tx, owner, []cloudmap.ClientAlias{{Name: "web.shop", Port: 8443, ServiceID: svc.ID}})
	})
	p.Sync()
	if got := fmt.Sprint(p.Listening()); !strings.HasSuffix(got, ":8443]") {
		t.Errorf("listening on %s after the alias came back on 8443", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := p.Listening(); len(got) != 0 {
		t.Errorf("listening on %v after Run ended, want nothing", got)
	}
}

func ptr[T any](v T) *T { return &v }
