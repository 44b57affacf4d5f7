package serviceproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nodeless-dev/nodeless/internal/testwait"
)

// waitTimeout bounds every wait; nothing here is timed.
const waitTimeout = 10 * time.Second

// backend is an endpoint on 127.0.0.1: every connection first gets the backend's name and a
// newline, then an echo of what it sends.
type backend struct {
	name string
	l    net.Listener
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	b := &backend{name: name, l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				_, _ = io.WriteString(c, name+"\n")
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return b
}

func (b *backend) addr() netip.AddrPort { return netip.MustParseAddrPort(b.l.Addr().String()) }

// closedAddr is an address on 127.0.0.1 where nothing listens.
func closedAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort(l.Addr().String())
	_ = l.Close()
	return a
}

// servePool runs pool behind a listener on 127.0.0.1 and returns its address.
func servePool(t *testing.T, pool *Pool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); _ = l.Close(); pool.SetDeregistrationDelay(0); pool.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go pool.Handle(ctx, c)
		}
	}()
	return l.Addr().String()
}

func newTestPool(delay time.Duration) *Pool {
	var d net.Dialer
	return NewPool("test/svc:http", d.DialContext, delay, logr.Discard())
}

// conn is a client connection through the pool.
type conn struct {
	c net.Conn
	r *bufio.Reader
}

// connect dials the pool and reads the backend's name ("" when the pool closed the connection).
func connect(t *testing.T, addr string) (*conn, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	r := bufio.NewReader(c)
	name, err := r.ReadString('\n')
	if err != nil {
		return &conn{c: c, r: r}, ""
	}
	return &conn{c: c, r: r}, strings.TrimSpace(name)
}

// echo sends s and reads it back; an error when the connection was closed.
func (c *conn) echo(s string) error {
	if _, err := io.WriteString(c.c, s+"\n"); err != nil {
		return err
	}
	got, err := c.r.ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(got) != s {
		return errors.New("echo mismatch: " + got)
	}
	return nil
}

