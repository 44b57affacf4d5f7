package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/go-logr/logr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// proxy forwards one port mapping from 127.0.0.1 on the host into the task's namespace.
type proxy interface {
	hostPort() int32
	close()
}

// openProxy binds 127.0.0.1:preferred (or a free port when it is taken) for protocol tcp or udp and
// starts forwarding to containerPort inside the namespace at nsPath.
func openProxy(protocol string, preferred int32, nsPath string, containerPort int32, log logr.Logger) (proxy, error) {
	if protocol == "udp" {
		conn, err := listenUDP(preferred)
		if err != nil {
			return nil, err
		}
		return startUDPProxy(conn, nsPath, containerPort, log), nil
	}
	ln, err := listenPort(preferred)
	if err != nil {
		return nil, err
	}
	return startProxy(ln, nsPath, containerPort, log), nil
}

// portProxy listens on 127.0.0.1:hostPort in the host namespace and forwards every connection to
// 127.0.0.1:containerPort inside the task's namespace (see dialContainer).
type portProxy struct {
	ln            net.Listener
	nsPath        string
	containerPort int32
	log           logr.Logger
	wg            sync.WaitGroup
	mu            sync.Mutex
	conns         map[net.Conn]struct{}
}

// portKey is the HostPorts key of a mapping: "8080/tcp".
func portKey(containerPort int32, protocol string) string {
	if protocol == "" {
		protocol = "tcp"
	}
	return strconv.Itoa(int(containerPort)) + "/" + strings.ToLower(protocol)
}

// listenPort binds 127.0.0.1:preferred, or a free port when preferred is taken (or 0).
func listenPort(preferred int32) (net.Listener, error) {
	if preferred > 0 {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(int(preferred))); err == nil {
			return ln, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	return ln, nil
}

func startProxy(ln net.Listener, nsPath string, containerPort int32, log logr.Logger) *portProxy {
	p := &portProxy{ln: ln, nsPath: nsPath, containerPort: containerPort, log: log, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *portProxy) hostPort() int32 { return int32(p.ln.Addr().(*net.TCPAddr).Port) }

func (p *portProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.log.Error(err, "port proxy stopped accepting", "hostPort", p.hostPort())
			}
			return
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *portProxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *portProxy) forward(client net.Conn) {
	defer p.wg.Done()
	defer func() { _ = client.Close() }()
	p.track(client, true)
	defer p.track(client, false)
	upstream, err := dialContainer(p.nsPath, "tcp", p.containerPort, client.RemoteAddr())
	if err != nil {
		p.log.V(1).Info("port proxy could not reach the container", "containerPort", p.containerPort, "error", err.Error())
		return
	}
	defer func() { _ = upstream.Close() }()
	p.track(upstream, true)
	defer p.track(upstream, false)
	done := make(chan struct{}, 2)
	go pipe(upstream, client, done)
	go pipe(client, upstream, done)
	<-done
	<-done
}

// dialContainer connects to 127.0.0.1:containerPort inside the task's namespace (nsPath) over network
// (tcp or udp). It binds the client's own loopback address and port (client, as the proxy accepted
// it) when that port is free in the namespace, so the application sees exactly the address the
// client has on the host (ADR 0008); otherwise, or for a client that is not on loopback, any port.
func dialContainer(nsPath, network string, containerPort int32, client net.Addr) (net.Conn, error) {
	target := "127.0.0.1:" + strconv.Itoa(int(containerPort))
	if local := loopbackAddr(network, client); local != nil {
		c, err := vpc.DialInNamespace(context.Background(), nsPath, network, target, local)
		taken := errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EADDRNOTAVAIL)
		if !taken {
			return c, err
		}
	}
	return vpc.DialInNamespace(context.Background(), nsPath, network, target, nil)
}

// loopbackAddr is client as a local address for network when it is an IPv4 loopback address.
func loopbackAddr(network string, client net.Addr) net.Addr {
	switch a := client.(type) {
	case *net.TCPAddr:
		if network == "tcp" && a.IP.To4() != nil && a.IP.IsLoopback() {
			return &net.TCPAddr{IP: a.IP, Port: a.Port}
		}
	case *net.UDPAddr:
		if network == "udp" && a.IP.To4() != nil && a.IP.IsLoopback() {
			return &net.UDPAddr{IP: a.IP, Port: a.Port}
		}
	}
	return nil
}

// pipe copies src to dst, then half-closes dst so the other side sees EOF.
func pipe(dst, src net.Conn, done chan<- struct{}) {
	_, _ = io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		_ = dst.Close()
	}
	done <- struct{}{}
}

// close stops listening and cuts the open connections.
func (p *portProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
