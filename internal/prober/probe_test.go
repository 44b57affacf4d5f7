package prober

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/probe"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// netHost is a taskhost.Host whose Dial is a net.Dialer (on 127.0.0.1) and whose Exec is exec;
// it records the addresses dialed.
type netHost struct {
	exec func(ctx context.Context, t taskhost.Task, container string, cmd []string, s taskhost.Streams) error

	mu     sync.Mutex
	dialed []string
}

func (h *netHost) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	h.mu.Lock()
	h.dialed = append(h.dialed, network+" "+address)
	h.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

func (h *netHost) Exec(ctx context.Context, t taskhost.Task, container string, cmd []string, s taskhost.Streams) error {
	return h.exec(ctx, t, container, cmd, s)
}

func (h *netHost) Logs(context.Context, taskhost.Task, string, taskhost.LogOptions) (io.ReadCloser, error) {
	return nil, &taskhost.UnsupportedError{Op: "logs", Remedy: "none in tests"}
}

func (h *netHost) Attach(context.Context, taskhost.Task, string, taskhost.Streams) error {
	return &taskhost.UnsupportedError{Op: "attach", Remedy: "none in tests"}
}

func (h *netHost) Signal(context.Context, taskhost.Task, string, syscall.Signal) error {
	return &taskhost.UnsupportedError{Op: "signal", Remedy: "none in tests"}
}

func (h *netHost) VolumeDir(taskhost.Task, string) (string, error) {
	return "", &taskhost.UnsupportedError{Op: "volume directories", Remedy: "none in tests"}
}

func (h *netHost) dials() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.dialed...)
}

// hostPort splits a test server's URL.
func hostPort(t *testing.T, rawURL string) (string, int32) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), int32(port)
}

// closedPort is a port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return int32(port)
}

