package serviceproxy

import (
	"context"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
)

// DialFunc connects to an endpoint ("IP:port") over network "tcp" or "udp" (for the local data
// plane: dataplane.DataPlane.Dial, a socket inside the VPC).
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Endpoint is one address of a Service port as an EndpointSlice gives it, with its conditions
// (discovery.k8s.io/v1 EndpointConditions with their defaults applied: Ready unset is true,
// Serving unset is Ready, Terminating unset is false).
type Endpoint struct {
	Address     netip.AddrPort
	Ready       bool
	Serving     bool
	Terminating bool
	// UID is the Pod's UID (the endpoint's targetRef), "" for an endpoint of no Pod.
	UID types.UID
}

// maxDialAttempts bounds how many endpoints one client connection tries before it is closed:
// an endpoint whose task just stopped refuses the dial, and the next one serves the client.
const maxDialAttempts = 3

// Pool balances the TCP connections (Handle) or UDP sessions (ServeUDP) of one Service port over
// its endpoints, and drains them.
//
// Rules (the ones kube-proxy applies to a Service's endpoints, with the deregistration delay of an
// ECS / ELBv2 target group):
//   - a new connection goes to the next endpoint, round robin, among the Ready ones; when none is
//     Ready, among those Serving and Terminating (a Pod being deleted that still serves:
//     kube-proxy's fallback, so that the last replica finishes its work); when none of those
//     either, the connection is closed at once;
//   - a dial that fails moves on to the next endpoint (up to maxDialAttempts in all);
//   - an endpoint that stops taking new connections (not Ready, Terminating, or gone from the
//     Service) keeps its open connections for the deregistration delay, then they are closed; if
//     it takes new connections again within the delay, nothing is closed;
//   - nothing else ever closes a connection: the client or the endpoint ends it.
//
// A Pool is safe for concurrent use.
type Pool struct {
	name string
	dial DialFunc
	log  logr.Logger

	mu       sync.Mutex
	delay    time.Duration
	members  map[netip.AddrPort]*member
	eligible []*member // in address order
	next     int
	closed   bool
}

// member is one endpoint of the pool and the connections open to it.
type member struct {
	ep    Endpoint
	conns map[io.Closer]struct{}
	// draining is set while the endpoint takes no new connections and still has some open; it
	// closes them when the delay ends.
	draining *time.Timer
	// drainID tells the current drain's timer from a stopped one's.
	drainID uint64
	// gone: the endpoint left the Service; the member goes once its last connection ended.
	gone bool
}

// NewPool returns an empty pool named name (for logs: "namespace/service:port") whose endpoints
// keep their connections for delay after they stop taking new ones.
func NewPool(name string, dial DialFunc, delay time.Duration, log logr.Logger) *Pool {
	return &Pool{name: name, dial: dial, delay: delay, log: log, members: map[netip.AddrPort]*member{}}
}

// SetDeregistrationDelay changes the delay for endpoints that stop taking connections from now on.
func (p *Pool) SetDeregistrationDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// Update replaces the pool's endpoints (the union of the Service's EndpointSlices for this port).
// Endpoints are keyed by address; a repeated address keeps its first entry.
func (p *Pool) Update(eps []Endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := make(map[netip.AddrPort]bool, len(eps))
	for _, ep := range eps {
		if seen[ep.Address] {
			continue
		}
		seen[ep.Address] = true
		if m, ok := p.members[ep.Address]; ok {
			m.ep, m.gone = ep, false
			continue
		}
		p.members[ep.Address] = &member{ep: ep, conns: map[io.Closer]struct{}{}}
	}
	for addr, m := range p.members {
		if !seen[addr] {
			m.gone = true
		}
	}
	p.recompute()
}

// Close removes every endpoint, as Update(nil): open connections drain for the delay. New
// connections given to Handle afterwards are closed.
func (p *Pool) Close() {
	p.Update(nil)
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// recompute derives the eligible endpoints and starts or stops the drains. Called with mu held.
func (p *Pool) recompute() {
	var ready, fallback []*member
	for _, m := range p.members {
		switch {
		case m.gone:
		case m.ep.Ready:
			ready = append(ready, m)
		case m.ep.Serving && m.ep.Terminating:
			fallback = append(fallback, m)
		}
	}
	eligible := ready
	if len(eligible) == 0 {
		eligible = fallback
	}
	slices.SortFunc(eligible, func(a, b *member) int { return a.ep.Address.Compare(b.ep.Address) })
	p.eligible = eligible
	in := make(map[*member]bool, len(eligible))
	for _, m := range eligible {
		in[m] = true
	}
	for addr, m := range p.members {
		switch {
		case in[m]:
			p.stopDrain(m)
		case len(m.conns) == 0:
			p.stopDrain(m)
			if m.gone {
				delete(p.members, addr)
			}
		case m.draining == nil:
			p.startDrain(m)
		}
	}
}

func (p *Pool) stopDrain(m *member) {
	if m.draining != nil {
		m.draining.Stop()
		m.draining = nil
	}
}

func (p *Pool) startDrain(m *member) {
	p.log.V(1).Info("endpoint draining", "service", p.name, "endpoint", m.ep.Address.String(), "connections", len(m.conns), "delay", p.delay.String())
	m.drainID++
	id := m.drainID
	m.draining = time.AfterFunc(p.delay, func() { p.expire(m, id) })
}

// expire closes the connections of a drained endpoint whose drain id ended, unless the drain was
// stopped or restarted meanwhile.
func (p *Pool) expire(m *member, id uint64) {
	p.mu.Lock()
	if m.draining == nil || m.drainID != id {
		p.mu.Unlock()
		return
	}
	m.draining = nil
	links := make([]io.Closer, 0, len(m.conns))
	for l := range m.conns {
		links = append(links, l)
	}
	p.mu.Unlock()
	if len(links) > 0 {
		p.log.Info("deregistration delay over: closing the endpoint's connections", "service", p.name, "endpoint", m.ep.Address.String(), "connections", len(links))
	}
	for _, l := range links {
		_ = l.Close()
	}
}

// pick returns the next eligible endpoint not in tried, or nil.
func (p *Pool) pick(tried map[netip.AddrPort]bool) (netip.AddrPort, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.eligible)
	for i := 0; i < n; i++ {
		m := p.eligible[(p.next+i)%n]
		if !tried[m.ep.Address] {
			p.next = (p.next + i + 1) % n
			return m.ep.Address, true
		}
	}
	return netip.AddrPort{}, false
}

