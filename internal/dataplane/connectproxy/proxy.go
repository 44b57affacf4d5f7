package connectproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/nodeless-dev/nodeless/internal/component"
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// resyncPeriod is how often the proxy re-reads the aliases from the store: listeners of aliases
// made or given up open or close within it, and a listen that failed is tried again.
const resyncPeriod = time.Second

// VPC is what the proxy needs of the local VPC (*vpc.VPC).
type VPC interface {
	// ServeAddresses makes every address of prefix local to the VPC's namespace.
	ServeAddresses(ctx context.Context, prefix netip.Prefix) error
	// StopServingAddresses undoes ServeAddresses for a range served before.
	StopServingAddresses(ctx context.Context, prefix netip.Prefix) error
	// ListenInVPC opens a TCP listener on "IP:port" from a socket inside the VPC's namespace.
	ListenInVPC(ctx context.Context, network, address string) (net.Listener, error)
}

// Options configure a Proxy. Store, VPC, Dial and Range are required.
type Options struct {
	Store *store.Store
	VPC   VPC
	// Dial connects to a task's address from inside the VPC (dataplane.DataPlane.Dial).
	Dial serviceproxy.DialFunc
	// Range is the alias range the store's VIPs come from (cloudmap.AdoptAliasRange).
	Range netip.Prefix
	// Previous is the range adopted before, if it differs: Run stops serving it.
	Previous netip.Prefix
	// DeregistrationDelay is how long a task that leaves an alias keeps its open connections
	// (default serviceproxy.DefaultDeregistrationDelay).
	DeregistrationDelay time.Duration
	Logger              logr.Logger
}

// Proxy keeps one listener and one serviceproxy.Pool per port of every client alias. It
// implements component.Component.
type Proxy struct {
	opts  Options
	log   logr.Logger
	ready chan struct{}

	syncMu sync.Mutex // one Sync at a time

	mu        sync.Mutex
	ctx       context.Context // set by Run; bounds the dials
	listeners map[netip.AddrPort]*aliasListener
	listenErr map[netip.AddrPort]string // last listen error logged per address
	stopped   bool
}

var _ component.Component = (*Proxy)(nil)

// aliasListener is one port of an alias: its listener and the pool of its Cloud Map service's
// healthy instances.
type aliasListener struct {
	name      string
	serviceID string
	ln        net.Listener
	pool      *serviceproxy.Pool

	mu sync.Mutex
	// readAt is 1 + the store's commit count read before the pool's targets were last read (0:
	// never): the targets are current while the store has not committed since.
	readAt uint64
}

// New returns a Proxy; nothing listens before Run.
func New(opts Options) (*Proxy, error) {
	if opts.Store == nil || opts.VPC == nil || opts.Dial == nil || !opts.Range.IsValid() {
		return nil, errors.New("service connect proxy: Options.Store, VPC, Dial and Range are required")
	}
	if opts.DeregistrationDelay <= 0 {
		opts.DeregistrationDelay = serviceproxy.DefaultDeregistrationDelay
	}
	return &Proxy{
		opts: opts, log: opts.Logger, ready: make(chan struct{}),
		listeners: map[netip.AddrPort]*aliasListener{}, listenErr: map[netip.AddrPort]string{},
	}, nil
}

// Name implements component.Component.
func (p *Proxy) Name() string { return "service connect proxy" }

// Ready is closed once the alias range is served and the aliases recorded in the store listen
// (or failed to, logged).
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// Run serves the alias range in the VPC's namespace and keeps the listeners in step with the
// store until ctx ends; then it closes every listener and connection. It fails when the range
// cannot be served.
func (p *Proxy) Run(ctx context.Context) error {
	if err := p.opts.VPC.ServeAddresses(ctx, p.opts.Range); err != nil {
		return fmt.Errorf("service connect proxy: %w", err)
	}
	if prev := p.opts.Previous; prev.IsValid() && prev != p.opts.Range {
		if err := p.opts.VPC.StopServingAddresses(ctx, prev); err != nil {
			p.log.Error(err, "the previous Service Connect range stays local to the VPC's namespace", "range", prev.String())
		}
	}
	p.mu.Lock()
	p.ctx = ctx
	p.mu.Unlock()
	p.Sync()
	close(p.ready)
	p.log.Info("service connect proxy serving", "range", p.opts.Range.String())
	t := time.NewTicker(resyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.shutdown()
			return nil
		case <-t.C:
			p.Sync()
		}
	}
}

