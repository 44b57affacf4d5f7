package serviceproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	proxyproto "github.com/pires/go-proxyproto"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

func TestParseProxyProtocol(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        bool
		wantErr     string // a part of the error; "" for none
	}{
		{name: "no annotation"},
		{name: "star", annotations: map[string]string{ProxyProtocolAnnotation: "*"}, want: true},
		{name: "star with spaces", annotations: map[string]string{ProxyProtocolAnnotation: " * "}, want: true},
		{name: "empty value is refused", annotations: map[string]string{ProxyProtocolAnnotation: ""},
			wantErr: `metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-proxy-protocol]: "" is not supported: the only value is "*"`},
		{name: "true is refused (the controllers accept only *)", annotations: map[string]string{ProxyProtocolAnnotation: "true"},
			wantErr: `metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-proxy-protocol]: "true" is not supported`},
		{name: "a port list is refused", annotations: map[string]string{ProxyProtocolAnnotation: "80,443"},
			wantErr: `"80,443" is not supported`},
		{name: "target group attribute true", annotations: map[string]string{
			TargetGroupAttributesAnnotation: "deregistration_delay.timeout_seconds=10, proxy_protocol_v2.enabled=true"}, want: true},
		{name: "target group attribute false", annotations: map[string]string{
			TargetGroupAttributesAnnotation: "proxy_protocol_v2.enabled=false"}},
		{name: "other attributes only", annotations: map[string]string{
			TargetGroupAttributesAnnotation: "deregistration_delay.timeout_seconds=10"}},
		{name: "target group attribute not a boolean", annotations: map[string]string{
			TargetGroupAttributesAnnotation: "proxy_protocol_v2.enabled=yes"},
			wantErr: `metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-target-group-attributes]: proxy_protocol_v2.enabled="yes": want true or false`},
		{name: "target group attribute in another case", annotations: map[string]string{
			TargetGroupAttributesAnnotation: "proxy_protocol_v2.enabled=True"}, wantErr: `proxy_protocol_v2.enabled="True"`},
		{name: "the proxy-protocol annotation wins over the attribute", annotations: map[string]string{
			ProxyProtocolAnnotation: "*", TargetGroupAttributesAnnotation: "proxy_protocol_v2.enabled=false"}, want: true},
		{name: "a bad proxy-protocol annotation is refused even with the attribute", annotations: map[string]string{
			ProxyProtocolAnnotation: "v2", TargetGroupAttributesAnnotation: "proxy_protocol_v2.enabled=true"}, wantErr: `"v2" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProxyProtocol(tt.annotations)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseProxyProtocol = %v, want %v", got, tt.want)
			}
		})
	}
}

// addrConn is a net.Conn with the given addresses (only they are used).
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c addrConn) LocalAddr() net.Addr  { return c.local }
func (c addrConn) RemoteAddr() net.Addr { return c.remote }

func TestWriteProxyHeader(t *testing.T) {
	tcp := func(s string) *net.TCPAddr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	tests := []struct {
		name           string
		remote, local  net.Addr
		want           string // hex
		wantSrc, wantD string
	}{
		{
			name:   "IPv4 client of a LoadBalancer listener",
			remote: tcp("127.0.0.1:54321"), local: tcp("127.0.0.1:8080"),
			// signature, version 2 + PROXY, AF_INET + STREAM, 12 bytes: src, dst, sport, dport
			want:    "0d0a0d0a000d0a515549540a" + "21" + "11" + "000c" + "7f000001" + "7f000001" + "d431" + "1f90",
			wantSrc: "127.0.0.1:54321", wantD: "127.0.0.1:8080",
		},
		{
			name:   "a client in the VPC",
			remote: tcp("10.244.0.5:40000"), local: tcp("10.0.0.10:80"),
			want:    "0d0a0d0a000d0a515549540a" + "21" + "11" + "000c" + "0af40005" + "0a00000a" + "9c40" + "0050",
			wantSrc: "10.244.0.5:40000", wantD: "10.0.0.10:80",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeProxyHeader(&buf, addrConn{local: tt.local, remote: tt.remote}); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(buf.Bytes()); got != tt.want {
				t.Errorf("header\n got %s\nwant %s", got, tt.want)
			}
			h, err := proxyproto.Read(bufio.NewReader(&buf))
			if err != nil {
				t.Fatalf("reading the header back: %v", err)
			}
			if h.Version != 2 || h.Command != proxyproto.PROXY || h.SourceAddr.String() != tt.wantSrc || h.DestinationAddr.String() != tt.wantD {
				t.Errorf("read back: version %d command %v %s → %s, want 2 PROXY %s → %s", h.Version, h.Command, h.SourceAddr, h.DestinationAddr, tt.wantSrc, tt.wantD)
			}
		})
	}
}

// startAddrBackend is an endpoint on 127.0.0.1 that accepts an optional PROXY header: for every
// line a connection sends it answers "header <source> <destination>" when the connection began with
// a PROXY header, else "plain <peer address>".
func startAddrBackend(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			raw, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				c := proxyproto.NewConn(raw, proxyproto.WithPolicy(proxyproto.USE))
				defer func() { _ = c.Close() }()
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					answer := "plain " + raw.RemoteAddr().String()
					if h := c.ProxyHeader(); h != nil {
						answer = fmt.Sprintf("header %s %s", h.SourceAddr, h.DestinationAddr)
					}
					if _, err := fmt.Fprintln(c, answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l
}

// TestPoolProxyProtocol: HandleProxyProtocol gives the endpoint the client's address and the one it
// connected to before the client's bytes; Handle sends the client's bytes alone.
func TestPoolProxyProtocol(t *testing.T) {
	backend := startAddrBackend(t)
	pool := newTestPool(0)
	pool.Update([]Endpoint{{Address: netip.MustParseAddrPort(backend.Addr().String()), Ready: true, Serving: true}})
	t.Cleanup(pool.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, header := range []bool{true, false} {
		t.Run(fmt.Sprintf("header %v", header), func(t *testing.T) {
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
					if header {
						go pool.HandleProxyProtocol(ctx, c)
					} else {
						go pool.Handle(ctx, c)
					}
				}
			}()
			c, err := net.DialTimeout("tcp", l.Addr().String(), waitTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			_ = c.SetDeadline(time.Now().Add(waitTimeout))
			r := bufio.NewReader(c)
			for i := range 2 { // the header comes once, before the first bytes only
				if _, err := fmt.Fprintln(c, "hello"); err != nil {
					t.Fatal(err)
				}
				got, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				got = strings.TrimSpace(got)
				want := fmt.Sprintf("header %s %s", c.LocalAddr(), l.Addr())
				if !header {
					want = "plain 127.0.0.1:"
				}
				if !strings.HasPrefix(got, want) {
					t.Errorf("answer %d: the endpoint saw %q, want %q", i, got, want)
				}
			}
		})
	}
}

// TestProxyProtocolOnAPIServer: a LoadBalancer Service annotated with ProxyProtocolAnnotation "*"
// sends its endpoints the client's address in a PROXY protocol v2 header on connections through
// its LoadBalancer listener, and none through its nodePort; removing the annotation stops it; an
// annotation value it cannot honour closes the LoadBalancer listener, says InvalidAnnotation in the
// port's status and is named in a Warning Event (and so does a deregistration delay it cannot
// honour).
func TestProxyProtocolOnAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver; skipped with -short")
	}
	env := testenv.Start(t)
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	backend := startAddrBackend(t)
	var d net.Dialer
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		if address == "10.244.0.5:8080" {
			address = backend.Addr().String()
		}
		return d.DialContext(ctx, network, address)
	}
	p, err := New(Options{Client: kube, Dial: dial, Logger: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	ns := env.Namespace
	port := freePort(t)
	lbAddr := "127.0.0.1:" + strconv.Itoa(port)
	createService(t, kube, ns, "pp", port)
	createSlice(t, kube, ns, "pp", map[string]discoveryv1.EndpointConditions{"10.244.0.5": {}})
	annotate := func(annotations map[string]string) {
		t.Helper()
		svc, err := kube.CoreV1().Services(ns).Get(ctx, "pp", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc.Annotations = annotations
		if _, err := kube.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mode := corev1.LoadBalancerIPModeProxy
	ingress := func(e *string) []corev1.LoadBalancerIngress {
		return []corev1.LoadBalancerIngress{{IP: "127.0.0.1", IPMode: &mode, Ports: []corev1.PortStatus{{Port: int32(port), Protocol: corev1.ProtocolTCP, Error: e}}}}
	}
	waitIngress(t, kube, ns, "pp", ingress(nil))
	if got := askAddr(t, lbAddr); !strings.HasPrefix(got, "plain ") {
		t.Errorf("without the annotation the endpoint saw %q, want a plain connection", got)
	}

	annotate(map[string]string{ProxyProtocolAnnotation: "*"})
	testwait.For(t, waitTimeout, 50*time.Millisecond, "a PROXY header with the client's address", func() (bool, string) {
		c, err := net.DialTimeout("tcp", lbAddr, waitTimeout)
		if err != nil {
			return false, err.Error()
		}
		defer func() { _ = c.Close() }()
		got := askOn(t, c)
		return got == fmt.Sprintf("header %s %s", c.LocalAddr(), lbAddr), got
	})
	svc, err := kube.CoreV1().Services(ns).Get(ctx, "pp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	np := svc.Spec.Ports[0].NodePort
	if got := askAddr(t, fmt.Sprintf("127.0.0.1:%d", np)); !strings.HasPrefix(got, "plain ") {
		t.Errorf("through the nodePort the endpoint saw %q, want a plain connection (only the load balancer sends the header)", got)
	}

	annotate(map[string]string{ProxyProtocolAnnotation: "true"})
	waitIngress(t, kube, ns, "pp", ingress(ptr.To(InvalidAnnotation)))
	testwait.For(t, waitTimeout, 50*time.Millisecond, "an InvalidAnnotation Event naming the annotation", func() (bool, string) {
		evs, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=pp,reason=" + ReasonInvalidAnnotation})
		if err != nil || len(evs.Items) == 0 {
			return false, fmt.Sprint(err)
		}
		m := evs.Items[0].Message
		return strings.Contains(m, ProxyProtocolAnnotation) && strings.Contains(m, `"true"`), m
	})
	if c, err := net.DialTimeout("tcp", lbAddr, waitTimeout); err == nil {
		_ = c.Close()
		t.Errorf("the LoadBalancer listener still accepts connections with an invalid annotation")
	}

	// A deregistration delay it cannot honour is refused the same way.
	annotate(map[string]string{TargetGroupAttributesAnnotation: "deregistration_delay.timeout_seconds=forever"})
	testwait.For(t, waitTimeout, 50*time.Millisecond, "an InvalidAnnotation Event naming the delay", func() (bool, string) {
		evs, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=pp,reason=" + ReasonInvalidAnnotation})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if strings.Contains(e.Message, TargetGroupAttributesAnnotation) && strings.Contains(e.Message, "forever") {
				return true, e.Message
			}
		}
		return false, fmt.Sprintf("%d Events", len(evs.Items))
	})
	waitIngress(t, kube, ns, "pp", ingress(ptr.To(InvalidAnnotation)))

	annotate(nil)
	waitIngress(t, kube, ns, "pp", ingress(nil))
	testwait.For(t, waitTimeout, 50*time.Millisecond, "a plain connection again", func() (bool, string) {
		got := askAddr(t, lbAddr)
		return strings.HasPrefix(got, "plain "), got
	})
}

// askAddr connects to addr and returns what the address backend answers ("" when it could not).
func askAddr(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = c.Close() }()
	return askOn(t, c)
}

func askOn(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := fmt.Fprintln(c, "who am I"); err != nil {
		return err.Error()
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(got)
}
