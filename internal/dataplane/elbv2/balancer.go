package elbv2

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// resyncPeriod is how often the balancer re-reads the store on its own (draining targets whose
// delay ended go, listeners that could not listen are tried again).
const resyncPeriod = time.Second

// Options configures a Balancer.
type Options struct {
	Store *store.Store
	// Dial connects to a target from inside the local VPC (dataplane.DataPlane.Dial): for health
	// checks and for the listeners' connections.
	Dial serviceproxy.DialFunc
	// Address is where every listener listens (default 127.0.0.1).
	Address string
	// Subnet is the local VPC's; targets must be addresses of it.
	Subnet netip.Prefix
	Logger logr.Logger
	Clock  clock.Clock
	// Changed is told, without blocking, when a target the service scheduler registered for a
	// task changes health or finishes draining (the scheduler queues the task and its service).
	Changed func(cluster, taskID string)
}

// Balancer makes the ELBv2 records real: a TCP listener on Address:Port per listener, a
// serviceproxy.Pool per target group a listener forwards to (healthy targets take new
// connections; when none is healthy the unhealthy ones do, ELBv2's fail-open), a health checker
// per target of such a group, and the end of every drain. It implements component.Component.
type Balancer struct {
	store   *store.Store
	dial    serviceproxy.DialFunc
	address string
	subnet  netip.Prefix
	log     logr.Logger
	clock   clock.Clock
	changed func(cluster, taskID string)
	ready   chan struct{}

	syncMu sync.Mutex // one sync at a time

	mu        sync.Mutex
	ctx       context.Context // set by Run
	listeners map[string]*boundListener
	pools     map[string]*serviceproxy.Pool
	proxyV2   map[string]bool // target group ARN → proxy_protocol_v2.enabled
	checkers  map[string]*checker
	states    map[string]string        // "TGARN|IP:PORT" → state
	inUse     map[string][]string      // target group ARN → load balancer ARNs
	listenErr map[string]listenFailure // listener ARN → why it does not listen (tried again every resync)
	stopped   bool                     // Run ended: Sync and Listen do nothing more
}

// listenFailure is why a recorded listener does not listen: its load balancer, its port and the
// error of the last attempt to listen on it.
type listenFailure struct {
	loadBalancerARN string
	port            int32
	err             string
}

// boundListener is a listener's socket and the target group it forwards to.
type boundListener struct {
	rec     store.ListenerRecord
	ln      net.Listener
	serving bool
}

// NewBalancer returns a Balancer over the store; Run starts it.
func NewBalancer(opts Options) *Balancer {
	b := &Balancer{
		store: opts.Store, dial: opts.Dial, address: opts.Address, subnet: opts.Subnet, log: opts.Logger,
		clock: opts.Clock, changed: opts.Changed, ready: make(chan struct{}),
		listeners: map[string]*boundListener{}, pools: map[string]*serviceproxy.Pool{}, proxyV2: map[string]bool{},
		checkers: map[string]*checker{}, states: map[string]string{}, inUse: map[string][]string{},
		listenErr: map[string]listenFailure{},
	}
	if b.address == "" {
		b.address = "127.0.0.1"
	}
	if b.clock == nil {
		b.clock = clock.RealClock{}
	}
	if b.changed == nil {
		b.changed = func(string, string) {}
	}
	b.loadStates()
	return b
}

// Name implements component.Component.
func (b *Balancer) Name() string { return "load balancer" }

// Ready is closed once the listeners recorded in the store listen (or failed to, logged).
func (b *Balancer) Ready() <-chan struct{} { return b.ready }

// Run listens and checks until ctx ends; then it closes every listener and pool.
func (b *Balancer) Run(ctx context.Context) error {
	b.mu.Lock()
	b.ctx = ctx
	b.mu.Unlock()
	b.Sync()
	close(b.ready)
	t := b.clock.NewTimer(resyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.shutdown()
			return nil
		case <-t.C():
			b.Sync()
			t.Reset(resyncPeriod)
		}
	}
}

func (b *Balancer) shutdown() {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	for arn, l := range b.listeners {
		_ = l.ln.Close()
		delete(b.listeners, arn)
	}
	for arn, p := range b.pools {
		p.Close()
		delete(b.pools, arn)
	}
	for k, c := range b.checkers {
		c.stop()
		delete(b.checkers, k)
	}
}

// loadStates fills the target states from the store before anything runs, so that the scheduler
// judges tasks by their targets' last known health right after a restart.
func (b *Balancer) loadStates() {
	_ = b.store.View(func(tx *store.Tx) error {
		ts, err := tx.Targets("")
		for _, t := range ts {
			b.states[t.TargetGroupARN+"|"+t.Key()] = t.State
		}
		return err
	})
}

// inVPC reports whether ip is an address targets may have.
func (b *Balancer) inVPC(ip netip.Addr) bool { return !b.subnet.IsValid() || b.subnet.Contains(ip) }

// loadBalancersOf returns the load balancers whose listeners forward to the target group.
func (b *Balancer) loadBalancersOf(tgARN string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.inUse[tgARN]...)
}

