package virtualnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	vkslog "github.com/virtual-kubelet/virtual-kubelet/log/slog"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// ServerOptions configure the kubelet API.
type ServerOptions struct {
	// Address is host:port to listen on; default 127.0.0.1:10250 (the node's Address and Port).
	Address string
	// CertFile and KeyFile are the serving certificate and key (PEM), for the node's address;
	// or Certificate, when set.
	CertFile, KeyFile string
	Certificate       *tls.Certificate
	// ClientCAFile is the cluster CA (PEM): client certificates it signed authenticate (the API
	// server's kubelet client certificate among them); or ClientCA, the PEM itself. Bearer tokens
	// are checked by TokenReview.
	ClientCAFile string
	ClientCA     []byte
	// NodeName is the node's name, the object of the authorization checks (nodes/proxy, ...).
	NodeName string
	// Client reaches the API server for TokenReview and SubjectAccessReview, and lists the node's
	// Pods for /pods.
	Client kubernetes.Interface
	// Pods finds a Pod's task; nil: no Pod has one (every request is refused, saying so).
	Pods PodTasks
	// Host reaches the tasks.
	Host taskhost.Host
	// StreamIdleTimeout ends an exec, attach or port-forward stream idle this long; default 4 h
	// (the kubelet's streamingConnectionIdleTimeout).
	StreamIdleTimeout time.Duration
	// StreamCreationTimeout bounds the setting up of a stream; default 30 s.
	StreamCreationTimeout time.Duration
}

// Defaults of ServerOptions.
const (
	DefaultStreamIdleTimeout     = 4 * time.Hour
	DefaultStreamCreationTimeout = 30 * time.Second
)

// Server is the kubelet API of the virtual node (see the package doc). It implements
// component.Component; Ready is closed once it listens.
type Server struct {
	opts    ServerOptions
	log     logr.Logger
	ready   chan struct{}
	handler http.Handler
	tls     *tls.Config
	// watcher reloads CertFile and KeyFile when they change (nil with Certificate).
	watcher *certwatcher.CertWatcher
}

// NewServer checks the options, loads the certificates and builds the handler; nothing listens
// before Run.
func NewServer(opts ServerOptions, log logr.Logger) (*Server, error) {
	if opts.Address == "" {
		opts.Address = net.JoinHostPort(DefaultAddress, fmt.Sprint(DefaultPort))
	}
	if opts.NodeName == "" || opts.Client == nil || opts.Host == nil {
		return nil, errors.New("kubelet API: NodeName, Client and Host are required")
	}
	cert, watcher, err := servingCert(opts)
	if err != nil {
		return nil, err
	}
	if opts.Pods == nil {
		opts.Pods = noPodTasks{}
	}
	if opts.StreamIdleTimeout == 0 {
		opts.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if opts.StreamCreationTimeout == 0 {
		opts.StreamCreationTimeout = DefaultStreamCreationTimeout
	}
	auth, err := webhookAuth(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: log, ready: make(chan struct{}), watcher: watcher}
	s.tls = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The x509 authenticator verifies the chain against the client CA; TLS only asks.
		ClientAuth: tls.RequestClientCert,
	}
	if watcher != nil {
		// A certificate renewed on disk (nodeless up renews the kubelet's before it expires) is
		// served from the next handshake on.
		s.tls.GetCertificate = watcher.GetCertificate
	} else {
		s.tls.Certificates = []tls.Certificate{*cert}
	}
	s.handler = nodeutil.WithAuth(auth, s.routes())
	return s, nil
}

// servingCert is the serving certificate of opts: Certificate, or CertFile and KeyFile loaded
// now and watched (controller-runtime's certwatcher) once Run starts.
func servingCert(opts ServerOptions) (*tls.Certificate, *certwatcher.CertWatcher, error) {
	if opts.Certificate != nil {
		return opts.Certificate, nil, nil
	}
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, nil, errors.New("kubelet API: a serving certificate and its key are required")
	}
	w, err := certwatcher.New(opts.CertFile, opts.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("kubelet API: loading the serving certificate %s: %w", opts.CertFile, err)
	}
	return nil, w, nil
}

// webhookAuth authenticates client certificates of the cluster CA and bearer tokens (TokenReview)
// and authorizes with SubjectAccessReview, as the kubelet's webhook mode; no anonymous access.
func webhookAuth(opts ServerOptions) (nodeutil.Auth, error) {
	var ca dynamiccertificates.CAContentProvider
	var err error
	switch {
	case len(opts.ClientCA) > 0:
		ca, err = dynamiccertificates.NewStaticCAContent("client-ca", opts.ClientCA)
	case opts.ClientCAFile != "":
		ca, err = dynamiccertificates.NewDynamicCAContentFromFile("client-ca", opts.ClientCAFile)
	default:
		err = errors.New("no client CA given")
	}
	if err != nil {
		return nil, fmt.Errorf("kubelet API: the client CA (the cluster's CA) %s: %w", opts.ClientCAFile, err)
	}
	auth, err := nodeutil.WebhookAuth(opts.Client, opts.NodeName, func(c *nodeutil.WebhookAuthConfig) error {
		c.AuthnConfig.ClientCertificateCAContentProvider = ca
		c.AuthnConfig.Anonymous = nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kubelet API: authentication and authorization: %w", err)
	}
	return auth, nil
}

// routes are virtual-kubelet's kubelet routes (/containerLogs, /exec, /attach, /portForward,
// /pods), the errors of /containerLogs without virtual-kubelet's prefix (withoutLogsErrorPrefix),
// and /healthz.
func (s *Server) routes() http.Handler {
	h := &handlers{pods: s.opts.Pods, host: s.opts.Host, client: s.opts.Client, node: s.opts.NodeName}
	pods := api.PodHandler(api.PodHandlerConfig{
		RunInContainer:        h.exec,
		AttachToContainer:     h.attach,
		PortForward:           h.portForward,
		GetContainerLogs:      h.logs,
		GetPodsFromKubernetes: h.listPods,
		StreamIdleTimeout:     s.opts.StreamIdleTimeout,
		StreamCreationTimeout: s.opts.StreamCreationTimeout,
	}, false)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.Handle("/", withoutLogsErrorPrefix(pods))
	return mux
}

// Handler is the authenticated kubelet API, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.handler }

// Name implements component.Component.
func (s *Server) Name() string { return "kubelet-api" }

// Ready implements component.Component.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run listens on Address and serves until ctx ends; then it stops accepting, cancels the open
// streams and returns.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Address)
	if err != nil {
		return fmt.Errorf("kubelet API: listening on %s: %w", s.opts.Address, err)
	}
	if s.watcher != nil {
		go func() {
			if err := s.watcher.Start(ctx); err != nil {
				// The certificate loaded by NewServer is still served; only reloading is lost.
				s.log.Error(err, "Watching the kubelet API serving certificate failed", "file", s.opts.CertFile)
			}
		}()
	}
	logCtx := vklog.WithLogger(ctx, vkslog.FromSlog(slog.New(logr.ToSlogHandler(s.log))))
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return logCtx },
		ErrorLog:          slog.NewLogLogger(logr.ToSlogHandler(s.log), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.log.Info("kubelet API serving", "address", ln.Addr().String())
	close(s.ready)
	select {
	case err := <-errc:
		return fmt.Errorf("kubelet API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = srv.Close() // streams (exec, logs -f) do not end on their own
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("kubelet API: %w", err)
	}
	return nil
}