// attach records l (a TCP link or a UDP session) as a connection to addr; false when addr takes
// no new connections any more (it left between pick and the dial's end).
func (p *Pool) attach(addr netip.AddrPort, l io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[addr]
	if !ok || m.gone || m.draining != nil || !slices.Contains(p.eligible, m) {
		return false
	}
	m.conns[l] = struct{}{}
	return true
}

// detach forgets l, which ended; a gone endpoint without connections leaves the pool.
func (p *Pool) detach(addr netip.AddrPort, l io.Closer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[addr]
	if !ok {
		return
	}
	delete(m.conns, l)
	if len(m.conns) == 0 {
		p.stopDrain(m)
		if m.gone && p.members[addr] == m {
			delete(p.members, addr)
		}
	}
}

// Withdraw makes the endpoints of the Pod uid take no new connections at once, as if their
// EndpointSlice said terminating (they still serve when no other endpoint is ready); open
// connections drain as usual.
func (p *Pool) Withdraw(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := false
	for _, m := range p.members {
		if m.ep.UID == uid && (m.ep.Ready || !m.ep.Terminating) {
			m.ep.Ready, m.ep.Terminating = false, true
			changed = true
		}
	}
	if changed {
		p.recompute()
	}
}

// Takes reports whether the pool gives new connections to an endpoint of the Pod uid.
func (p *Pool) Takes(uid types.UID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.eligible {
		if m.ep.UID == uid {
			return true
		}
	}
	return false
}

// Stats is what a pool holds: eligible endpoints, and open connections by endpoint.
type Stats struct {
	Eligible    []netip.AddrPort
	Connections map[netip.AddrPort]int
}

// Stats returns the pool's current state (for tests and status).
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Connections: map[netip.AddrPort]int{}}
	for _, m := range p.eligible {
		s.Eligible = append(s.Eligible, m.ep.Address)
	}
	for addr, m := range p.members {
		if len(m.conns) > 0 {
			s.Connections[addr] = len(m.conns)
		}
	}
	return s
}

// Handle serves one client connection: it dials an eligible endpoint (trying the next one when a
// dial fails) and copies bytes both ways until both sides finished, or the endpoint's drain
// ended. It closes client in every case. It blocks; ctx bounds the dials.
func (p *Pool) Handle(ctx context.Context, client net.Conn) { p.handle(ctx, client, false) }

// HandleProxyProtocol is Handle, and first sends the endpoint a PROXY protocol v2 header with
// client's address as the source and the address it connected to as the destination (what an
// ELBv2 target group with proxy_protocol_v2.enabled sends its targets; see ProxyProtocolAnnotation).
func (p *Pool) HandleProxyProtocol(ctx context.Context, client net.Conn) {
	p.handle(ctx, client, true)
}

func (p *Pool) handle(ctx context.Context, client net.Conn, header bool) {
	tried := map[netip.AddrPort]bool{}
	for attempt := 0; attempt < maxDialAttempts; attempt++ {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			break
		}
		addr, ok := p.pick(tried)
		if !ok {
			break
		}
		tried[addr] = true
		up, err := p.dial(ctx, "tcp", addr.String())
		if err != nil {
			p.log.V(1).Info("dialing endpoint failed; trying the next", "service", p.name, "endpoint", addr.String(), "error", err.Error())
			continue
		}
		if header {
			if err := writeProxyHeader(up, client); err != nil {
				p.log.V(1).Info("sending the PROXY header failed; trying the next endpoint", "service", p.name, "endpoint", addr.String(), "error", err.Error())
				_ = up.Close()
				continue
			}
		}
		l := &link{client: client, up: up}
		if !p.attach(addr, l) {
			_ = up.Close()
			continue
		}
		l.pipe()
		p.detach(addr, l)
		return
	}
	if len(tried) == 0 {
		p.log.V(1).Info("no endpoint takes connections: closing the client's", "service", p.name, "client", client.RemoteAddr().String())
	}
	_ = client.Close()
}