// Sync opens the listeners of the stored aliases' ports that are not open (a port taken by
// something else is logged once per error and tried again at the next Sync), closes those of
// ports no alias has any more (their connections drain), and updates every pool's targets. It is
// level-triggered; Run calls it every resyncPeriod.
func (p *Proxy) Sync() {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	commits := p.opts.Store.Commits()
	var want []cloudmap.AliasListener
	targets := map[string][]netip.AddrPort{}
	err := p.opts.Store.View(func(tx *store.Tx) error {
		var err error
		if want, err = cloudmap.AliasListeners(tx); err != nil {
			return err
		}
		for _, w := range want {
			if _, ok := targets[w.ServiceID]; !ok {
				if targets[w.ServiceID], err = cloudmap.AliasTargets(tx, w.ServiceID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		p.log.Error(err, "reading the Service Connect aliases from the store failed")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.ctx == nil {
		return
	}
	wanted := map[netip.AddrPort]bool{}
	for _, w := range want {
		wanted[w.Address] = true
		l := p.listeners[w.Address]
		if l != nil && l.serviceID != w.ServiceID { // the port is another Cloud Map service's now
			p.closeLocked(w.Address, l)
			l = nil
		}
		if l == nil {
			if l = p.openLocked(w); l == nil {
				continue
			}
		}
		l.update(targets[w.ServiceID], commits)
	}
	for addr, l := range p.listeners {
		if !wanted[addr] {
			p.closeLocked(addr, l)
		}
	}
	for addr := range p.listenErr {
		if !wanted[addr] {
			delete(p.listenErr, addr)
		}
	}
}

// openLocked opens the listener of w and starts serving it; nil when it cannot listen. Called
// with mu held.
func (p *Proxy) openLocked(w cloudmap.AliasListener) *aliasListener {
	ln, err := p.opts.VPC.ListenInVPC(p.ctx, "tcp4", w.Address.String())
	if err != nil {
		if p.listenErr[w.Address] != err.Error() {
			p.log.Error(err, "a Service Connect alias cannot listen; retrying", "alias", w.Name, "address", w.Address.String())
			p.listenErr[w.Address] = err.Error()
		}
		return nil
	}
	delete(p.listenErr, w.Address)
	l := &aliasListener{
		name: w.Name, serviceID: w.ServiceID, ln: ln,
		pool: serviceproxy.NewPool(fmt.Sprintf("%s:%d", w.Name, w.Address.Port()), p.opts.Dial, p.opts.DeregistrationDelay, p.log.WithName("pool")),
	}
	p.listeners[w.Address] = l
	go p.serve(p.ctx, l)
	p.log.Info("service connect alias listening", "alias", w.Name, "address", w.Address.String())
	return l
}

// closeLocked closes a listener; its open connections drain for the delay. Called with mu held.
func (p *Proxy) closeLocked(addr netip.AddrPort, l *aliasListener) {
	_ = l.ln.Close()
	l.pool.Close()
	delete(p.listeners, addr)
	p.log.Info("service connect alias closed", "alias", l.name, "address", addr.String())
}

// serve accepts on l until it is closed and hands every connection to l's pool, with the
// registrations as the store holds them at the moment (refresh).
func (p *Proxy) serve(ctx context.Context, l *aliasListener) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Error(err, "accepting a connection failed", "alias", l.name)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		p.refresh(l)
		go l.pool.Handle(ctx, c)
	}
}

// refresh re-reads l's targets when the store committed anything since they were read: a task
// deregistered in a committed transaction (before its containers are signalled) takes no new
// connection.
func (p *Proxy) refresh(l *aliasListener) {
	commits := p.opts.Store.Commits()
	l.mu.Lock()
	current := l.readAt == commits+1
	l.mu.Unlock()
	if current {
		return
	}
	var ts []netip.AddrPort
	err := p.opts.Store.View(func(tx *store.Tx) error {
		var err error
		ts, err = cloudmap.AliasTargets(tx, l.serviceID)
		return err
	})
	if err != nil {
		p.log.Error(err, "reading a Service Connect alias's targets failed", "alias", l.name)
		return
	}
	l.update(ts, commits)
}

// update makes targets (read after the store had committed commits transactions) the pool's
// endpoints, unless targets read later were applied already.
func (l *aliasListener) update(targets []netip.AddrPort, commits uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if commits+1 < l.readAt {
		return
	}
	eps := make([]serviceproxy.Endpoint, 0, len(targets))
	for _, t := range targets {
		eps = append(eps, serviceproxy.Endpoint{Address: t, Ready: true, Serving: true})
	}
	l.pool.Update(eps)
	l.readAt = commits + 1
}

// Listening returns the addresses the proxy listens on now, sorted (for tests and status).
func (p *Proxy) Listening() []netip.AddrPort {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]netip.AddrPort, 0, len(p.listeners))
	for a := range p.listeners {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.AddrPort.Compare)
	return out
}

// Pool returns the pool of the listener on addr, or nil (for tests).
func (p *Proxy) Pool(addr netip.AddrPort) *serviceproxy.Pool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.listeners[addr]; l != nil {
		return l.pool
	}
	return nil
}

// shutdown closes every listener and every connection (the data plane is stopping).
func (p *Proxy) shutdown() {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for addr, l := range p.listeners {
		_ = l.ln.Close()
		l.pool.SetDeregistrationDelay(0)
		l.pool.Close()
		delete(p.listeners, addr)
	}
}
