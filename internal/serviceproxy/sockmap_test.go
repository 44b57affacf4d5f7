package serviceproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/testwait"
)

// The tests below run the Pool with ForwardKernel; the other tests of the package run with
// whatever ForwardingEnv says (run them with NODELESS_LB_FORWARDING=kernel and =splice).

// kernelPool is a Pool of one endpoint that forwards in the kernel; the test is skipped when the
// kernel or the privileges do not allow it (the reason is in the skip message).
func kernelPool(t *testing.T, endpoint string) (*Pool, *sockmapForwarder) {
	t.Helper()
	f, err := kernelForwarder()
	if err != nil {
		t.Skipf("in-kernel forwarding unavailable here: %v", err)
	}
	pool := newTestPool(time.Hour)
	pool.SetForwarding(ForwardKernel)
	pool.Update([]Endpoint{{Address: netip.MustParseAddrPort(endpoint), Ready: true, Serving: true}})
	return pool, f
}

// waitNoLinks waits until the kernel forwards nothing and both maps are empty (no leaked entry).
func waitNoLinks(t *testing.T, f *sockmapForwarder) {
	t.Helper()
	testwait.For(t, waitTimeout, 10*time.Millisecond, "no kernel link left", func() (bool, string) {
		n, err := f.entries()
		active := f.active.Load()
		return err == nil && n == 0 && active == 0, fmt.Sprintf("%d map entries (%v), %d links", n, err, active)
	})
}

// waitEntries waits until the maps hold n entries (4 per forwarded connection).
func waitEntries(t *testing.T, f *sockmapForwarder, n int) {
	t.Helper()
	testwait.For(t, waitTimeout, 10*time.Millisecond, fmt.Sprintf("%d map entries", n), func() (bool, string) {
		got, err := f.entries()
		return err == nil && got == n, fmt.Sprintf("%d map entries (%v)", got, err)
	})
}

// TestKernelHalfClose: the client's FIN comes after the connection entered the maps; the bytes
// before it reach the endpoint, and the client still reads the whole answer.
func TestKernelHalfClose(t *testing.T) {
	a := startBackend(t, "a")
	pool, f := kernelPool(t, a.l.Addr().String())
	c, name := connect(t, servePool(t, pool))
	if name != "a" {
		t.Fatalf("answered by %q, want a", name)
	}
	if err := c.echo("first"); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, f, 4)
	if _, err := io.WriteString(c.c, "last words\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c.r)
	if err != nil {
		t.Fatalf("reading after half-close: %v", err)
	}
	if diff := cmp.Diff("last words\n", string(got)); diff != "" {
		t.Errorf("answer after half-close (-want +got):\n%s", diff)
	}
	_ = c.c.Close()
	waitNoLinks(t, f)
}

// TestKernelServerClosesFirst: the endpoint says its piece and closes; the client reads it to the
// end, then closes too, and the link leaves the maps.
func TestKernelServerClosesFirst(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	release := make(chan struct{})
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		<-release // the connection is in the maps by then
		_, _ = io.WriteString(c, "bye\n")
		_ = c.Close()
	}()
	pool, f := kernelPool(t, l.Addr().String())
	c, err := net.DialTimeout("tcp", servePool(t, pool), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	waitEntries(t, f, 4)
	close(release)
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("bye\n", string(got)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	_ = c.Close()
	waitNoLinks(t, f)
}

// TestKernelLargeBodies: many connections at once each send 8 MiB while the endpoint sends 8 MiB
// back, then half-close; the endpoint answers with the digest of what it got, after its own FIN
// the client sees the end. Every byte arrives in order both ways.
func TestKernelLargeBodies(t *testing.T) {
	const size, conns = 8 << 20, 16
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go serveDigest(l, size)
	pool, f := kernelPool(t, l.Addr().String())
	addr := servePool(t, pool)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Go(func() { errs <- bigExchange(addr, size, uint64(i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	waitNoLinks(t, f)
}

// serveDigest serves each connection: it sends size bytes of its own (seeded by the first 8 bytes
// it reads) while it reads the client's bytes to their end, then sends the SHA-256 of them and
// closes.
func serveDigest(l net.Listener, size int) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer func() { _ = c.Close() }()
			sent := make(chan error, 1)
			go func() { _, err := c.Write(pattern(size, 7)); sent <- err }()
			h := sha256.New()
			if _, err := io.Copy(h, c); err != nil {
				return
			}
			if <-sent != nil {
				return
			}
			_, _ = c.Write(h.Sum(nil))
		}()
	}
}

// bigExchange sends size bytes through addr while reading size bytes back and then the digest of
// what it sent.
func bigExchange(addr string, size int, seed uint64) error {
	c, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * waitTimeout))
	body := pattern(size, seed)
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(body)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		sent <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("connection %d: reading: %w", seed, err)
	}
	if err := <-sent; err != nil {
		return fmt.Errorf("connection %d: sending: %w", seed, err)
	}
	want := sha256.Sum256(body)
	switch {
	case len(got) != size+len(want):
		return fmt.Errorf("connection %d: got %d bytes back, want %d", seed, len(got), size+len(want))
	case !bytes.Equal(got[:size], pattern(size, 7)):
		return fmt.Errorf("connection %d: the endpoint's bytes arrived changed", seed)
	case !bytes.Equal(got[size:], want[:]):
		return fmt.Errorf("connection %d: the endpoint got other bytes than were sent", seed)
	}
	return nil
}

