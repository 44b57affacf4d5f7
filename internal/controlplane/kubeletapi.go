package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// KubeletAPITLSConfig returns the TLS configuration of the virtual node's kubelet API server, the
// one the API server calls for `kubectl logs`, `exec`, `attach` and `port-forward`:
//   - it serves KubeletServingCert(stateDir) (SANs 127.0.0.1, localhost and the node's name,
//     signed by the cluster CA, which the API server trusts for the kubelet API through
//     --kubelet-certificate-authority), reloaded when the files change (controller-runtime's
//     certwatcher: fsnotify, and a poll every 10 s), so a certificate the control plane renews is
//     served without a restart;
//   - it requires a client certificate signed by CAFile(stateDir): the API server presents
//     APIServerKubeletClientCert (CN=APIServerKubeletClientUser); the handler may authorize the
//     peer's CommonName (r.TLS.PeerCertificates[0]).
//
// The files must exist: Up writes them before it calls ExtrasFunc. The watcher runs until ctx
// ends. Errors name the file that could not be read.
func KubeletAPITLSConfig(ctx context.Context, stateDir string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(CAFile(stateDir))
	if err != nil {
		return nil, fmt.Errorf("kubelet API client CA: %w", err)
	}
	clientCAs := x509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("kubelet API client CA %s: no PEM certificate", CAFile(stateDir))
	}
	certFile, keyFile := KubeletServingCert(stateDir)
	watcher, err := certwatcher.New(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet API serving certificate: %w", err)
	}
	go func() {
		if err := watcher.Start(ctx); err != nil {
			// The certificate read by New is still served; only reloading is lost.
			klog.FromContext(ctx).Error(err, "Watching the kubelet API serving certificate failed", "file", certFile)
		}
	}()
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: watcher.GetCertificate,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      clientCAs,
	}, nil
}

// renewInterval is how often certRenewer checks the kubelet API's certificates. A certificate is
// renewed renewBefore (30 days) ahead of its expiry, so once a day is plenty; once an hour keeps a
// certificate damaged or removed while nodeless runs from staying so long.
const renewInterval = time.Hour

// certRenewer keeps the kubelet API's two certificates (the virtual node's serving certificate and
// the API server's kubelet client certificate) valid while nodeless runs, as EnsurePKI does at
// every start: each check re-issues one that is expiring within renewBefore, invalid or missing.
// Both consumers reload the files: the kubelet API through KubeletAPITLSConfig, the API server
// because client-go reloads a client certificate given as files (transport.Config.ReloadTLSFiles,
// set by pkg/kubelet/client for --kubelet-client-certificate).
type certRenewer struct {
	pki      *PKI
	interval time.Duration
	ready    chan struct{}
}

func newCertRenewer(p *PKI) *certRenewer {
	return &certRenewer{pki: p, interval: renewInterval, ready: make(chan struct{})}
}

// Name implements component.Component.
func (r *certRenewer) Name() string { return "certificate renewal" }

// Ready implements component.Component: closed at once, EnsurePKI checked the certificates.
func (r *certRenewer) Ready() <-chan struct{} { return r.ready }

// Run implements component.Component. A failed check is logged and tried again at the next one:
// the certificates on disk stay valid for renewBefore after the first failure.
func (r *certRenewer) Run(ctx context.Context) error {
	close(r.ready)
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := r.renew(); err != nil {
				klog.FromContext(ctx).Error(err, "Renewing the kubelet API certificates failed; trying again later",
					"interval", r.interval)
			}
		}
	}
}

func (r *certRenewer) renew() error {
	ca, err := loadCA(r.pki.CACert, r.pki.CAKey)
	if err != nil {
		return err
	}
	if err := ensureLeaf(ca, r.pki.KubeletServingCert, r.pki.KubeletServingKey, kubeletServingTemplate()); err != nil {
		return err
	}
	return ensureLeaf(ca, r.pki.KubeletClientCert, r.pki.KubeletClientKey, clientTemplate(APIServerKubeletClientUser))
}
