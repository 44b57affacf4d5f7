package prober

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"k8s.io/component-base/version"
	"k8s.io/kubernetes/pkg/probe"
	httpprobe "k8s.io/kubernetes/pkg/probe/http"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// maxExecOutput is how much of an exec probe's output is kept (the kubelet's maxReadLength).
const maxExecOutput = 10 << 10

// userAgent is the kubelet's probe User-Agent, kube-probe/<major.minor> of the Kubernetes release
// nodeless embeds.
const userAgent = "kube-probe/" + version.DefaultKubeBinaryVersion

// errNoAddress: a network probe of a task that has no IP address yet.
var errNoAddress = errors.New("the task has no IP address yet")

// runner runs one attempt of a probe against a task's container. A probe that ran returns its
// result (Success, Warning or Failure) and output; one that could not be run returns an error.
type runner interface {
	run(ctx context.Context, task taskhost.Task, container string, h *translate.Handler, timeout time.Duration) (probe.Result, string, error)
}

// hostRunner runs probes through a taskhost.Host: network probes through Host.Dial, exec
// probes through Host.Exec.
type hostRunner struct {
	host      taskhost.Host
	transport *http.Transport
}

func newHostRunner(host taskhost.Host) *hostRunner {
	r := &hostRunner{host: host}
	if host != nil {
		r.transport = httpTransport(host)
	}
	return r
}

func (r *hostRunner) run(ctx context.Context, task taskhost.Task, container string, h *translate.Handler, timeout time.Duration) (probe.Result, string, error) {
	if r.host == nil {
		return probe.Unknown, "", errors.New("the prober has no taskhost.Host (Options.Host) to run probes through")
	}
	switch {
	case len(h.Exec) > 0:
		return r.exec(ctx, task, container, h.Exec, timeout)
	case h.HTTPGet != nil:
		return r.httpGet(ctx, task, h.HTTPGet, timeout)
	case h.TCPSocket != nil:
		return r.tcpSocket(ctx, task, h.TCPSocket, timeout)
	case h.GRPC != nil:
		return r.grpc(ctx, task, h.GRPC, timeout)
	default:
		return probe.Unknown, "", errors.New("the probe has no handler (exec, httpGet, tcpSocket or grpc)")
	}
}

// address is host:port, host defaulting to the task's IP.
func address(task taskhost.Task, host string, port int32) (string, error) {
	if host == "" {
		host = task.IP
	}
	if host == "" {
		return "", errNoAddress
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("invalid port number: %d", port)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port))), nil
}

// httpGet runs an httpGet probe with the kubelet's own request and response handling
// (k8s.io/kubernetes/pkg/probe/http), over a transport that dials through the Host.
func (r *hostRunner) httpGet(ctx context.Context, task taskhost.Task, g *translate.HTTPGet, timeout time.Duration) (probe.Result, string, error) {
	addr, err := address(task, g.Host, g.Port)
	if err != nil {
		return probe.Unknown, "", err
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	u, err := url.Parse(g.Path)
	if err != nil {
		u = &url.URL{Path: g.Path} // as the kubelet's formatURL
	}
	u.Scheme, u.Host = scheme, addr
	headers := make(http.Header)
	for _, h := range g.Headers {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok {
		headers.Set("User-Agent", userAgent)
	}
	req, err := httpprobe.NewProbeRequest(u, headers)
	if err != nil {
		return probe.Unknown, "", fmt.Errorf("making the request for %s: %w", u, err)
	}
	client := &http.Client{Transport: r.transport, Timeout: timeout, CheckRedirect: httpprobe.RedirectChecker(false)}
	return httpprobe.DoHTTPProbe(req.WithContext(ctx), client)
}

// tcpSocket succeeds when a connection opens within the timeout.
func (r *hostRunner) tcpSocket(ctx context.Context, task taskhost.Task, t *translate.TCPSocket, timeout time.Duration) (probe.Result, string, error) {
	addr, err := address(task, t.Host, t.Port)
	if err != nil {
		return probe.Unknown, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := r.host.Dial(ctx, "tcp", addr)
	if err != nil {
		return probe.Failure, err.Error(), nil
	}
	_ = conn.Close()
	return probe.Success, "", nil
}

// grpc calls grpc.health.v1.Health/Check on the task's IP and succeeds on SERVING. As the
// kubelet (which dials with WithBlock), it waits for the connection until the timeout.
func (r *hostRunner) grpc(ctx context.Context, task taskhost.Task, g *translate.GRPC, timeout time.Duration) (probe.Result, string, error) {
	addr, err := address(task, "", g.Port)
	if err != nil {
		return probe.Unknown, "", err
	}
	dial := func(ctx context.Context, a string) (net.Conn, error) { return r.host.Dial(ctx, "tcp", a) }
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent(userAgent),
		grpc.WithContextDialer(dial))
	if err != nil {
		return probe.Unknown, "", fmt.Errorf("making a gRPC client for %s: %w", addr, err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: g.Service}, grpc.WaitForReady(true))
	if err != nil {
		return probe.Failure, grpcFailure(err, addr, timeout, conn.GetState()), nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return probe.Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), nil
	}
	return probe.Success, "service healthy", nil
}

// grpcFailure words a failed Check as the kubelet's probe/grpc does.
func grpcFailure(err error, addr string, timeout time.Duration, state connectivity.State) string {
	st, _ := status.FromError(err)
	switch {
	case st.Code() == codes.DeadlineExceeded && state != connectivity.Ready:
		return fmt.Sprintf("timeout: failed to connect service %q within %v: %v", addr, timeout, err)
	case st.Code() == codes.DeadlineExceeded:
		return fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
	case st.Code() == codes.Unimplemented:
		return "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + st.Message()
	default:
		return fmt.Sprintf("error: health rpc probe failed: %v", err)
	}
}

// exec runs the command in the container and succeeds on exit code 0; a command still running
// after the timeout fails (the kubelet's probe/exec with its CRI timeout).
func (r *hostRunner) exec(ctx context.Context, task taskhost.Task, container string, cmd []string, timeout time.Duration) (probe.Result, string, error) {
	execCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &limitedBuffer{limit: maxExecOutput}
	err := r.host.Exec(execCtx, task, container, cmd, taskhost.Streams{Stdout: out, Stderr: out})
	var exit *taskhost.ExitError
	switch {
	case err == nil:
		return probe.Success, out.String(), nil
	case errors.As(err, &exit):
		return probe.Failure, out.String(), nil
	case ctx.Err() == nil && errors.Is(execCtx.Err(), context.DeadlineExceeded):
		return probe.Failure, fmt.Sprintf("command timed out: %q timed out after %v", strings.Join(cmd, " "), timeout), nil
	default:
		return probe.Unknown, "", fmt.Errorf("running %q in container %s: %w", strings.Join(cmd, " "), container, err)
	}
}

// limitedBuffer keeps the first limit bytes written to it, from several goroutines (a Host may
// copy stdout and stderr concurrently); writes beyond are discarded, not refused.
type limitedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// insecureTLS is the TLS configuration of https probes: certificates are not verified, as the
// kubelet does not verify them (a probe checks the application, not its identity).
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} // #nosec G402 -- the kubelet's probe/http does the same
}