// pattern is size pseudo-random bytes from seed.
func pattern(size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, size)
	for i := 0; i+8 <= size; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// TestKernelManyConnections: 200 connections open at once, each echoing, all in the maps, and
// none left after they closed.
func TestKernelManyConnections(t *testing.T) {
	const n = 200
	a := startBackend(t, "a")
	pool, f := kernelPool(t, a.l.Addr().String())
	addr := servePool(t, pool)
	conns := make([]*conn, n)
	for i := range conns {
		c, name := connect(t, addr)
		if name != "a" {
			t.Fatalf("connection %d answered by %q", i, name)
		}
		conns[i] = c
	}
	waitEntries(t, f, 4*n)
	for i, c := range conns {
		if err := c.echo(fmt.Sprintf("hello %d", i)); err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
	}
	if got := pool.Stats().Connections[a.addr()]; got != n {
		t.Errorf("pool counts %d connections, want %d", got, n)
	}
	for _, c := range conns {
		_ = c.c.Close()
	}
	waitNoLinks(t, f)
	waitPoolEmpty(t, pool)
}

// TestKernelDrainCloses: the deregistration delay's end closes a kernel-forwarded connection
// (both sockets), as it closes a userspace one.
func TestKernelDrainCloses(t *testing.T) {
	a := startBackend(t, "a")
	pool, f := kernelPool(t, a.l.Addr().String())
	pool.SetDeregistrationDelay(0)
	c, _ := connect(t, servePool(t, pool))
	if err := c.echo("x"); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, f, 4)
	pool.Update(nil)
	if _, err := io.ReadAll(c.r); err != nil {
		t.Logf("read after the drain: %v", err)
	}
	waitNoLinks(t, f)
	waitPoolEmpty(t, pool)
}

func waitPoolEmpty(t *testing.T, pool *Pool) {
	t.Helper()
	testwait.For(t, waitTimeout, 10*time.Millisecond, "pool without connections", func() (bool, string) {
		s := pool.Stats()
		return len(s.Connections) == 0, fmt.Sprintf("%v", s.Connections)
	})
}

func TestServiceForwarding(t *testing.T) {
	def, _ := defaultForwarding()
	tests := []struct {
		name        string
		annotations map[string]string
		want        Forwarding
		wantErr     bool
	}{
		{name: "none: the process default", want: def},
		{name: "kernel", annotations: map[string]string{ForwardingAnnotation: "kernel"}, want: ForwardKernel},
		{name: "splice", annotations: map[string]string{ForwardingAnnotation: " splice "}, want: ForwardSplice},
		{name: "invalid: the default and an error", annotations: map[string]string{ForwardingAnnotation: "ebpf"}, want: def, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := serviceForwarding(tt.annotations)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("serviceForwarding(%v) = %v, %v; want %v, error %v", tt.annotations, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestKernelUnwind: when the client's socket cannot enter the verdict map after the endpoint's did
// (the client's FIN came in between), the endpoint's bytes already redirected go out first, and
// userspace carries on with the rest in order.
func TestKernelUnwind(t *testing.T) {
	f, err := kernelForwarder()
	if err != nil {
		t.Skipf("in-kernel forwarding unavailable here: %v", err)
	}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sl.Close() })
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pl.Close() })
	client, err := net.Dial("tcp", pl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	a, err := pl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.Dial("tcp", sl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	part1, part2 := pattern(1<<20, 1), pattern(1<<20, 2)
	l := &kernelLink{f: f, fd: [2]int{-1, -1}}
	for i, c := range []net.Conn{a, b} {
		if l.fd[i], err = dupConn(c); err != nil {
			t.Fatal(err)
		}
		if l.cookie[i], err = unix.GetsockoptUint64(l.fd[i], unix.SOL_SOCKET, unix.SO_COOKIE); err != nil {
			t.Fatal(err)
		}
		if l.base[i], err = written(l.fd[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range l.fd {
		if err := f.targets.Update(l.cookie[i], uint64(l.fd[1-i]), ebpf.UpdateNoExist); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.verdict.Update(l.cookie[1], uint64(l.fd[1]), ebpf.UpdateNoExist); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() { all, _ := io.ReadAll(client); got <- all }()
	if _, err := srv.Write(part1); err != nil { // redirected by the kernel to the client
		t.Fatal(err)
	}
	l.unwind(a, b)
	l.leave()
	go (&link{client: a, up: b}).pipe()
	if _, err := srv.Write(part2); err != nil { // copied in userspace
		t.Fatal(err)
	}
	_ = srv.Close()
	if !bytes.Equal(<-got, append(part1, part2...)) {
		t.Errorf("the client did not get the endpoint's bytes in order")
	}
	waitNoLinks(t, f)
}

// TestKernelProxyProtocol: with the kernel forwarding, the PROXY v2 header still comes first, before
// bytes the client sent before its connection entered the maps, and only once.
func TestKernelProxyProtocol(t *testing.T) {
	backend := startAddrBackend(t)
	pool, f := kernelPool(t, backend.Addr().String())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(); pool.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go pool.HandleProxyProtocol(context.Background(), c)
		}
	}()
	c, err := net.DialTimeout("tcp", l.Addr().String(), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	r := bufio.NewReader(c)
	want := fmt.Sprintf("header %s %s\n", c.LocalAddr(), l.Addr())
	for i := range 2 {
		if _, err := fmt.Fprintln(c, "hello"); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answer %d (-want +got):\n%s", i, diff)
		}
		if i == 0 {
			waitEntries(t, f, 4)
		}
	}
	_ = c.Close()
	waitNoLinks(t, f)
}
