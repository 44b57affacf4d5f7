package controlplane_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// kubeletAPI is a stand-in for the virtual node's kubelet API: it answers GET
// /containerLogs/{namespace}/{pod}/{container} (what the API server calls for `kubectl logs`) with
// one line, and records the client certificate's CommonName of every request.
type kubeletAPI struct {
	mu      sync.Mutex
	callers []string
}

func (k *kubeletAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	caller := "(no client certificate)"
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		caller = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	k.mu.Lock()
	k.callers = append(k.callers, caller)
	k.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "containerLogs" {
		http.NotFound(w, r)
		return
	}
	fmt.Fprintf(w, "log of %s/%s/%s\n", parts[1], parts[2], parts[3])
}

func (k *kubeletAPI) seen() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.callers...)
}

// TestAPIServerReachesTheKubeletAPIWithVerifiedTLS: a kubelet API served with
// KubeletAPITLSConfig answers `kubectl logs` through the real API server, which verifies the
// serving certificate with the cluster CA and authenticates with its own client certificate; a
// kubelet API whose certificate the cluster CA did not sign is refused by the API server.
func TestAPIServerReachesTheKubeletAPIWithVerifiedTLS(t *testing.T) {
	env := testenv.Start(t)
	c := client(t, env)
	ctx := t.Context()

	tlsConfig, err := controlplane.KubeletAPITLSConfig(ctx, env.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	api := &kubeletAPI{}
	node := registerKubelet(ctx, t, c, "kubelet-"+env.Namespace, serveTLS(t, api, tlsConfig))
	pod := podOn(ctx, t, c, env.Namespace, "logs", node)
	logs, err := c.CoreV1().Pods(env.Namespace).GetLogs(pod, &corev1.PodLogOptions{Container: "app"}).DoRaw(ctx)
	if want := fmt.Sprintf("log of %s/%s/app\n", env.Namespace, pod); err != nil || string(logs) != want {
		t.Errorf("logs through the API server: %q, %v; want %q", logs, err, want)
	}
	if got := api.seen(); len(got) == 0 || got[0] != controlplane.APIServerKubeletClientUser {
		t.Errorf("kubelet API callers %q, want %s", got, controlplane.APIServerKubeletClientUser)
	}
	t.Run("kubectl logs", func(t *testing.T) {
		out, err := kubectl(t, env, "", "logs", "-n", env.Namespace, pod, "-c", "app")
		if want := fmt.Sprintf("log of %s/%s/app", env.Namespace, pod); err != nil || strings.TrimSpace(out) != want {
			t.Errorf("kubectl logs: %q, %v; want %q", out, err, want)
		}
	})

	// httptest's own certificate: valid for 127.0.0.1, signed by a CA of its own. The API server
	// ends the handshake (the handshake error is in the API server's log; the client gets a 500).
	other := &kubeletAPI{}
	untrusted := httptest.NewTLSServer(other)
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // the expected handshake error
	t.Cleanup(untrusted.Close)
	node = registerKubelet(ctx, t, c, "untrusted-"+env.Namespace, untrusted.Listener.Addr())
	pod = podOn(ctx, t, c, env.Namespace, "untrusted", node)
	if _, err := c.CoreV1().Pods(env.Namespace).GetLogs(pod, &corev1.PodLogOptions{Container: "app"}).DoRaw(ctx); err == nil {
		t.Errorf("logs from a kubelet API with a certificate of another CA: no error")
	}
	if got := other.seen(); len(got) != 0 {
		t.Errorf("the API server sent requests %q to a kubelet API whose certificate the cluster CA did not sign", got)
	}
}

// TestKubeletAPIRefusesClientsWithoutACertificateOfTheCluster: only clients with a certificate
// signed by the cluster CA reach the kubelet API.
func TestKubeletAPIRefusesClientsWithoutACertificateOfTheCluster(t *testing.T) {
	env := testenv.Start(t)
	tlsConfig, err := controlplane.KubeletAPITLSConfig(t.Context(), env.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, &kubeletAPI{}, tlsConfig)
	caPEM, err := os.ReadFile(controlplane.CAFile(env.StateDir))
	if err != nil {
		t.Fatal(err)
	}
	get := func(certs ...tls.Certificate) error {
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(caPEM)
		tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certs, RootCAs: roots}
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
		resp, err := cl.Get("https://" + addr.String() + "/containerLogs/ns/pod/app")
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	if err := get(); err == nil {
		t.Errorf("a client without a certificate was served")
	}
	certFile, keyFile := controlplane.APIServerKubeletClientCert(env.StateDir)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(pair); err != nil {
		t.Errorf("the API server's kubelet client certificate: %v", err)
	}
}

// serveTLS serves h with cfg on 127.0.0.1 until the test ends and returns the address. Not
// httptest's StartTLS, which adds its own certificate to cfg.Certificates: a client that sends no
// server name (the API server dials an IP address) would be served that one, not GetCertificate's.
func serveTLS(t *testing.T, h http.Handler, cfg *tls.Config) net.Addr {
	t.Helper()
	l, err := net.Listen("tcp", controlplane.Host+":0")
	if err != nil {
		t.Fatal(err)
	}
	// Handshake errors (clients this file refuses on purpose) are not logged.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: waitTimeout, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(tls.NewListener(l, cfg)) }() // ErrServerClosed once the test ends
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr()
}

// registerKubelet registers a Ready node whose kubelet API listens at addr (127.0.0.1:port), as
// the virtual node reports itself (InternalIP and daemonEndpoints.kubeletEndpoint), tainted so
// that the scheduler puts nothing there; it is deleted when the test ends.
func registerKubelet(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, addr net.Addr) string {
	t.Helper()
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", addr)
	}
	taint := corev1.Taint{Key: "nodeless.dev/test", Value: name, Effect: corev1.TaintEffectNoSchedule}
	registerNode(ctx, t, c, name, nil, taint)
	node, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: tcp.IP.String()}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(tcp.Port) //nolint:gosec // a port fits
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// podOn creates a Pod bound to node (spec.nodeName, as after scheduling) and returns its name.
func podOn(ctx context.Context, t *testing.T, c kubernetes.Interface, namespace, name, node string) string {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
	}
	if _, err := c.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// kubectl runs the real kubectl (the one on PATH, else `nodeless kubectl`, as test/e2e does)
// against env with stdin and returns its combined output.
func kubectl(t *testing.T, env *testenv.Env, stdin string, args ...string) (string, error) {
	t.Helper()
	argv := []string{"kubectl"}
	if _, err := exec.LookPath("kubectl"); err != nil {
		bin, err := testenv.Binary()
		if err != nil {
			t.Fatal(err)
		}
		argv = []string{bin, "kubectl"}
	}
	cmd := exec.CommandContext(t.Context(), argv[0], append(argv[1:], args...)...) //nolint:gosec // the test's own arguments
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		err = fmt.Errorf("%w: %s", err, out.String())
	}
	return out.String(), err
}
