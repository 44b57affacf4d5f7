package serviceproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/nodeless-dev/nodeless/internal/component"
)

// Defaults of Options.
const (
	// DefaultDeregistrationDelay is how long an endpoint that stops taking new connections keeps
	// its open ones: Kubernetes' default terminationGracePeriodSeconds, so that a Pod being
	// deleted is never cut off by the load balancer before its own grace period would end it.
	// (ELBv2's target group default, deregistration_delay.timeout_seconds, is 300 s.)
	DefaultDeregistrationDelay = 30 * time.Second
	// DefaultAddress is where LoadBalancer and NodePort Services listen.
	DefaultAddress = "127.0.0.1"
	// LoadBalancerClass is the spec.loadBalancerClass this load balancer serves, besides none.
	LoadBalancerClass = "nodeless.dev/local"
	// workers is how many Services are synced at once.
	workers = 2
)

// ListenFunc opens a TCP listener on "IP:port" (for ClusterIPs: a socket inside the VPC,
// vpc.VPC.ListenInVPC).
type ListenFunc func(ctx context.Context, network, address string) (net.Listener, error)

// ListenPacketFunc opens a UDP socket on "IP:port" (for ClusterIPs: vpc.VPC.ListenPacketInVPC).
type ListenPacketFunc func(ctx context.Context, network, address string) (net.PacketConn, error)

// Options configure a Proxy. Client and Dial are required.
type Options struct {
	Client kubernetes.Interface
	// Dial connects to an endpoint (dataplane.DataPlane.Dial).
	Dial DialFunc
	// ListenClusterIP opens the listener of a ClusterIP:port where tasks reach it; nil: ClusterIPs
	// carry no traffic (only LoadBalancer and NodePort listeners are opened).
	ListenClusterIP ListenFunc
	// ListenPacketClusterIP is ListenClusterIP for UDP ports; nil: UDP ports of ClusterIPs carry
	// no traffic.
	ListenPacketClusterIP ListenPacketFunc
	// Address is where LoadBalancer Services (at their port) and NodePort Services (at their
	// nodePort) listen, and the IP written to status.loadBalancer.ingress (DefaultAddress).
	Address string
	// DeregistrationDelay: DefaultDeregistrationDelay; a Service overrides it with the AWS Load
	// Balancer Controller's annotation (see deregistrationDelay).
	DeregistrationDelay time.Duration
	// Setup, when set, runs once at the start of Run, before any listener opens (for the local
	// data plane: make the service CIDR local to the VPC, vpc.VPC.ServeAddresses); its error ends
	// Run.
	Setup func(ctx context.Context) error
	// APIServer, when valid, is the endpoint of the default/kubernetes Service while it has no
	// EndpointSlice of its own (`nodeless up` runs the API server with
	// --endpoint-reconciler-type=none, so nothing writes one): tasks then reach the API server at
	// the Service's ClusterIP, as in-cluster clients expect (KUBERNETES_SERVICE_HOST).
	APIServer netip.AddrPort
	// ResyncPeriod of the informers (0: none).
	ResyncPeriod time.Duration
	Logger       logr.Logger
}

// Proxy is the load balancer of every Service: it implements component.Component.
type Proxy struct {
	opts  Options
	log   logr.Logger
	ready chan struct{}
	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]

	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	synced   []cache.InformerSynced
	factory  informers.SharedInformerFactory

	// runCtx bounds the dials of every connection; set by Run before anything is served.
	runCtx context.Context

	events   record.EventBroadcaster
	recorder record.EventRecorder

	mu    sync.Mutex
	state map[types.NamespacedName]*serviceState
	// withdrawn are the Pods the Pod controller is stopping (Withdraw), each for withdrawnFor
	// from its first Withdraw.
	withdrawn *utilcache.Expiring
}

// withdrawnFor is how long a withdrawn Pod's UID is remembered: longer than any grace period
// (ECS's stopTimeout is at most 120 s) and the time its EndpointSlice takes to drop it.
const withdrawnFor = 10 * time.Minute

var _ component.Component = (*Proxy)(nil)

// serviceState is what the proxy runs for one Service.
type serviceState struct {
	pools     map[portKey]*Pool
	listeners map[listenerKey]*listener
	// proxyProtocol: the LoadBalancer listeners send each endpoint a PROXY protocol v2 header
	// (ParseProxyProtocol); read at every accepted connection, so a change applies to new ones.
	proxyProtocol atomic.Bool
}

// portNumber is a Service port's number and protocol (as status.loadBalancer reports ports).
type portNumber struct {
	port     int32
	protocol corev1.Protocol
}

// portKey names one port of a Service.
type portKey struct {
	name     string
	protocol corev1.Protocol
}