// kubeProbeUserAgent is kube-probe/<major.minor> of the k8s.io/kubernetes release go.mod pins:
// the release nodeless embeds.
func kubeProbeUserAgent(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/kubernetes v(\d+)\.(\d+)\.`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require k8s.io/kubernetes")
	}
	return fmt.Sprintf("kube-probe/%s.%s", m[1], m[2])
}

// probeResult is a probe's outcome, for comparison.
type probeResult struct {
	Res probe.Result
	// Out is the output; with a trailing "…", only its beginning is compared.
	Out string
	Err string
}

func got(res probe.Result, out string, err error) probeResult {
	r := probeResult{Res: res, Out: out}
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

func compareResult(t *testing.T, want, have probeResult) {
	t.Helper()
	if prefix, ok := strings.CutSuffix(want.Out, "…"); ok && strings.HasPrefix(have.Out, prefix) {
		have.Out = want.Out
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("probe (-want +got):\n%s", diff)
	}
}

func TestHTTPGet(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	var other string // a URL of the same server under another host name
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "fine") })
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
		fmt.Fprint(w, "body")
	})
	mux.HandleFunc("/to/{path}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/"+r.PathValue("path"), http.StatusFound)
	})
	mux.HandleFunc("/to-status/{code}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status/"+r.PathValue("code"), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other+"/ok", http.StatusFound) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s ua=%s accept=%s x=%s", r.Host, r.UserAgent(), r.Header.Get("Accept"), strings.Join(r.Header.Values("X-Custom"), ","))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, strings.Repeat("x", 1<<20)) })
	mux.HandleFunc("/slow", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tlsSrv := httptest.NewTLSServer(mux) // a self-signed certificate
	t.Cleanup(tlsSrv.Close)
	ip, port := hostPort(t, srv.URL)
	_, tlsPort := hostPort(t, tlsSrv.URL)
	other = "http://localhost:" + strconv.Itoa(int(port))
	ua := kubeProbeUserAgent(t)

	task := taskhost.Task{IP: ip}
	tests := []struct {
		name string
		task taskhost.Task
		get  translate.HTTPGet
		want probeResult
	}{
		{name: "200", get: translate.HTTPGet{Path: "/ok"}, want: probeResult{Res: probe.Success, Out: "fine"}},
		{name: "201..399 succeed", get: translate.HTTPGet{Path: "/status/204"}, want: probeResult{Res: probe.Success}},
		{name: "a 3xx not followed is a success with a warning", get: translate.HTTPGet{Path: "/status/304"},
			want: probeResult{Res: probe.Warning, Out: "Probe terminated redirects, Response body: "}},
		{name: "404 fails", get: translate.HTTPGet{Path: "/status/404"}, want: probeResult{Res: probe.Failure, Out: "HTTP probe failed with statuscode: 404"}},
		{name: "500 fails", get: translate.HTTPGet{Path: "/status/500"}, want: probeResult{Res: probe.Failure, Out: "HTTP probe failed with statuscode: 500"}},
		{name: "399 succeeds", get: translate.HTTPGet{Path: "/status/399"}, want: probeResult{Res: probe.Warning, Out: "Probe terminated redirects, Response body: body"}},
		{name: "a redirect to the same host is followed", get: translate.HTTPGet{Path: "/to/ok"}, want: probeResult{Res: probe.Success, Out: "fine"}},
		{name: "a redirect to the same host is followed to its failure", get: translate.HTTPGet{Path: "/to-status/503"},
			want: probeResult{Res: probe.Failure, Out: "HTTP probe failed with statuscode: 503"}},
		{name: "a redirect to another host is not followed: a success with a warning", get: translate.HTTPGet{Path: "/elsewhere"},
			want: probeResult{Res: probe.Warning, Out: "Probe terminated redirects, Response body: …"}},
		{name: "a redirect loop fails after 10", get: translate.HTTPGet{Path: "/loop"},
			want: probeResult{Res: probe.Failure, Out: `Get "/loop": stopped after 10 redirects`}},
		{name: "kube-probe User-Agent, Accept */*, Host header, repeated headers",
			get:  translate.HTTPGet{Path: "/headers", Headers: []corev1.HTTPHeader{{Name: "host", Value: "shop.example"}, {Name: "X-Custom", Value: "a"}, {Name: "X-Custom", Value: "b"}}},
			want: probeResult{Res: probe.Success, Out: "host=shop.example ua=" + ua + " accept=*/* x=a,b"}},
		{name: "the probe's own User-Agent and Accept win",
			get:  translate.HTTPGet{Path: "/headers", Headers: []corev1.HTTPHeader{{Name: "User-Agent", Value: "mine"}, {Name: "Accept", Value: "text/plain"}}},
			want: probeResult{Res: probe.Success, Out: fmt.Sprintf("host=%s:%d ua=mine accept=text/plain x=", ip, port)}},
		{name: "a large body is read up to 10 KiB", get: translate.HTTPGet{Path: "/big"}, want: probeResult{Res: probe.Success, Out: strings.Repeat("x", 10<<10)}},
		{name: "a response later than the timeout fails", get: translate.HTTPGet{Path: "/slow"},
			want: probeResult{Res: probe.Failure, Out: fmt.Sprintf(`Get "http://%s:%d/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, ip, port)}},
		{name: "https with a self-signed certificate", get: translate.HTTPGet{Scheme: corev1.URISchemeHTTPS, Path: "/ok", Port: tlsPort},
			want: probeResult{Res: probe.Success, Out: "fine"}},
		{name: "a query in the path", get: translate.HTTPGet{Path: "/headers?a=b"}, want: probeResult{Res: probe.Success, Out: "host=…"}},
		{name: "the probe's host over the task's IP", task: taskhost.Task{}, get: translate.HTTPGet{Host: ip, Path: "/ok"},
			want: probeResult{Res: probe.Success, Out: "fine"}},
		{name: "no address yet", task: taskhost.Task{}, get: translate.HTTPGet{Path: "/ok"}, want: probeResult{Res: probe.Unknown, Err: errNoAddress.Error()}},
		{name: "nothing listening", get: translate.HTTPGet{Path: "/ok", Port: closedPort(t)}, want: probeResult{Res: probe.Failure, Out: "Get …"}},
		{name: "an invalid port", get: translate.HTTPGet{Path: "/ok", Port: 70000}, want: probeResult{Res: probe.Unknown, Err: "invalid port number: 70000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &netHost{}
			r := newHostRunner(h)
			g := tt.get
			if g.Port == 0 {
				g.Port = port
			}
			tk := task
			if tt.task != (taskhost.Task{}) || tt.name == "no address yet" || g.Host != "" {
				tk = tt.task
			}
			compareResult(t, tt.want, got(r.run(context.Background(), tk, "app", &translate.Handler{HTTPGet: &g}, time.Second)))
			if tt.want.Err == "" {
				if d := h.dials(); len(d) == 0 || d[0] != fmt.Sprintf("tcp %s:%d", ip, g.Port) {
					t.Errorf("dialed %q, want tcp %s:%d first", d, ip, g.Port)
				}
			}
		})
	}
}

