package serviceproxy

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// startUDPBackend answers every datagram with its name, a colon and the datagram.
func startUDPBackend(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(name+":"+string(buf[:n])), from)
		}
	}()
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

func serveUDPPool(t *testing.T, pool *Pool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.ServeUDP(ctx, pc); close(done) }()
	t.Cleanup(func() { cancel(); _ = pc.Close(); <-done })
	return pc.LocalAddr().String()
}

// ask sends msg from c and returns the answer's backend name ("" when none came).
func ask(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	name, got, _ := strings.Cut(string(buf[:n]), ":")
	if got != msg {
		t.Errorf("answer %q to %q", buf[:n], msg)
	}
	return name
}

func dialUDP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestPoolUDP: each client address is a session that sticks to one endpoint; clients are
// balanced; a session of an endpoint that left ends after the delay and the client's next
// datagram goes to an endpoint still there.
func TestPoolUDP(t *testing.T) {
	a, b := startUDPBackend(t, "a"), startUDPBackend(t, "b")
	pool := newTestPool(10 * time.Millisecond)
	pool.Update([]Endpoint{{Address: a, Ready: true}, {Address: b, Ready: true}})
	addr := serveUDPPool(t, pool)
	got := map[string]int{}
	var clients []net.Conn
	for range 4 {
		c := dialUDP(t, addr)
		clients = append(clients, c)
		first := ask(t, c, "hello")
		if again := ask(t, c, "again"); again != first {
			t.Errorf("one client answered by %q then %q, want one endpoint per session", first, again)
		}
		got[first]++
	}
	if diff := cmp.Diff(map[string]int{"a": 2, "b": 2}, got); diff != "" {
		t.Errorf("sessions by endpoint (-want +got):\n%s", diff)
	}
	pool.Update([]Endpoint{{Address: b, Ready: true}})
	waitStats(t, pool, true, a)
	for _, c := range clients {
		if name := ask(t, c, "after"); name != "b" {
			t.Errorf("after a left and its sessions drained, a client was answered by %q, want b", name)
		}
	}
}
