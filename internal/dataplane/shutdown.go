package dataplane

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// unusedConns tracks the API server's connections that have not sent a request yet (its ConnState
// hook), so that a shutdown does not wait for them.
//
// net/http's Server.Shutdown counts such a connection as active until it is more than 5 s old
// (whole seconds: 5 to 6 s), longer than the API's shutdown timeout. Clients leave them behind
// routinely: net/http's Transport finishes a dial even when the request that asked for it is
// cancelled, and keeps the connection for later (a controller stopping while its poller dials
// leaves one). Closing them loses nothing: no request was read from them.
type unusedConns struct {
	mu      sync.Mutex
	closing bool
	conns   map[net.Conn]struct{}
}

// track is the http.Server's ConnState hook.
func (u *unusedConns) track(c net.Conn, s http.ConnState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s != http.StateNew {
		delete(u.conns, c)
		return
	}
	if u.closing {
		_ = c.Close()
		return
	}
	if u.conns == nil {
		u.conns = map[net.Conn]struct{}{}
	}
	u.conns[c] = struct{}{}
}

// shutdown shuts srv down gracefully: requests under way complete (within ctx), idle and unused
// connections are closed at once.
func (u *unusedConns) shutdown(ctx context.Context, srv *http.Server) error {
	u.mu.Lock()
	u.closing = true
	for c := range u.conns {
		_ = c.Close()
	}
	clear(u.conns)
	u.mu.Unlock()
	return srv.Shutdown(ctx)
}