func TestTCPSocket(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	open := int32(l.Addr().(*net.TCPAddr).Port)
	closed := closedPort(t)
	tests := []struct {
		name string
		task taskhost.Task
		tcp  translate.TCPSocket
		want probeResult
	}{
		{name: "open", task: taskhost.Task{IP: "127.0.0.1"}, tcp: translate.TCPSocket{Port: open}, want: probeResult{Res: probe.Success}},
		{name: "the probe's host", tcp: translate.TCPSocket{Host: "127.0.0.1", Port: open}, want: probeResult{Res: probe.Success}},
		{name: "closed", task: taskhost.Task{IP: "127.0.0.1"}, tcp: translate.TCPSocket{Port: closed},
			want: probeResult{Res: probe.Failure, Out: fmt.Sprintf("dial tcp 127.0.0.1:%d: connect: connection refused", closed)}},
		{name: "no address yet", tcp: translate.TCPSocket{Port: open}, want: probeResult{Res: probe.Unknown, Err: errNoAddress.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &netHost{}
			tcp := tt.tcp
			compareResult(t, tt.want, got(newHostRunner(h).run(context.Background(), tt.task, "app", &translate.Handler{TCPSocket: &tcp}, time.Second)))
			if tt.want.Err == "" {
				if diff := cmp.Diff([]string{fmt.Sprintf("tcp 127.0.0.1:%d", tcp.Port)}, h.dials()); diff != "" {
					t.Errorf("dials (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// grpcServer serves gRPC on 127.0.0.1, with the health service when hs is set; it records the
// User-Agent of health checks.
func grpcServer(t *testing.T, hs *health.Server) (int32, func() []string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var agents []string
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		agents = append(agents, md.Get("user-agent")...)
		mu.Unlock()
		return next(ctx, req)
	}))
	if hs != nil {
		healthpb.RegisterHealthServer(srv, hs)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return int32(l.Addr().(*net.TCPAddr).Port), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), agents...)
	}
}

func TestGRPC(t *testing.T) {
	t.Parallel()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
	port, agents := grpcServer(t, hs)
	bare, _ := grpcServer(t, nil)
	closed := closedPort(t)
	tests := []struct {
		name string
		ip   string
		g    translate.GRPC
		want probeResult
	}{
		{name: "SERVING", g: translate.GRPC{Port: port}, want: probeResult{Res: probe.Success, Out: "service healthy"}},
		{name: "NOT_SERVING", g: translate.GRPC{Port: port, Service: "db"},
			want: probeResult{Res: probe.Failure, Out: `service unhealthy (responded with "NOT_SERVING")`}},
		{name: "an unknown service", g: translate.GRPC{Port: port, Service: "nope"},
			want: probeResult{Res: probe.Failure, Out: "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"}},
		{name: "no health service", g: translate.GRPC{Port: bare},
			want: probeResult{Res: probe.Failure, Out: "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health"}},
		{name: "nothing listening: waits for the connection until the timeout", g: translate.GRPC{Port: closed},
			want: probeResult{Res: probe.Failure, Out: fmt.Sprintf(`timeout: failed to connect service "127.0.0.1:%d" within 1s: …`, closed)}},
		{name: "no address yet", ip: "-", g: translate.GRPC{Port: port}, want: probeResult{Res: probe.Unknown, Err: errNoAddress.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &netHost{}
			task := taskhost.Task{IP: "127.0.0.1"}
			if tt.ip == "-" {
				task.IP = ""
			}
			g := tt.g
			compareResult(t, tt.want, got(newHostRunner(h).run(context.Background(), task, "app", &translate.Handler{GRPC: &g}, time.Second)))
			if tt.want.Err == "" {
				if d := h.dials(); len(d) == 0 || d[0] != fmt.Sprintf("tcp 127.0.0.1:%d", g.Port) {
					t.Errorf("dialed %q, want tcp 127.0.0.1:%d", d, g.Port)
				}
			}
		})
	}
	ua := kubeProbeUserAgent(t)
	t.Cleanup(func() {
		for _, a := range agents() {
			if !strings.HasPrefix(a, ua+" grpc-go/") {
				t.Errorf("User-Agent %q, want %s grpc-go/...", a, ua)
			}
		}
	})
}

func TestExec(t *testing.T) {
	t.Parallel()
	task := taskhost.Task{TaskArn: "arn:t", IP: "10.0.0.5"}
	tests := []struct {
		name string
		exec func(ctx context.Context, s taskhost.Streams) error
		want probeResult
	}{
		{name: "exit 0", exec: func(_ context.Context, s taskhost.Streams) error {
			fmt.Fprint(s.Stdout, "out ")
			fmt.Fprint(s.Stderr, "err")
			return nil
		}, want: probeResult{Res: probe.Success, Out: "out err"}},
		{name: "exit 1", exec: func(_ context.Context, s taskhost.Streams) error {
			fmt.Fprint(s.Stderr, "not ready")
			return fmt.Errorf("exec: %w", &taskhost.ExitError{Code: 1})
		}, want: probeResult{Res: probe.Failure, Out: "not ready"}},
		{name: "output is kept up to 10 KiB", exec: func(_ context.Context, s taskhost.Streams) error {
			fmt.Fprint(s.Stdout, strings.Repeat("y", 20<<10))
			return nil
		}, want: probeResult{Res: probe.Success, Out: strings.Repeat("y", 10<<10)}},
		{name: "still running after the timeout fails", exec: func(ctx context.Context, _ taskhost.Streams) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("no deadline")
			}
			<-ctx.Done()
			return ctx.Err()
		}, want: probeResult{Res: probe.Failure, Out: `command timed out: "check --now" timed out after 1s`}},
		{name: "a Host that cannot exec: an error, not a failure", exec: func(context.Context, taskhost.Streams) error {
			return &taskhost.UnsupportedError{Op: "exec", Remedy: "enable ECS Exec on the task"}
		}, want: probeResult{Res: probe.Unknown, Err: `running "check --now" in container app: exec is not available here: enable ECS Exec on the task`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &netHost{exec: func(ctx context.Context, tk taskhost.Task, c string, cmd []string, s taskhost.Streams) error {
				if tk != task || c != "app" || !cmp.Equal(cmd, []string{"check", "--now"}) {
					return fmt.Errorf("exec of %v in %+v %s", cmd, tk, c)
				}
				return tt.exec(ctx, s)
			}}
			compareResult(t, tt.want, got(newHostRunner(h).run(context.Background(), task, "app", &translate.Handler{Exec: []string{"check", "--now"}}, time.Second)))
		})
	}
}

func TestExecUnsupportedIsUnsupported(t *testing.T) {
	h := &netHost{exec: func(context.Context, taskhost.Task, string, []string, taskhost.Streams) error {
		return &taskhost.UnsupportedError{Op: "exec", Remedy: "enable ECS Exec"}
	}}
	_, _, err := newHostRunner(h).run(context.Background(), taskhost.Task{}, "app", &translate.Handler{Exec: []string{"true"}}, time.Second)
	if !taskhost.IsUnsupported(err) {
		t.Errorf("error %v: IsUnsupported is false", err)
	}
}
