package serviceproxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// UDPIdleTimeout is how long a UDP session (one client address and the endpoint it was given)
// lives without a datagram either way: the Linux conntrack timeout of an unreplied UDP flow's
// steady state (nf_conntrack_udp_timeout_stream, 120 s) is long for DNS-style traffic, and its
// first timeout 30 s is what kube-proxy's UDP flows get; 30 s it is.
const UDPIdleTimeout = 30 * time.Second

// maxDatagram is the largest UDP payload.
const maxDatagram = 64 * 1024

// udpSession is one client address of a UDP listener and its connected socket to an endpoint.
type udpSession struct {
	client net.Addr
	up     net.Conn
	once   sync.Once
}

// Close ends the session (the drain ran out of time, the session idled out or the listener
// closed).
func (s *udpSession) Close() error {
	s.once.Do(func() { _ = s.up.Close() })
	return nil
}

// ServeUDP balances the datagrams arriving on pc: each client address gets a session with the
// endpoint picked for its first datagram (the rules of TCP connections apply to sessions: only
// eligible endpoints, drained with the deregistration delay); answers go back to the client from
// pc. A session ends after UDPIdleTimeout without traffic. ServeUDP returns when pc is closed,
// ending every session.
func (p *Pool) ServeUDP(ctx context.Context, pc net.PacketConn) {
	var mu sync.Mutex
	sessions := map[string]*udpSession{}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range sessions {
			_ = s.Close()
		}
	}()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		key := from.String()
		mu.Lock()
		s := sessions[key]
		mu.Unlock()
		if s == nil {
			if s = p.openUDP(ctx, pc, from, func(s *udpSession) {
				mu.Lock()
				if sessions[key] == s {
					delete(sessions, key)
				}
				mu.Unlock()
			}); s == nil {
				continue // no endpoint: the datagram is dropped, as with no route
			}
			mu.Lock()
			sessions[key] = s
			mu.Unlock()
		}
		_ = s.up.SetReadDeadline(time.Now().Add(UDPIdleTimeout))
		_, _ = s.up.Write(buf[:n])
	}
}

// openUDP picks an endpoint for client, dials it and starts copying its answers back; nil when no
// endpoint takes new sessions. done runs when the session ends.
func (p *Pool) openUDP(ctx context.Context, pc net.PacketConn, client net.Addr, done func(*udpSession)) *udpSession {
	tried := map[netip.AddrPort]bool{}
	for attempt := 0; attempt < maxDialAttempts; attempt++ {
		addr, ok := p.pick(tried)
		if !ok {
			return nil
		}
		tried[addr] = true
		up, err := p.dial(ctx, "udp", addr.String())
		if err != nil {
			p.log.V(1).Info("dialing endpoint failed; trying the next", "service", p.name, "endpoint", addr.String(), "error", err.Error())
			continue
		}
		s := &udpSession{client: client, up: up}
		if !p.attach(addr, s) {
			_ = up.Close()
			continue
		}
		go func() {
			answer(pc, s)
			_ = s.Close()
			p.detach(addr, s)
			done(s)
		}()
		return s
	}
	return nil
}

// answer copies the endpoint's datagrams to the client until the session closes or idles out.
func answer(pc net.PacketConn, s *udpSession) {
	buf := make([]byte, maxDatagram)
	for {
		n, err := s.up.Read(buf)
		if err != nil {
			return
		}
		_ = s.up.SetReadDeadline(time.Now().Add(UDPIdleTimeout))
		if _, err := pc.WriteTo(buf[:n], s.client); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}