// listenerKind says why a listener exists.
type listenerKind string

const (
	kindClusterIP    listenerKind = "ClusterIP"
	kindLoadBalancer listenerKind = "LoadBalancer"
	kindNodePort     listenerKind = "NodePort"
)

// reasonListenFailed is the reason of the Warning Event of a Service whose listener could not open.
const reasonListenFailed = "ListenFailed"

// listenerKey is one listener: its kind, its address and the Service port it serves.
type listenerKey struct {
	kind listenerKind
	addr netip.AddrPort
	port portKey
}

// listener is a TCP listener or a UDP socket.
type listener struct {
	l  net.Listener
	pc net.PacketConn
}

func (l *listener) close() {
	if l.l != nil {
		_ = l.l.Close()
	}
	if l.pc != nil {
		_ = l.pc.Close()
	}
}

// New returns a Proxy; nothing runs before Run.
func New(opts Options) (*Proxy, error) {
	if opts.Client == nil || opts.Dial == nil {
		return nil, errors.New("service proxy: Options.Client and Options.Dial are required")
	}
	if opts.Address == "" {
		opts.Address = DefaultAddress
	}
	if _, err := netip.ParseAddr(opts.Address); err != nil {
		return nil, fmt.Errorf("service proxy: load balancer address %q is not an IP address (e.g. 127.0.0.1)", opts.Address)
	}
	if opts.DeregistrationDelay <= 0 {
		opts.DeregistrationDelay = DefaultDeregistrationDelay
	}
	p := &Proxy{
		opts: opts, log: opts.Logger, ready: make(chan struct{}),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName](),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "serviceproxy"}),
		state:     map[types.NamespacedName]*serviceState{},
		withdrawn: utilcache.NewExpiring(),
		runCtx:    context.Background(),
	}
	p.events = record.NewBroadcaster()
	p.recorder = p.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "nodeless-serviceproxy"})
	p.factory = informers.NewSharedInformerFactory(opts.Client, opts.ResyncPeriod)
	svcInf := p.factory.Core().V1().Services()
	sliceInf := p.factory.Discovery().V1().EndpointSlices()
	p.services, p.slices = svcInf.Lister(), sliceInf.Lister()
	p.synced = []cache.InformerSynced{svcInf.Informer().HasSynced, sliceInf.Informer().HasSynced}
	if _, err := svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: p.enqueueObject, UpdateFunc: func(_, o any) { p.enqueueObject(o) }, DeleteFunc: p.enqueueObject,
	}); err != nil {
		return nil, fmt.Errorf("service proxy: watching Services: %w", err)
	}
	if _, err := sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: p.enqueueSlice, UpdateFunc: func(_, o any) { p.enqueueSlice(o) }, DeleteFunc: p.enqueueSlice,
	}); err != nil {
		return nil, fmt.Errorf("service proxy: watching EndpointSlices: %w", err)
	}
	return p, nil
}

// Name implements component.Component.
func (p *Proxy) Name() string { return "serviceproxy" }

// Ready is closed once every Service known at start has its listeners.
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// Run watches Services and EndpointSlices and keeps the listeners and pools in step until ctx
// ends; then it closes every listener and connection.
func (p *Proxy) Run(ctx context.Context) error {
	p.runCtx = ctx
	p.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: p.opts.Client.CoreV1().Events("")})
	defer p.events.Shutdown()
	if p.opts.Setup != nil {
		if err := p.opts.Setup(ctx); err != nil {
			return fmt.Errorf("service proxy: %w", err)
		}
	}
	p.factory.Start(ctx.Done())
	defer p.factory.Shutdown()
	defer p.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		return nil
	}
	svcs, err := p.services.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("service proxy: listing Services: %w", err)
	}
	for _, s := range svcs {
		key := types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
		if err := p.sync(ctx, key); err != nil {
			p.queue.AddRateLimited(key)
		}
	}
	close(p.ready)
	p.log.Info("service load balancer serving", "address", p.opts.Address, "clusterIPs", p.opts.ListenClusterIP != nil)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for p.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	p.queue.ShutDown()
	wg.Wait()
	p.shutdown()
	return nil
}

func (p *Proxy) processNext(ctx context.Context) bool {
	key, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(key)
	if err := p.sync(ctx, key); err != nil {
		p.log.Info("syncing Service failed; retrying", "service", key.String(), "error", err.Error())
		p.queue.AddRateLimited(key)
		return true
	}
	p.queue.Forget(key)
	return true
}

func (p *Proxy) enqueueObject(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err == nil {
		p.queue.Add(types.NamespacedName{Namespace: ns, Name: name})
	}
}