// bind opens Address:port for a listener about to be stored (CreateListener, or ModifyListener
// with a new port): a port it cannot have is refused before anything is written.
func (b *Balancer) bind(port int32) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(b.address, itoa(port)))
}

// storeListener runs write (the store transaction that records rec) with no sync running, then,
// when ln is not nil, serves rec on ln in place of the socket rec.ARN had (closed; connections it
// accepted go on). A failed write closes ln and changes nothing.
func (b *Balancer) storeListener(rec *store.ListenerRecord, ln net.Listener, write func() error) error {
	b.syncMu.Lock()
	err := write()
	if err == nil && ln != nil {
		b.adopt(rec, ln)
	}
	b.syncMu.Unlock()
	if err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		return err
	}
	b.Sync()
	return nil
}

// adopt serves rec on ln, replacing and closing the socket rec.ARN had.
func (b *Balancer) adopt(rec *store.ListenerRecord, ln net.Listener) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		_ = ln.Close()
		return
	}
	old := b.listeners[rec.ARN]
	l := &boundListener{rec: *rec, ln: ln}
	b.listeners[rec.ARN] = l
	delete(b.listenErr, rec.ARN)
	b.serveLocked(l)
	if old != nil {
		_ = old.ln.Close()
	}
}

// serveLocked starts the accept loop of l once Run has started. Called with mu held. Each
// connection goes to the pool of the target group the listener forwards to when it is accepted
// (ModifyListener may change it).
func (b *Balancer) serveLocked(l *boundListener) {
	if l.serving || b.ctx == nil {
		return
	}
	l.serving = true
	ctx, arn, ln, port := b.ctx, l.rec.ARN, l.ln, l.rec.Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					b.log.Error(err, "accepting a connection failed; the listener stops", "port", port)
				}
				return
			}
			p, proxyV2 := b.route(arn)
			switch {
			case p == nil:
				_ = c.Close()
			case proxyV2:
				go p.HandleProxyProtocol(ctx, c)
			default:
				go p.Handle(ctx, c)
			}
		}
	}()
}

// route is the pool of the target group listener arn forwards to, and whether its connections
// start with a PROXY protocol v2 header (proxy_protocol_v2.enabled).
func (b *Balancer) route(arn string) (*serviceproxy.Pool, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.listeners[arn]
	if !ok {
		return nil, false
	}
	tg := l.rec.TargetGroupARN
	return b.pools[tg], b.proxyV2[tg]
}

// snapshot is what sync reads from the store.
type snapshot struct {
	listeners []*store.ListenerRecord
	groups    map[string]*store.TargetGroupRecord
	targets   []*store.TargetRecord
}

// Sync makes listeners, pools and health checkers match the store, and ends the drains whose delay
// is over. It is level-triggered and safe to call at any time, from any goroutine but one holding
// a store transaction.
func (b *Balancer) Sync() {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.mu.Lock()
	stopped := b.stopped
	b.mu.Unlock()
	if stopped {
		return
	}
	done, err := b.expireDrains()
	if err != nil {
		b.log.Error(err, "ending the drains of deregistered targets failed")
	}
	snap, err := b.read()
	if err != nil {
		b.log.Error(err, "reading the load balancers from the store failed")
		return
	}
	b.mu.Lock()
	b.syncListeners(snap)
	b.syncPools(snap)
	b.syncCheckers(snap)
	b.mu.Unlock()
	for _, t := range done {
		if t.TaskID != "" {
			b.changed(t.Cluster, t.TaskID)
		}
	}
}

func (b *Balancer) read() (*snapshot, error) {
	snap := &snapshot{groups: map[string]*store.TargetGroupRecord{}}
	err := b.store.View(func(tx *store.Tx) error {
		var err error
		if snap.listeners, err = tx.Listeners(); err != nil {
			return err
		}
		groups, err := tx.TargetGroups()
		if err != nil {
			return err
		}
		for _, g := range groups {
			snap.groups[g.ARN] = g
		}
		snap.targets, err = tx.Targets("")
		return err
	})
	return snap, err
}

// expireDrains deletes the draining targets whose deregistration delay is over.
func (b *Balancer) expireDrains() ([]*store.TargetRecord, error) {
	now := b.clock.Now()
	var done []*store.TargetRecord
	err := b.store.Update(func(tx *store.Tx) error {
		done = nil
		ts, err := tx.Targets("")
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.State != StateDraining || t.DrainingAt == nil {
				continue
			}
			g, err := tx.GetTargetGroup(t.TargetGroupARN)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if g != nil && drainLeft(g, t, now) > 0 {
				continue
			}
			if err := tx.DeleteTarget(t); err != nil {
				return err
			}
			done = append(done, t)
		}
		return nil
	})
	return done, err
}

// drainLeft is how long target t of g still drains at now.
func drainLeft(g *store.TargetGroupRecord, t *store.TargetRecord, now time.Time) time.Duration {
	if t.DrainingAt == nil {
		return 0
	}
	return t.DrainingAt.Add(time.Duration(g.DeregistrationDelaySeconds) * time.Second).Sub(now)
}

