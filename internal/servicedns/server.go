package servicedns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/nodeless-dev/nodeless/internal/component"
)

// Options configures a Server.
type Options struct {
	// Domain is the cluster domain (default DefaultDomain, "cluster.local").
	Domain string
	// TTL of every answer, and the negative-caching TTL of the zone's SOA (default DefaultTTL,
	// 5 s; rounded down to whole seconds, at least 1 s).
	TTL time.Duration
	// Upstreams are the resolvers names outside the zone are forwarded to, "IP:port" (default:
	// the nameservers of the host's /etc/resolv.conf). They are asked from nodeless's own network
	// namespace, the host's.
	Upstreams []string
	// ForwardTimeout bounds one try of one upstream (default DefaultForwardTimeout, 2 s); all
	// tries of one question are bounded by 5 s, after which the client gets SERVFAIL.
	ForwardTimeout time.Duration
	// ListenPacket and Listen open the UDP and TCP sockets the server answers on (required): under
	// `nodeless up`, sockets on the VPC's gateway address, port 53, made inside the VPC's network
	// namespace.
	ListenPacket func() (net.PacketConn, error)
	Listen       func() (net.Listener, error)
	Logger       logr.Logger
	// Names is a second source of names answered authoritatively (nil: none): under `nodeless
	// up`, the local Cloud Map's private DNS namespaces.
	Names Names
}

// Server is the DNS server of the local VPC. It implements component.Component: Run opens the
// sockets, fills the View from the API server's Services and EndpointSlices (when it has a
// client), and answers until ctx ends; Ready is closed once both sockets answer and the View holds
// every Service and EndpointSlice.
type Server struct {
	opts    Options
	client  kubernetes.Interface
	view    *View
	handler *handler
	ready   chan struct{}
}

var _ component.Component = (*Server)(nil)

// New returns a Server answering from the API server client talks to, or, with a nil client,
// from a View its caller fills (tests). Nothing runs before Run.
func New(client kubernetes.Interface, opts Options) (*Server, error) {
	if opts.ListenPacket == nil || opts.Listen == nil {
		return nil, errors.New("service DNS: Options.ListenPacket and Options.Listen are required")
	}
	if opts.Domain == "" {
		opts.Domain = DefaultDomain
	}
	if _, ok := dns.IsDomainName(opts.Domain); !ok {
		return nil, fmt.Errorf("service DNS: the cluster domain %q is not a domain name", opts.Domain)
	}
	if opts.TTL < time.Second {
		opts.TTL = DefaultTTL
	}
	if opts.ForwardTimeout <= 0 {
		opts.ForwardTimeout = DefaultForwardTimeout
	}
	if len(opts.Upstreams) == 0 {
		opts.Upstreams = hostUpstreams("/etc/resolv.conf")
	}
	view := NewView()
	return &Server{
		opts: opts, client: client, view: view, ready: make(chan struct{}),
		handler: &handler{
			zone:  zone{domain: dns.CanonicalName(opts.Domain), ttl: uint32(opts.TTL / time.Second), view: view},
			names: opts.Names,
			fwd:   &forwarder{upstreams: opts.Upstreams, timeout: opts.ForwardTimeout},
			log:   opts.Logger,
		},
	}, nil
}

// Name implements component.Component.
func (s *Server) Name() string { return "service-dns" }

// Ready implements component.Component.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// View is what the names are answered from.
func (s *Server) View() *View { return s.view }

// Withdraw stops answering a Pod's address at once (View.Withdraw); the Pod controller calls it
// before it stops the Pod's task.
func (s *Server) Withdraw(uid types.UID, ip string) { s.view.Withdraw(uid, ip) }

// Drained reports whether no answer naming the Pod's address can still be cached: it was
// withdrawn at least one TTL ago, or no name answered it (View.Drained). The Pod controller
// waits for it before it stops the Pod's task.
func (s *Server) Drained(pod *corev1.Pod) bool { return s.view.Drained(pod.UID, s.opts.TTL) }

// Run implements component.Component.
func (s *Server) Run(ctx context.Context) error {
	pc, err := s.opts.ListenPacket()
	if err != nil {
		return fmt.Errorf("service DNS: opening the UDP socket: %w", err)
	}
	l, err := s.opts.Listen()
	if err != nil {
		_ = pc.Close()
		return fmt.Errorf("service DNS: opening the TCP socket: %w", err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: s.handler}
	tcp := &dns.Server{Listener: l, Handler: s.handler, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	errc := make(chan error, 2)
	go func() { errc <- udp.ActivateAndServe() }()
	go func() { errc <- tcp.ActivateAndServe() }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = udp.ShutdownContext(sctx)
		_ = tcp.ShutdownContext(sctx)
	}()
	for range 2 {
		select {
		case <-started:
		case err := <-errc:
			return fmt.Errorf("service DNS: %w", err)
		case <-ctx.Done():
			return nil
		}
	}
	if s.client != nil && !s.watch(ctx) {
		return nil
	}
	close(s.ready)
	s.opts.Logger.Info("service DNS answering", "udp", pc.LocalAddr().String(), "tcp", l.Addr().String(),
		"domain", s.opts.Domain, "upstreams", strings.Join(s.opts.Upstreams, ","))
	select {
	case err := <-errc:
		return fmt.Errorf("service DNS: %w", err)
	case <-ctx.Done():
		return nil
	}
}

// watch starts the informers of Services and EndpointSlices that fill the View and waits until
// they hold everything; false when ctx ended first.
func (s *Server) watch(ctx context.Context) bool {
	f := informers.NewSharedInformerFactory(s.client, 0)
	svcs := f.Core().V1().Services().Informer()
	eps := f.Discovery().V1().EndpointSlices().Informer()
	for _, inf := range []cache.SharedIndexInformer{svcs, eps} {
		_ = inf.SetTransform(stripForCache)
	}
	_, _ = svcs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { s.setService(o) },
		UpdateFunc: func(_, o any) { s.setService(o) },
		DeleteFunc: func(o any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(o); err == nil {
				ns, name, _ := cache.SplitMetaNamespaceKey(key)
				s.view.DeleteService(ns, name)
			}
		},
	})
	_, _ = eps.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { s.setSlice(o) },
		UpdateFunc: func(_, o any) { s.setSlice(o) },
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if es, ok := o.(*discoveryv1.EndpointSlice); ok {
				s.view.DeleteSlice(es)
			}
		},
	})
	f.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		f.Shutdown()
	}()
	return cache.WaitForCacheSync(ctx.Done(), svcs.HasSynced, eps.HasSynced)
}

func (s *Server) setService(o any) {
	if svc, ok := o.(*corev1.Service); ok {
		s.view.SetService(svc)
	}
}

func (s *Server) setSlice(o any) {
	if es, ok := o.(*discoveryv1.EndpointSlice); ok {
		s.view.SetSlice(es)
	}
}

// stripForCache drops what the names never read from the informers' copies (managed fields,
// annotations such as last-applied-configuration), to keep the cache small.
func stripForCache(o any) (any, error) {
	switch t := o.(type) {
	case *corev1.Service:
		t.ManagedFields, t.Annotations = nil, nil
	case *discoveryv1.EndpointSlice:
		t.ManagedFields, t.Annotations = nil, nil
	}
	return o, nil
}