func TestPoolPicks(t *testing.T) {
	type ep struct {
		name                        string
		ready, serving, terminating bool
	}
	tests := []struct {
		name  string
		eps   []ep
		conns int
		// want counts the answers by backend ("" is a closed connection).
		want map[string]int
	}{
		{
			name:  "round robin over ready endpoints",
			eps:   []ep{{"a", true, true, false}, {"b", true, true, false}, {"c", true, true, false}},
			conns: 6,
			want:  map[string]int{"a": 2, "b": 2, "c": 2},
		},
		{
			name:  "not ready and terminating endpoints get nothing while one is ready",
			eps:   []ep{{"a", true, true, false}, {"b", false, false, false}, {"c", false, true, true}},
			conns: 4,
			want:  map[string]int{"a": 4},
		},
		{
			name:  "serving terminating endpoints when none is ready",
			eps:   []ep{{"a", false, false, false}, {"b", false, true, true}, {"c", false, true, true}},
			conns: 4,
			want:  map[string]int{"b": 2, "c": 2},
		},
		{
			name:  "no eligible endpoint closes the connection",
			eps:   []ep{{"a", false, false, false}, {"b", false, false, true}},
			conns: 2,
			want:  map[string]int{"": 2},
		},
		{
			name:  "no endpoint at all",
			conns: 1,
			want:  map[string]int{"": 1},
		},
		{
			name:  "a dial that fails moves to the next endpoint",
			eps:   []ep{{"dead", true, true, false}, {"a", true, true, false}},
			conns: 4,
			want:  map[string]int{"a": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := newTestPool(time.Hour)
			var eps []Endpoint
			for _, e := range tt.eps {
				addr := closedAddr(t)
				if e.name != "dead" {
					addr = startBackend(t, e.name).addr()
				}
				eps = append(eps, Endpoint{Address: addr, Ready: e.ready, Serving: e.serving, Terminating: e.terminating})
			}
			pool.Update(eps)
			addr := servePool(t, pool)
			got := map[string]int{}
			for range tt.conns {
				_, name := connect(t, addr)
				got[name]++
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answers by backend (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPoolDrains(t *testing.T) {
	tests := []struct {
		name string
		// delay is the deregistration delay.
		delay time.Duration
		// leave is how endpoint a stops taking connections: "gone", "notReady" or "terminating".
		leave string
		// back: a takes connections again right after it left.
		back bool
		// wantCut: a's open connection is closed by the pool.
		wantCut bool
	}{
		{name: "gone, within the delay", delay: time.Hour, leave: "gone"},
		{name: "terminating, within the delay", delay: time.Hour, leave: "terminating"},
		{name: "not ready, within the delay", delay: time.Hour, leave: "notReady"},
		{name: "gone, delay over", delay: 0, leave: "gone", wantCut: true},
		{name: "terminating, delay over", delay: 10 * time.Millisecond, leave: "terminating", wantCut: true},
		{name: "back within the delay", delay: time.Hour, leave: "notReady", back: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := startBackend(t, "a"), startBackend(t, "b")
			pool := newTestPool(tt.delay)
			aEp := Endpoint{Address: a.addr(), Ready: true, Serving: true, UID: "uid-a"}
			bEp := Endpoint{Address: b.addr(), Ready: true, Serving: true, UID: "uid-b"}
			pool.Update([]Endpoint{aEp})
			addr := servePool(t, pool)
			c, name := connect(t, addr)
			if name != "a" {
				t.Fatalf("first connection answered by %q, want a", name)
			}
			left := []Endpoint{bEp}
			switch tt.leave {
			case "notReady":
				left = append(left, Endpoint{Address: a.addr(), UID: "uid-a"})
			case "terminating":
				left = append(left, Endpoint{Address: a.addr(), Serving: true, Terminating: true, UID: "uid-a"})
			}
			pool.Update(left)
			if pool.Takes("uid-a") {
				t.Errorf("Takes(uid-a) = true after a left")
			}
			if tt.back {
				pool.Update([]Endpoint{aEp, bEp})
			}
			if _, name := connect(t, addr); !tt.back && name != "b" {
				t.Errorf("new connection answered by %q, want b", name)
			}
			if tt.wantCut {
				waitClosed(t, c)
				waitStats(t, pool, tt.leave == "gone", a.addr())
				return
			}
			if err := c.echo("still there"); err != nil {
				t.Errorf("open connection to a after it left: %v", err)
			}
		})
	}
}

// waitClosed waits until the pool closed c.
func waitClosed(t *testing.T, c *conn) {
	t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatalf("connection still open after the deregistration delay")
	}
}

// waitStats waits until the pool has no connection to addr and, when gone, forgot it.
func waitStats(t *testing.T, pool *Pool, gone bool, addr netip.AddrPort) {
	t.Helper()
	testwait.For(t, waitTimeout, 10*time.Millisecond, "endpoint "+addr.String()+" drained", func() (bool, string) {
		pool.mu.Lock()
		defer pool.mu.Unlock()
		m, known := pool.members[addr]
		n := 0
		if known {
			n = len(m.conns)
		}
		return n == 0 && (!gone || !known), fmt.Sprintf("%d connections, known %v; want none and known %v", n, known, !gone)
	})
}

func TestPoolHalfClose(t *testing.T) {
	a := startBackend(t, "a")
	pool := newTestPool(time.Hour)
	pool.Update([]Endpoint{{Address: a.addr(), Ready: true, Serving: true}})
	addr := servePool(t, pool)
	c, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(c, "last words\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading after half-close: %v", err)
	}
	if diff := cmp.Diff("a\nlast words\n", string(got)); diff != "" {
		t.Errorf("answer after half-close (-want +got):\n%s", diff)
	}
}

func TestPoolTakes(t *testing.T) {
	pool := newTestPool(time.Hour)
	pool.Update([]Endpoint{
		{Address: netip.MustParseAddrPort("10.244.0.2:80"), Ready: true, UID: "ready"},
		{Address: netip.MustParseAddrPort("10.244.0.3:80"), UID: "not-ready"},
		{Address: netip.MustParseAddrPort("10.244.0.4:80"), Serving: true, Terminating: true, UID: "terminating"},
	})
	var got []string
	for _, uid := range []types.UID{"ready", "not-ready", "terminating", "unknown"} {
		if pool.Takes(uid) {
			got = append(got, string(uid))
		}
	}
	sort.Strings(got)
	if diff := cmp.Diff([]string{"ready"}, got); diff != "" {
		t.Errorf("Takes (-want +got):\n%s", diff)
	}
}

// TestPoolWithdraw: a withdrawn Pod's endpoint takes no new connection at once, and serves again
// only as the last one left (kube-proxy's terminating fallback).
func TestPoolWithdraw(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	pool := newTestPool(time.Hour)
	pool.Update([]Endpoint{
		{Address: a.addr(), Ready: true, Serving: true, UID: "uid-a"},
		{Address: b.addr(), Ready: true, Serving: true, UID: "uid-b"},
	})
	addr := servePool(t, pool)
	pool.Withdraw("uid-a")
	if pool.Takes("uid-a") {
		t.Errorf("Takes(uid-a) = true after Withdraw")
	}
	for range 4 {
		if _, name := connect(t, addr); name != "b" {
			t.Errorf("after a was withdrawn a connection was answered by %q, want b", name)
		}
	}
	pool.Update([]Endpoint{{Address: a.addr(), Serving: true, Terminating: true, UID: "uid-a"}})
	if _, name := connect(t, addr); name != "a" {
		t.Errorf("with only the withdrawn a left (serving, terminating), answered by %q, want a", name)
	}
}