// syncListeners binds the recorded listeners not bound yet (after a restart; a port taken by
// someone else is logged once per error, reported by Impaired and tried again at the next sync,
// every resyncPeriod, until it binds or the listener changes) and closes the others. Called with
// mu held.
func (b *Balancer) syncListeners(snap *snapshot) {
	b.inUse = map[string][]string{}
	want := map[string]bool{}
	for _, rec := range snap.listeners {
		want[rec.ARN] = true
		b.inUse[rec.TargetGroupARN] = append(b.inUse[rec.TargetGroupARN], rec.LoadBalancerARN)
		l, ok := b.listeners[rec.ARN]
		if ok && l.rec.Port == rec.Port {
			l.rec = *rec // ModifyListener may have changed its target group
			b.serveLocked(l)
			continue
		}
		if ok {
			_ = l.ln.Close() // its port changed in the store: listen on the new one
			delete(b.listeners, rec.ARN)
		}
		ln, err := b.bind(rec.Port)
		if err != nil {
			f := listenFailure{loadBalancerARN: rec.LoadBalancerARN, port: rec.Port, err: err.Error()}
			if b.listenErr[rec.ARN] != f {
				b.log.Error(err, "a load balancer's listener cannot listen; retrying", "listener", rec.ARN, "port", rec.Port)
				b.listenErr[rec.ARN] = f
			}
			continue
		}
		delete(b.listenErr, rec.ARN)
		l = &boundListener{rec: *rec, ln: ln}
		b.listeners[rec.ARN] = l
		b.serveLocked(l)
		b.log.Info("load balancer listener listening", "listener", rec.ARN, "address", ln.Addr().String())
	}
	for arn, l := range b.listeners {
		if !want[arn] {
			_ = l.ln.Close()
			delete(b.listeners, arn)
		}
	}
	for arn := range b.listenErr {
		if !want[arn] {
			delete(b.listenErr, arn)
		}
	}
}

// Impaired says why load balancer lbARN is active_impaired: one sentence per listener of it
// that does not listen (its port taken by another process after a restart, say), naming the
// port and the error of the last attempt, sorted by port; "" when every listener listens. The
// balancer tries each such listener again every resyncPeriod (1 s), so the load balancer is
// active again, with no call, once the port is free; ModifyListener to another port also ends it.
func (b *Balancer) Impaired(lbARN string) string {
	b.mu.Lock()
	var fs []listenFailure
	for _, f := range b.listenErr {
		if f.loadBalancerARN == lbARN {
			fs = append(fs, f)
		}
	}
	b.mu.Unlock()
	slices.SortFunc(fs, func(x, y listenFailure) int { return cmp.Compare(x.port, y.port) })
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("the listener on port %d cannot listen (%s); it is tried again every %s: "+
			"stop what holds %s:%d or move the listener to a free Port with ModifyListener", f.port, f.err, resyncPeriod, b.address, f.port))
	}
	return strings.Join(out, "; ")
}

// syncPools gives each target group a listener uses a pool of its targets: healthy ones take new
// connections; with none healthy, the unhealthy ones do (ELBv2 fails open); initial and draining
// ones take none. Called with mu held.
func (b *Balancer) syncPools(snap *snapshot) {
	byGroup := map[string][]serviceproxy.Endpoint{}
	healthy := map[string]bool{}
	for _, t := range snap.targets {
		if t.State == StateHealthy {
			healthy[t.TargetGroupARN] = true
		}
	}
	b.states = map[string]string{}
	for _, t := range snap.targets {
		b.states[t.TargetGroupARN+"|"+t.Key()] = t.State
		ip, err := netip.ParseAddr(t.IP)
		if err != nil {
			continue
		}
		ok := t.State == StateHealthy || (t.State == StateUnhealthy && !healthy[t.TargetGroupARN])
		if t.State == StateDraining {
			continue
		}
		byGroup[t.TargetGroupARN] = append(byGroup[t.TargetGroupARN], serviceproxy.Endpoint{
			Address: netip.AddrPortFrom(ip, uint16(t.Port)), Ready: ok, Serving: ok,
		})
	}
	for arn := range b.inUse {
		g := snap.groups[arn]
		if g == nil {
			continue
		}
		p, ok := b.pools[arn]
		if !ok {
			p = serviceproxy.NewPool(g.Name, b.dial, 0, b.log.WithName("pool"))
			b.pools[arn] = p
		}
		p.SetDeregistrationDelay(time.Duration(g.DeregistrationDelaySeconds) * time.Second)
		b.proxyV2[arn] = g.ProxyProtocolV2
		p.Update(byGroup[arn])
	}
	for arn, p := range b.pools {
		if _, ok := b.inUse[arn]; !ok || snap.groups[arn] == nil {
			p.Close()
			delete(b.pools, arn)
			delete(b.proxyV2, arn)
		}
	}
}

func itoa(v int32) string { return strconv.Itoa(int(v)) }
