package runtime

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
)

// udpIdle is how long a UDP flow without traffic keeps its socket in the task's namespace.
const udpIdle = 2 * time.Minute

// udpProxy relays datagrams between clients of 127.0.0.1:hostPort and the container port: one
// socket inside the task's namespace per client address, so answers go back to the right client.
type udpProxy struct {
	conn          *net.UDPConn
	nsPath        string
	containerPort int32
	log           logr.Logger
	wg            sync.WaitGroup

	mu    sync.Mutex
	flows map[string]net.Conn
}

func listenUDP(preferred int32) (*net.UDPConn, error) {
	if preferred > 0 {
		if c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(preferred)}); err == nil {
			return c, nil
		}
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1 (udp): %w", err)
	}
	return c, nil
}

func startUDPProxy(conn *net.UDPConn, nsPath string, containerPort int32, log logr.Logger) *udpProxy {
	p := &udpProxy{conn: conn, nsPath: nsPath, containerPort: containerPort, log: log, flows: map[string]net.Conn{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *udpProxy) hostPort() int32 { return int32(p.conn.LocalAddr().(*net.UDPAddr).Port) }

func (p *udpProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 64*1024)
	for {
		n, client, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.log.Error(err, "udp proxy stopped", "hostPort", p.hostPort())
			}
			return
		}
		up, err := p.flow(client)
		if err != nil {
			p.log.V(1).Info("udp proxy could not reach the container", "containerPort", p.containerPort, "error", err.Error())
			continue
		}
		_, _ = up.Write(buf[:n])
	}
}

// flow returns the namespace-side socket of client, creating it (and its reply relay) when new.
func (p *udpProxy) flow(client *net.UDPAddr) (net.Conn, error) {
	key := client.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if up, ok := p.flows[key]; ok {
		return up, nil
	}
	up, err := dialContainer(p.nsPath, "udp", p.containerPort, client)
	if err != nil {
		return nil, err
	}
	p.flows[key] = up
	p.wg.Add(1)
	go p.relayBack(key, up, client)
	return up, nil
}

// relayBack copies the container's answers to client until the flow idles out or the proxy closes.
func (p *udpProxy) relayBack(key string, up net.Conn, client *net.UDPAddr) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.flows, key)
		p.mu.Unlock()
		_ = up.Close()
	}()
	buf := make([]byte, 64*1024)
	for {
		_ = up.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := up.Read(buf)
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue // ICMP port unreachable (nothing listens yet): keep the flow for a retry
		}
		if err != nil {
			return // idle, or the proxy closed
		}
		if _, err := p.conn.WriteToUDP(buf[:n], client); err != nil {
			return
		}
	}
}

func (p *udpProxy) close() {
	_ = p.conn.Close()
	p.mu.Lock()
	for _, up := range p.flows {
		_ = up.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
