package serviceproxy

import (
	"io"
	"net"
	"sync"
)

// link is one proxied connection: the client's and the one to the endpoint.
type link struct {
	client, up net.Conn
	once       sync.Once
}

// closeWriter is a connection whose sending half can be closed alone (*net.TCPConn).
type closeWriter interface{ CloseWrite() error }

// pipe copies both ways until both directions ended, passing half-closes on (a client that
// closes its sending side still gets the whole answer), then closes both connections. Between two
// *net.TCPConn, io.Copy splices in the kernel.
func (l *link) pipe() {
	up := make(chan struct{})
	go func() { defer close(up); copyHalf(l.up, l.client) }()
	copyHalf(l.client, l.up) // the answers, on the caller's goroutine: one goroutine less per connection
	<-up
	_ = l.Close()
}

// copyHalf copies src to dst until src ends, then closes dst's sending side (or all of dst when
// it cannot half-close, which also ends the other direction).
func copyHalf(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(closeWriter); ok && err == nil {
		_ = cw.CloseWrite()
		return
	}
	_ = dst.Close()
	_ = src.Close()
}

// Close ends both connections at once (a drain that ran out of time, or the pipe's end).
func (l *link) Close() error {
	l.once.Do(func() {
		_ = l.client.Close()
		_ = l.up.Close()
	})
	return nil
}
