package serviceproxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// BenchmarkPoolRoundTrips is BenchmarkPool without HTTP: kept-alive connections send a 4-byte line
// and read a 43-byte answer from a server that does nothing else, through a splicing Pool and a
// kernel-forwarding one (ForwardKernel: root), in alternating rounds. It reports round trips per
// second of each, their ratio, and the machine's context switches per round trip (/proc/stat
// ctxt, every process's: a kernel worker's wake-up counts there, a goroutine's does not).
func BenchmarkPoolRoundTrips(b *testing.B) {
	backend := startLineServer(b)
	paths := map[string]string{
		"splice": startPool(b, backend, false, serviceproxy.ForwardSplice),
		"kernel": startPool(b, backend, false, serviceproxy.ForwardKernel),
	}
	logLoad(b, "before the load")
	trips, ctxt, elapsed := map[string]int{}, map[string]uint64{}, map[string]time.Duration{}
	d := time.Duration(envInt("NODELESS_BENCH_LB_SECONDS", 2)) * time.Second
	for range envInt("NODELESS_BENCH_LB_ROUNDS", 3) {
		for _, name := range []string{"splice", "kernel"} {
			c0, t0 := contextSwitches(), time.Now()
			n, err := roundTrips(paths[name], envInt("NODELESS_BENCH_LB_WORKERS", 8), d)
			if err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			trips[name] += n
			ctxt[name] += contextSwitches() - c0
			elapsed[name] += time.Since(t0)
		}
	}
	logLoad(b, "after the load")
	rate := func(name string) float64 { return float64(trips[name]) / elapsed[name].Seconds() }
	for _, name := range []string{"splice", "kernel"} {
		b.Logf("%-7s %8.0f round trips/s  %5.2f context switches per round trip (machine)", name, rate(name), float64(ctxt[name])/float64(trips[name]))
		b.ReportMetric(float64(ctxt[name])/float64(trips[name]), "ctxt-per-trip-"+name)
	}
	b.ReportMetric(rate("kernel")/rate("splice"), "kernel/splice-trips")
}

// startLineServer answers every line it reads with a 43-byte HTTP-like answer.
func startLineServer(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if _, err := io.WriteString(c, answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

const answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

// roundTrips runs workers kept-alive connections to addr for d and counts the round trips.
func roundTrips(addr string, workers int, d time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	total := 0
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			n, err := trips(ctx, addr)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return total, firstErr
}

func trips(ctx context.Context, addr string) (int, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }()
	buf := make([]byte, len(answer))
	n := 0
	for ctx.Err() == nil {
		if _, err := io.WriteString(c, "GET\n"); err != nil {
			return n, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return n, err
		}
		if !bytes.Equal(buf, []byte(answer)) {
			return n, io.ErrUnexpectedEOF
		}
		n++
	}
	return n, nil
}

// contextSwitches is the machine's context switches since boot (/proc/stat ctxt), 0 if unknown.
func contextSwitches() uint64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte("ctxt ")); ok {
			n, _ := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			return n
		}
	}
	return 0
}