func (p *Proxy) enqueueSlice(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
		p.queue.Add(types.NamespacedName{Namespace: s.Namespace, Name: svc})
	}
}

// Drained reports whether no load balancer gives new connections to the Pod any more (it has no
// endpoint, or none that is eligible: see Pool). The Pod controller asks it before it stops the
// task of a Pod being deleted, so that the task gets SIGTERM only once it gets no new traffic.
// It never blocks.
func (p *Proxy) Drained(pod *corev1.Pod) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.state {
		for _, pool := range st.pools {
			if pool.Takes(pod.UID) {
				return false
			}
		}
	}
	return true
}

// Withdraw implements pod.Withdrawer: the Pod controller calls it before it stops the task of the
// Pod uid, and from then on no load balancer gives that Pod's endpoints new connections, whatever
// its EndpointSlices still say (as if they said terminating). It never blocks.
func (p *Proxy) Withdraw(uid types.UID, _ string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.withdrawn.Get(uid); !ok {
		p.withdrawn.Set(uid, struct{}{}, withdrawnFor)
	}
	for _, st := range p.state {
		for _, pool := range st.pools {
			pool.Withdraw(uid)
		}
	}
}

// Pool returns the pool of a Service's port (by the port's name), or nil (for tests).
func (p *Proxy) Pool(svc types.NamespacedName, port string) *Pool {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state[svc]
	if st == nil {
		return nil
	}
	for k, pool := range st.pools {
		if k.name == port {
			return pool
		}
	}
	return nil
}

// sync brings one Service's pools, listeners and load balancer status in line with the Service
// and its EndpointSlices.
func (p *Proxy) sync(ctx context.Context, key types.NamespacedName) error {
	svc, err := p.services.Services(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		p.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: key.Name})
	slices, err := p.slices.EndpointSlices(key.Namespace).List(sel)
	if err != nil {
		return err
	}
	portErrors := p.apply(ctx, key, svc, slices)
	if err := p.writeStatus(ctx, svc, portErrors); err != nil {
		return err
	}
	for _, e := range portErrors {
		if e != "" && e != InvalidAnnotation { // an annotation to fix is not retried: its change syncs again
			return fmt.Errorf("listening for Service %s: %s", key, e)
		}
	}
	return nil
}

// apply updates the pools and listeners of svc; it returns the listen errors of the load
// balancer's ports.
func (p *Proxy) apply(ctx context.Context, key types.NamespacedName, svc *corev1.Service, slices []*discoveryv1.EndpointSlice) map[portNumber]string {
	p.mu.Lock()
	st := p.state[key]
	if st == nil {
		st = &serviceState{pools: map[portKey]*Pool{}, listeners: map[listenerKey]*listener{}}
		p.state[key] = st
	}
	p.mu.Unlock()
	delay, delayErr := p.deregistrationDelay(svc)
	ports := servedPorts(svc)
	pp, ppErr := ParseProxyProtocol(svc.Annotations)
	st.proxyProtocol.Store(pp)
	// Annotations the load balancer cannot honour are refused by name: a LoadBalancer's listeners
	// stay closed (applyListeners); any other Service, which keeps serving, gets the Warning Event
	// (its drains use the default delay meanwhile).
	invalid := joinErrors(ppErr, delayErr)
	if delayErr != nil && !isLoadBalancer(svc) {
		p.recorder.Eventf(svc, corev1.EventTypeWarning, ReasonInvalidAnnotation, "using the default deregistration delay %s: %v", p.opts.DeregistrationDelay, delayErr)
	}
	p.mu.Lock()
	for _, sp := range ports {
		k := portKey{name: sp.Name, protocol: sp.Protocol}
		pool := st.pools[k]
		if pool == nil {
			pool = NewPool(fmt.Sprintf("%s:%s", key, portName(sp)), p.opts.Dial, delay, p.log)
			st.pools[k] = pool
		}
		pool.SetDeregistrationDelay(delay)
		pool.Update(p.endpoints(key, sp, slices))
	}
	for k, pool := range st.pools {
		if !hasPort(ports, k) {
			pool.Close()
			delete(st.pools, k)
		}
	}
	p.mu.Unlock()
	return p.applyListeners(ctx, st, svc, ports, invalid)
}

