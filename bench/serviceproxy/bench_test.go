package serviceproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	proxyproto "github.com/pires/go-proxyproto"

	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// BenchmarkPool loads GET / on an in-process HTTP server straight ("direct"), through a Pool
// ("lb") and through a Pool sending PROXY protocol v2 headers ("lbpp", Pool.HandleProxyProtocol),
// each with new connections and kept-alive ones, and reports lb/direct throughput, CPU per
// request and the latency the Pool adds. The server reads an optional PROXY header on every
// connection (as a server behind an annotated Service does), so the three paths reach the same
// server code.
func BenchmarkPool(b *testing.B) {
	backend := startServer(b)
	lb := startPool(b, backend, false)
	lbpp := startPool(b, backend, true)
	paths := []path{}
	for _, ka := range []bool{false, true} {
		mode := "new"
		if ka {
			mode = "keepalive"
		}
		paths = append(paths, newPath("direct/"+mode, backend, ka), newPath("lb/"+mode, lb, ka), newPath("lbpp/"+mode, lbpp, ka))
	}
	for _, p := range paths {
		if _, err := p.get(context.Background()); err != nil {
			b.Fatalf("%s: %v", p.name, err)
		}
	}
	logLoad(b, "before the load")
	results := map[string]*stats{}
	d := time.Duration(envInt("NODELESS_BENCH_LB_SECONDS", 2)) * time.Second
	for range envInt("NODELESS_BENCH_LB_ROUNDS", 3) {
		for _, p := range paths {
			s := load(p, envInt("NODELESS_BENCH_LB_WORKERS", 8), d)
			if results[p.name] == nil {
				results[p.name] = &stats{}
			}
			results[p.name].add(s)
		}
	}
	logLoad(b, "after the load")
	for _, p := range paths {
		s := results[p.name]
		b.Logf("%-16s %8.0f req/s  p50 %9s  p99 %9s  CPU/request %7s  errors %d  (%d requests)", p.name, s.rps(), pct(s.lat, 50), pct(s.lat, 99), s.cpuPerRequest(), s.errs, len(s.lat))
	}
	for _, mode := range []string{"new", "keepalive"} {
		direct, lb, lbpp := results["direct/"+mode], results["lb/"+mode], results["lbpp/"+mode]
		b.ReportMetric(lbpp.rps()/direct.rps(), "lbpp/direct-rps-"+mode)
		b.ReportMetric(float64(lbpp.cpuPerRequest()-lb.cpuPerRequest())/float64(time.Microsecond), "pp-added-cpu-us-per-req-"+mode)
		b.ReportMetric(lb.rps()/direct.rps(), "lb/direct-rps-"+mode)
		b.ReportMetric(float64(pct(lb.lat, 50)-pct(direct.lat, 50))/float64(time.Millisecond), "added-p50-ms-"+mode)
		b.ReportMetric(float64(pct(lb.lat, 99)-pct(direct.lat, 99))/float64(time.Millisecond), "added-p99-ms-"+mode)
		b.ReportMetric(float64(lb.cpuPerRequest())/float64(direct.cpuPerRequest()), "lb/direct-cpu-per-req-"+mode)
		b.ReportMetric(float64(lb.cpuPerRequest()-direct.cpuPerRequest())/float64(time.Microsecond), "added-cpu-us-per-req-"+mode)
		if direct.errs+lb.errs+lbpp.errs > 0 {
			b.Errorf("%s: errors: direct %d, lb %d, lbpp %d", mode, direct.errs, lb.errs, lbpp.errs)
		}
	}
}

// startServer is an HTTP server on 127.0.0.1 answering GET / as the test image does.
func startServer(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	host, _ := os.Hostname()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintln(w, "hello from", host)
	})}
	pl := &proxyproto.Listener{Listener: l, ConnPolicy: func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) { return proxyproto.USE, nil }}
	go func() { _ = srv.Serve(pl) }()
	b.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// startPool is a Pool of the one endpoint backend behind a listener on 127.0.0.1, as the proxy
// serves a LoadBalancer Service (with PROXY protocol headers when header).
func startPool(b *testing.B, backend string, header bool) string {
	b.Helper()
	var d net.Dialer
	pool := serviceproxy.NewPool("bench/lb:http", d.DialContext, time.Second, logr.Discard())
	pool.Update([]serviceproxy.Endpoint{{Address: netip.MustParseAddrPort(backend), Ready: true, Serving: true}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() { cancel(); _ = l.Close(); pool.SetDeregistrationDelay(0); pool.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if header {
				go pool.HandleProxyProtocol(ctx, c)
			} else {
				go pool.Handle(ctx, c)
			}
		}
	}()
	return l.Addr().String()
}

type path struct {
	name   string
	url    string
	client *http.Client
}

func newPath(name, addr string, keepAlive bool) path {
	return path{name: name, url: "http://" + addr + "/", client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 64,
	}}}
}

func (p path) get(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return 0, err
	}
	begin := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return time.Since(begin), err
}

type stats struct {
	lat     []time.Duration
	errs    int
	elapsed time.Duration
	// cpu is the process's CPU time (user and system) over the load: client, server and, on the
	// lb paths, the Pool, all in this process.
	cpu time.Duration
}

func (s *stats) add(o *stats) {
	s.lat = append(s.lat, o.lat...)
	s.errs += o.errs
	s.elapsed += o.elapsed
	s.cpu += o.cpu
}

// cpuPerRequest is the process's CPU time per request: on a loaded machine a steadier measure of
// the Pool's cost than throughput, which follows the CPU share the machine leaves the process.
func (s *stats) cpuPerRequest() time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.cpu / time.Duration(len(s.lat))
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *stats) rps() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

// load runs workers against p for d.
func load(p path, workers int, d time.Duration) *stats {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	all := &stats{}
	var wg sync.WaitGroup
	begin, cpu := time.Now(), processCPU()
	for range workers {
		wg.Go(func() {
			var lat []time.Duration
			errs := 0
			for ctx.Err() == nil {
				l, err := p.get(ctx)
				switch {
				case err == nil:
					lat = append(lat, l)
				case ctx.Err() == nil:
					errs++
				}
			}
			mu.Lock()
			all.lat, all.errs = append(all.lat, lat...), all.errs+errs
			mu.Unlock()
		})
	}
	wg.Wait()
	all.elapsed, all.cpu = time.Since(begin), processCPU()-cpu
	p.client.CloseIdleConnections()
	return all
}

// pct is the p-th percentile of ds (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func logLoad(b *testing.B, when string) {
	b.Helper()
	data, err := os.ReadFile("/proc/loadavg")
	if err == nil {
		b.Logf("load average %s: %s", when, string(data[:len(data)-1]))
	}
}
