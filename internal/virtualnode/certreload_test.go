package virtualnode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/taskhost/awshost"
)

// TestServingCertificateReloads: a serving certificate renewed on disk (nodeless up renews the
// kubelet's before it expires) is served from the next handshake on, without a restart.
func TestServingCertificateReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "kubelet.crt"), filepath.Join(dir, "kubelet.key")
	first := writeCert(t, certFile, keyFile)
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	srv, err := NewServer(ServerOptions{
		Address: addr, CertFile: certFile, KeyFile: keyFile, ClientCA: pemOf(first),
		NodeName: "nodeless", Client: client, Host: awshost.New(awshost.Options{}),
	}, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stopping: %v", err)
		}
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("the kubelet API stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the kubelet API is not ready after 30 s")
	}
	if got := servedSerial(t, addr); got != first.SerialNumber.String() {
		t.Fatalf("served serial %s, want the first certificate's %s", got, first.SerialNumber)
	}
	second := writeCert(t, certFile, keyFile)
	deadline := time.Now().Add(time.Minute) // certwatcher polls every 10 s besides its fsnotify events
	for servedSerial(t, addr) != second.SerialNumber.String() {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute the kubelet API still serves the first certificate, not the renewed one (%s)", second.SerialNumber)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeCert writes a new self-signed serving certificate and its key, replacing the files as a
// renewal does (key first, then the certificate), and returns the certificate.
func writeCert(t *testing.T, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	c, err := SelfSignedCertificate("127.0.0.1", "nodeless")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{keyFile, certFile} {
		if err := os.Rename(f+".tmp", f); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// servedSerial is the serial number of the certificate addr serves.
func servedSerial(t *testing.T, addr string) string {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reads the served certificate only
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr())
}