// joinErrors joins the errors that are not nil into one, "; "-separated (an Event's message is one
// line); nil when all are nil.
func joinErrors(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// endpoints are the port's endpoints from the slices; for the kubernetes Service without any, the
// API server (Options.APIServer).
func (p *Proxy) endpoints(key types.NamespacedName, sp corev1.ServicePort, slices []*discoveryv1.EndpointSlice) []Endpoint {
	eps := EndpointsFor(sp, slices)
	for i := range eps {
		if _, ok := p.withdrawn.Get(eps[i].UID); ok && eps[i].UID != "" {
			eps[i].Ready, eps[i].Terminating = false, true
		}
	}
	if len(slices) == 0 && key == kubernetesService && p.opts.APIServer.IsValid() && sp.Name == "https" {
		eps = []Endpoint{{Address: p.opts.APIServer, Ready: true, Serving: true}}
	}
	return eps
}

// kubernetesService is the Service of the API server.
var kubernetesService = types.NamespacedName{Namespace: metav1.NamespaceDefault, Name: "kubernetes"}

// applyListeners opens the listeners svc wants and closes the others (their connections go on).
// With invalid (an annotation of the LoadBalancer it cannot honour) the LoadBalancer listeners stay
// closed, their ports say InvalidAnnotation and a Warning Event says what to change.
func (p *Proxy) applyListeners(ctx context.Context, st *serviceState, svc *corev1.Service, ports []corev1.ServicePort, invalid error) map[portNumber]string {
	want := p.wantListeners(svc, ports)
	errs := map[portNumber]string{}
	if invalid != nil && isLoadBalancer(svc) {
		for k, sp := range want {
			if k.kind == kindLoadBalancer {
				delete(want, k)
				errs[portNumber{sp.Port, sp.Protocol}] = InvalidAnnotation
			}
		}
		p.recorder.Eventf(svc, corev1.EventTypeWarning, ReasonInvalidAnnotation, "not listening on %s for this LoadBalancer: %v", p.opts.Address, invalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, l := range st.listeners {
		if _, ok := want[k]; !ok {
			l.close()
			delete(st.listeners, k)
		}
	}
	for k, sp := range want {
		if _, ok := st.listeners[k]; ok {
			continue
		}
		l, err := p.listen(ctx, k)
		if err != nil {
			p.log.Info("opening a Service listener failed", "service", svc.Namespace+"/"+svc.Name, "kind", string(k.kind), "protocol", string(k.port.protocol), "address", k.addr.String(), "error", err.Error())
			if k.kind == kindLoadBalancer {
				errs[portNumber{sp.Port, sp.Protocol}] = listenError(err)
			}
			p.recorder.Eventf(svc, corev1.EventTypeWarning, reasonListenFailed, "cannot listen on %s %s for the %s of port %s: %v; free the port or change the Service's port",
				strings.ToLower(string(k.port.protocol)), k.addr, k.kind, portName(sp), err)
			continue
		}
		st.listeners[k] = l
		pool := st.pools[k.port]
		var header *atomic.Bool
		if k.kind == kindLoadBalancer {
			header = &st.proxyProtocol
		}
		if l.pc != nil {
			go pool.ServeUDP(p.runCtx, l.pc)
		} else {
			go p.serve(l.l, pool, header)
		}
	}
	return errs
}

func (p *Proxy) listen(ctx context.Context, k listenerKey) (*listener, error) {
	var l listener
	var err error
	switch {
	case k.port.protocol == corev1.ProtocolUDP && k.kind == kindClusterIP:
		l.pc, err = p.opts.ListenPacketClusterIP(ctx, "udp4", k.addr.String())
	case k.port.protocol == corev1.ProtocolUDP:
		l.pc, err = (&net.ListenConfig{}).ListenPacket(ctx, "udp4", k.addr.String())
	case k.kind == kindClusterIP:
		l.l, err = p.opts.ListenClusterIP(ctx, "tcp4", k.addr.String())
	default:
		l.l, err = (&net.ListenConfig{}).Listen(ctx, "tcp4", k.addr.String())
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// serve accepts on l until it is closed and hands every connection to pool; with a PROXY
// protocol v2 header first while header (the Service's setting, nil for listeners that never send
// one) is true.
func (p *Proxy) serve(l net.Listener, pool *Pool, header *atomic.Bool) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Info("accepting a connection failed", "address", l.Addr().String(), "error", err.Error())
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if header != nil && header.Load() {
			go pool.HandleProxyProtocol(p.runCtx, c)
			continue
		}
		go pool.Handle(p.runCtx, c)
	}
}

// forget closes everything of a Service that is gone: its listeners, and its pools (open
// connections drain for the delay).
func (p *Proxy) forget(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state[key]
	if st == nil {
		return
	}
	for _, l := range st.listeners {
		l.close()
	}
	for _, pool := range st.pools {
		pool.Close()
	}
	delete(p.state, key)
}

// shutdown closes every listener and every connection (nodeless is stopping).
func (p *Proxy) shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, st := range p.state {
		for _, l := range st.listeners {
			l.close()
		}
		for _, pool := range st.pools {
			pool.SetDeregistrationDelay(0)
			pool.Close()
		}
		delete(p.state, key)
	}
}
