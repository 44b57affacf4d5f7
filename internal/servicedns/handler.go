package servicedns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-logr/logr"
	"github.com/miekg/dns"
)

// Defaults of Options.
const (
	DefaultDomain         = "cluster.local"
	DefaultTTL            = 5 * time.Second
	DefaultForwardTimeout = 2 * time.Second
	// maxForward bounds a forwarded question over all upstreams and retries.
	maxForward = 5 * time.Second
	// ednsSize is the UDP payload size the server announces (the DNS flag day 2020's 1232 bytes,
	// which no path MTU fragments).
	ednsSize = 1232
	// maxChase bounds the CNAMEs followed inside the zone (ExternalName to ExternalName).
	maxChase = 8
)

// handler is the dns.Handler: the zone's names from the View, everything else forwarded.
type handler struct {
	zone zone
	// names is the second source of names (Options.Names), or nil.
	names Names
	fwd   *forwarder
	log   logr.Logger
}

// ServeDNS answers one query. A query of more or less than one question is FORMERR; a class other
// than IN is forwarded.
func (h *handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := h.respond(req, isTCP(w))
	if !isTCP(w) {
		resp.Truncate(udpSize(req))
	}
	if err := w.WriteMsg(resp); err != nil {
		h.log.V(1).Info("writing a DNS answer failed", "error", err.Error())
	}
}

func (h *handler) respond(req *dns.Msg, tcp bool) *dns.Msg {
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		m := new(dns.Msg)
		return m.SetRcode(req, dns.RcodeFormatError)
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	if q.Qclass == dns.ClassINET {
		if a, ours := h.zone.lookup(name, q.Qtype); ours {
			return h.authoritative(req, q, a, tcp)
		}
		if a, ours := h.lookupNames(name, q.Qtype); ours {
			return h.authoritative(req, q, a, tcp)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), maxForward)
	defer cancel()
	resp, err := h.fwd.exchange(ctx, req, tcp)
	if err != nil {
		h.log.V(1).Info("forwarding a DNS query failed", "name", q.Name, "error", err.Error())
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
		m.RecursionAvailable = true
		return m
	}
	return resp
}

// authoritative builds the answer of a name of the zone, following an ExternalName's CNAME (inside
// the zone, or forwarded) so that stub resolvers get addresses.
func (h *handler) authoritative(req *dns.Msg, q dns.Question, a answer, tcp bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative, m.RecursionAvailable, m.Compress = true, true, true
	m.Rcode = a.rcode
	m.Answer, m.Extra = a.records, a.extra
	if o := req.IsEdns0(); o != nil {
		// RFC 6891: answer an EDNS query with an OPT record, giving our own buffer size.
		m.SetEdns0(ednsSize, false)
	}
	for i := 0; a.chase != "" && i < maxChase; i++ {
		next, ours := h.zone.lookup(a.chase, q.Qtype)
		if !ours {
			m.Answer = append(m.Answer, h.forwardChase(req, a.chase, q.Qtype, tcp)...)
			break
		}
		m.Answer = append(m.Answer, next.records...)
		a = next
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{h.zone.soa()}
		if a.soa != nil {
			m.Ns = []dns.RR{a.soa}
		}
	}
	return m
}

// forwardChase resolves an ExternalName's target outside the zone; nothing when that fails (the
// client still has the CNAME).
func (h *handler) forwardChase(req *dns.Msg, target string, qtype uint16, tcp bool) []dns.RR {
	ctx, cancel := context.WithTimeout(context.Background(), maxForward)
	defer cancel()
	q := new(dns.Msg)
	q.SetQuestion(target, qtype)
	q.RecursionDesired = true
	if o := req.IsEdns0(); o != nil {
		q.SetEdns0(o.UDPSize(), false)
	}
	resp, err := h.fwd.exchange(ctx, q, tcp)
	if err != nil || resp.Rcode != dns.RcodeSuccess {
		return nil
	}
	return resp.Answer
}

func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.TCPAddr)
	return ok
}

// udpSize is the largest UDP answer the client takes: its EDNS0 buffer size, else 512 bytes.
func udpSize(req *dns.Msg) int {
	if o := req.IsEdns0(); o != nil && o.UDPSize() > dns.MinMsgSize {
		return int(o.UDPSize())
	}
	return dns.MinMsgSize
}

// forwarder sends questions outside the zone to the host's resolvers, from the host's network
// namespace (so a loopback resolver such as systemd-resolved's 127.0.0.53 works).
type forwarder struct {
	upstreams []string
	timeout   time.Duration
}

// exchange asks each upstream in turn (UDP, then TCP when the answer is truncated, or TCP when
// the client asked over TCP), each try bounded by the forwarder's timeout and all by ctx. The
// answer carries req's ID.
func (f *forwarder) exchange(ctx context.Context, req *dns.Msg, tcp bool) (*dns.Msg, error) {
	var errs []error
	for _, up := range f.upstreams {
		resp, err := f.try(ctx, req, up, tcp)
		if err == nil && resp.Truncated && !tcp {
			resp, err = f.try(ctx, req, up, true)
		}
		if err == nil {
			resp.Id = req.Id
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", up, err))
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, errors.New("no upstream resolver")
	}
	return nil, errors.Join(errs...)
}

func (f *forwarder) try(ctx context.Context, req *dns.Msg, upstream string, tcp bool) (*dns.Msg, error) {
	// UDPSize is the read buffer: an upstream may send more than 512 bytes whatever was asked.
	c := dns.Client{Net: "udp", Timeout: f.timeout, UDPSize: dns.MaxMsgSize}
	if tcp {
		c.Net = "tcp"
	}
	resp, _, err := c.ExchangeContext(ctx, req, upstream)
	return resp, err
}

// hostUpstreams are the nameservers of the host's resolv.conf (port 53), or 127.0.0.1:53 when it
// names none (resolv.conf(5)'s default).
func hostUpstreams(path string) []string {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil || len(cfg.Servers) == 0 {
		return []string{"127.0.0.1:53"}
	}
	out := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out
}
