package serviceproxy

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/go-logr/logr"
)

// Forwarding says how a Pool moves the bytes of a TCP connection between the client and the
// endpoint once the endpoint is dialed (and sent its PROXY protocol header, if any).
type Forwarding int

const (
	// ForwardSplice copies both ways in userspace: one goroutine per direction, io.Copy between
	// two *net.TCPConn, which Go turns into splice(2) through a pipe. Works everywhere.
	ForwardSplice Forwarding = iota
	// ForwardKernel puts both sockets in a BPF sockmap whose verdict program sends each socket's
	// received bytes out on the other inside the kernel (see sockmapForwarder); userspace keeps
	// the accept, the dial, the PROXY header, half-closes, the drain timers and the counts. When
	// the kernel or the process's privileges do not allow it, or for a connection that is not
	// TCP on both sides, the Pool uses ForwardSplice (the reason is logged once per process).
	ForwardKernel
)

// ForwardingEnv is the environment variable that sets the Forwarding of every Pool of the process
// (Pool.SetForwarding overrides it per Pool): "splice" (the default) or "kernel".
const ForwardingEnv = "NODELESS_LB_FORWARDING"

// ForwardingAnnotation sets the Forwarding of a Service's TCP ports on the local load balancer,
// "splice" or "kernel", instead of ForwardingEnv's (for trying one Service, and for benchmarks that
// compare both in one run). nodeless's own: nothing on AWS reads it.
const ForwardingAnnotation = "nodeless.dev/load-balancer-forwarding"

// serviceForwarding is the Forwarding of a Service's pools: ForwardingAnnotation's, else
// ForwardingEnv's. An invalid annotation is an error naming it (the process default applies).
func serviceForwarding(annotations map[string]string) (Forwarding, error) {
	def, _ := defaultForwarding()
	v, ok := annotations[ForwardingAnnotation]
	if !ok {
		return def, nil
	}
	f, err := ParseForwarding(v)
	if err != nil {
		return def, fmt.Errorf("metadata.annotations[%s]: %q: want splice or kernel", ForwardingAnnotation, v)
	}
	return f, nil
}

// String is the name ParseForwarding takes.
func (f Forwarding) String() string {
	if f == ForwardKernel {
		return "kernel"
	}
	return "splice"
}

// ParseForwarding reads a Forwarding by name: "splice" or "kernel" ("" is splice).
func ParseForwarding(s string) (Forwarding, error) {
	switch strings.TrimSpace(s) {
	case "", "splice":
		return ForwardSplice, nil
	case "kernel":
		return ForwardKernel, nil
	}
	return ForwardSplice, fmt.Errorf("%s=%q: want splice (userspace copy) or kernel (BPF sockmap, falls back to splice where unsupported)", ForwardingEnv, s)
}

// defaultForwarding is the Forwarding of new Pools: ForwardingEnv, read once per process; an
// invalid value is logged once and means splice.
var defaultForwarding = sync.OnceValues(func() (Forwarding, error) { return ParseForwarding(os.Getenv(ForwardingEnv)) })

// kernelForwarder is the process's sockmap forwarder, made at its first use; nil and the reason
// when the kernel or the privileges do not allow one.
var kernelForwarder = sync.OnceValues(newSockmapForwarder)

// forwarderLog logs once per process what the choice of forwarding came to; forwardingEnvLog
// that ForwardingEnv was not understood.
var forwarderLog, forwardingEnvLog sync.Once

// SetForwarding sets how the Pool forwards the TCP connections it accepts from now on (open ones
// keep theirs).
func (p *Pool) SetForwarding(f Forwarding) {
	p.mu.Lock()
	p.forwarding = f
	p.mu.Unlock()
}

// forwarder is the sockmap forwarder for a new connection, or nil for splice.
func (p *Pool) forwarder() *sockmapForwarder {
	p.mu.Lock()
	f := p.forwarding
	p.mu.Unlock()
	if f != ForwardKernel {
		return nil
	}
	kf, err := kernelForwarder()
	forwarderLog.Do(func() { logForwarder(p.log, err) })
	return kf
}

func logForwarder(log logr.Logger, err error) {
	if err != nil {
		log.Info("in-kernel forwarding unavailable: load balancers copy in userspace (splice)", "reason", err.Error())
		return
	}
	log.Info("in-kernel forwarding on: load balancers forward TCP bytes through a BPF sockmap")
}
