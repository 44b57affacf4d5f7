package controlplane

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// etcdStartTimeout bounds how long a single-member etcd may take to elect itself leader.
const etcdStartTimeout = 60 * time.Second

// Etcd is the embedded etcd that stores every Kubernetes object. Clients and the (unused) peer
// port need a certificate signed by the state dir's CA: the API server is etcd's only client, and
// anyone who can talk to etcd directly bypasses RBAC.
type Etcd struct {
	cfg     Config
	pki     *PKI
	logFile string
	// logOut, when set, receives etcd's log instead of logFile (Up's rotated log writer).
	logOut io.Writer
	ready  chan struct{}
}

// NewEtcd returns the etcd component for cfg; its data lives in <state dir>/etcd.
func NewEtcd(cfg Config, pki *PKI, logFile string) *Etcd {
	return &Etcd{cfg: cfg.withDefaults(), pki: pki, logFile: logFile, ready: make(chan struct{})}
}

// Name implements component.Component.
func (e *Etcd) Name() string { return "etcd" }

// Ready implements component.Component.
func (e *Etcd) Ready() <-chan struct{} { return e.ready }

// Run implements component.Component.
func (e *Etcd) Run(ctx context.Context) error {
	ecfg, err := e.embedConfig()
	if err != nil {
		return err
	}
	srv, err := embed.StartEtcd(ecfg)
	if err != nil {
		return fmt.Errorf("starting etcd (data dir %s): %w", ecfg.Dir, err)
	}
	// Close blocks until etcd has stopped and released its data dir, so a restart can reuse it.
	defer srv.Close()

	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		return fmt.Errorf("etcd failed while starting: %w", err)
	case <-time.After(etcdStartTimeout):
		return fmt.Errorf("etcd not ready after %s; see %s", etcdStartTimeout, e.logFile)
	case <-ctx.Done():
		return nil
	}
	close(e.ready)

	select {
	case <-ctx.Done():
		return nil
	case err := <-srv.Err():
		return fmt.Errorf("etcd: %w", err)
	}
}

func (e *Etcd) embedConfig() (*embed.Config, error) {
	client, err := url.Parse(e.cfg.etcdClientURL())
	if err != nil {
		return nil, fmt.Errorf("etcd client URL: %w", err)
	}
	peer, err := url.Parse(e.cfg.etcdPeerURL())
	if err != nil {
		return nil, fmt.Errorf("etcd peer URL: %w", err)
	}
	c := embed.NewConfig()
	c.Name = "nodeless"
	c.Dir = etcdDir(e.cfg.StateDir)
	c.ListenClientUrls = []url.URL{*client}
	c.AdvertiseClientUrls = []url.URL{*client}
	c.ListenPeerUrls = []url.URL{*peer}
	c.AdvertisePeerUrls = []url.URL{*peer}
	c.InitialCluster = c.Name + "=" + peer.String()
	c.ListenMetricsUrls = nil
	c.ClientTLSInfo.CertFile = e.pki.ServingCert
	c.ClientTLSInfo.KeyFile = e.pki.ServingKey
	c.ClientTLSInfo.TrustedCAFile = e.pki.CACert
	c.ClientTLSInfo.ClientCertAuth = true
	c.PeerTLSInfo = c.ClientTLSInfo
	c.Logger = "zap"
	c.LogLevel = "warn"
	c.LogOutputs = []string{e.logFile}
	if e.logOut != nil {
		c.ZapLoggerBuilder = embed.NewZapLoggerBuilder(etcdLogger(e.logOut))
	}
	// etcd warns about every request slower than 300 ms and every apply slower than 100 ms: on a
	// busy laptop that is hundreds of warnings a minute about nothing a user can act on. Only
	// requests slow enough to be felt are logged.
	c.WarningUnaryRequestDuration = 5 * time.Second
	c.WarningApplyDuration = time.Second
	// Keep the database small on a laptop: compact hourly history away, as kube-apiserver also
	// compacts every 5 minutes on its own.
	c.AutoCompactionMode = "periodic"
	c.AutoCompactionRetention = "1h"
	return c, nil
}
