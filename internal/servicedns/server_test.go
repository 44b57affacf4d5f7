package servicedns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// upstream is a resolver on 127.0.0.1 standing in for the host's: it knows example.com and
// big.example.com (an answer too large for 512 bytes of UDP), and answers NXDOMAIN otherwise.
func upstream(t *testing.T) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		q := r.Question[0]
		switch {
		case q.Name == "example.com." && q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, mustRR(t, "example.com. 300 IN A 192.0.2.1"))
		case q.Name == "big.example.com." && q.Qtype == dns.TypeA:
			for i := range 60 {
				m.Answer = append(m.Answer, mustRR(t, "big.example.com. 300 IN A 192.0.2."+strconv.Itoa(i+1)))
			}
		case q.Name == "example.com.":
		default:
			m.Rcode = dns.RcodeNameError
		}
		if _, ok := w.RemoteAddr().(*net.UDPAddr); ok {
			m.Truncate(udpSize(r))
		}
		_ = w.WriteMsg(m)
	})
	pc, l := listenUDPAndTCP(t)
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		go func() { _ = s.ActivateAndServe() }()
		t.Cleanup(func() { _ = s.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// startServer runs a Server without an API server on 127.0.0.1 and returns it and its address.
func startServer(t *testing.T, upstreams ...string) (*Server, string) {
	t.Helper()
	pc, l := listenUDPAndTCP(t)
	s, err := New(nil, Options{
		Upstreams:      upstreams,
		ForwardTimeout: 500 * time.Millisecond,
		ListenPacket:   func() (net.PacketConn, error) { return pc, nil },
		Listen:         func() (net.Listener, error) { return l, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready after 10 s")
	}
	return s, pc.LocalAddr().String()
}

// listenUDPAndTCP opens a UDP and a TCP socket on the same free port of 127.0.0.1, as a DNS
// server listens. The kernel picks the UDP port; its TCP twin may be taken by another process
// (tests run side by side), so it tries again with another port, at most 20 times.
func listenUDPAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		_ = pc.Close()
		lastErr = err
	}
	t.Fatalf("no port of 127.0.0.1 free for both UDP and TCP in 20 tries: %v", lastErr)
	return nil, nil
}

func svc(ns, name, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP, Ports: ports},
	}
	if clusterIP != corev1.ClusterIPNone {
		s.Spec.ClusterIPs = []string{clusterIP}
	}
	return s
}

func port(name string, proto corev1.Protocol, p int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: p}
}

type ep struct {
	ip, hostname, uid string
	ready             *bool
}

func endpointSlice(ns, service, name string, ports map[string]int32, eps ...ep) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for n, p := range ports {
		es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: ptr.To(n), Port: ptr.To(p), Protocol: ptr.To(corev1.ProtocolTCP)})
	}
	for _, e := range eps {
		d := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready}}
		if e.hostname != "" {
			d.Hostname = ptr.To(e.hostname)
		}
		if e.uid != "" {
			d.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, UID: types.UID(e.uid)}
		}
		es.Endpoints = append(es.Endpoints, d)
	}
	return es
}

// fill gives v the Services and slices every case of TestNames reads.
func fill(v *View) {
	v.SetService(svc("shop", "backend", "10.0.0.20", port("http", corev1.ProtocolTCP, 80), port("", corev1.ProtocolTCP, 81)))
	v.SetSlice(endpointSlice("shop", "backend", "backend-x", map[string]int32{"http": 8080},
		ep{ip: "10.244.0.5", ready: ptr.To(true)}))
	v.SetService(svc("shop", "db", corev1.ClusterIPNone, port("pg", corev1.ProtocolTCP, 5432)))
	v.SetSlice(endpointSlice("shop", "db", "db-a", map[string]int32{"pg": 5432},
		ep{ip: "10.244.0.7", hostname: "db-0", uid: "u0", ready: ptr.To(true)},
		ep{ip: "10.244.0.8", hostname: "db-1", uid: "u1"}, // ready unset: ready
		ep{ip: "10.244.0.9", hostname: "db-2", uid: "u2", ready: ptr.To(false)}))
	// The same endpoint in a second slice (a rebalance in progress) is answered once.
	v.SetSlice(endpointSlice("shop", "db", "db-b", map[string]int32{"pg": 5432},
		ep{ip: "10.244.0.7", hostname: "db-0", uid: "u0", ready: ptr.To(true)}))
	v.SetService(svc("shop", "empty", corev1.ClusterIPNone))
	v.SetService(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "ext"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"},
	})
	v.SetService(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "alias"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "backend.shop.svc.cluster.local"},
	})
	v.SetService(svc("other", "web", "10.0.0.30"))
	// A slice of no Service, and an FQDN slice, are not answered.
	v.SetSlice(&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "stray"},
		AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.99"}}}})
}

// TestNames asks the server every kind of name over UDP and compares rcode, answer and additional
// sections.
func TestNames(t *testing.T) {
	s, addr := startServer(t, upstream(t))
	fill(s.View())
	soa := "cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
	cases := []struct {
		name  string
		qtype uint16
		want  []string // rcode, then "AA" when authoritative, then records ("+" additional, "@" authority)
	}{
		{"backend.shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA",
			"backend.shop.svc.cluster.local.\t5\tIN\tA\t10.0.0.20"}},
		{"BACKEND.Shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA",
			"backend.shop.svc.cluster.local.\t5\tIN\tA\t10.0.0.20"}},
		{"backend.shop.svc.cluster.local.", dns.TypeAAAA, []string{"NOERROR", "AA", "@" + soa}},
		{"nothere.shop.svc.cluster.local.", dns.TypeA, []string{"NXDOMAIN", "AA", "@" + soa}},
		{"backend.nons.svc.cluster.local.", dns.TypeA, []string{"NXDOMAIN", "AA", "@" + soa}},
		{"shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA", "@" + soa}},
		{"nons.svc.cluster.local.", dns.TypeA, []string{"NXDOMAIN", "AA", "@" + soa}},
		{"svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA", "@" + soa}},
		{"cluster.local.", dns.TypeSOA, []string{"NOERROR", "AA", soa}},
		{"backend.shop.cluster.local.", dns.TypeA, []string{"NXDOMAIN", "AA", "@" + soa}},
		{"_http._tcp.backend.shop.svc.cluster.local.", dns.TypeSRV, []string{"NOERROR", "AA",
			"_http._tcp.backend.shop.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 backend.shop.svc.cluster.local.",
			"+backend.shop.svc.cluster.local.\t5\tIN\tA\t10.0.0.20"}},
		{"_http._tcp.backend.shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA", "@" + soa}},
		{"_http._udp.backend.shop.svc.cluster.local.", dns.TypeSRV, []string{"NXDOMAIN", "AA", "@" + soa}},
		{"_tcp.backend.shop.svc.cluster.local.", dns.TypeSRV, []string{"NOERROR", "AA", "@" + soa}},
		{"x.backend.shop.svc.cluster.local.", dns.TypeA, []string{"NXDOMAIN", "AA", "@" + soa}},
		// Headless: ready endpoints only, each once.
		{"db.shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA",
			"db.shop.svc.cluster.local.\t5\tIN\tA\t10.244.0.7",
			"db.shop.svc.cluster.local.\t5\tIN\tA\t10.244.0.8"}},
		{"db-1.db.shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA",
			"db-1.db.shop.svc.cluster.local.\t5\tIN\tA\t10.244.0.8"}},
		{"db-1.db.shop.svc.cluster.local.", dns.TypeAAAA, []string{"NOERROR", "AA", "@" + soa}},
		{"db-2.db.shop.svc.cluster.local.", dns.TypeA, []string{"NXDOMAIN", "AA", "@" + soa}},
		{"_pg._tcp.db.shop.svc.cluster.local.", dns.TypeSRV, []string{"NOERROR", "AA",
			"_pg._tcp.db.shop.svc.cluster.local.\t5\tIN\tSRV\t0 50 5432 db-0.db.shop.svc.cluster.local.",
			"_pg._tcp.db.shop.svc.cluster.local.\t5\tIN\tSRV\t0 50 5432 db-1.db.shop.svc.cluster.local.",
			"+db-0.db.shop.svc.cluster.local.\t5\tIN\tA\t10.244.0.7",
			"+db-1.db.shop.svc.cluster.local.\t5\tIN\tA\t10.244.0.8"}},
		{"empty.shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA", "@" + soa}},
		// ExternalName: the CNAME, followed to addresses outside and inside the zone.
		{"ext.shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA",
			"ext.shop.svc.cluster.local.\t5\tIN\tCNAME\texample.com.",
			"example.com.\t300\tIN\tA\t192.0.2.1"}},
		{"ext.shop.svc.cluster.local.", dns.TypeCNAME, []string{"NOERROR", "AA",
			"ext.shop.svc.cluster.local.\t5\tIN\tCNAME\texample.com."}},
		{"alias.shop.svc.cluster.local.", dns.TypeA, []string{"NOERROR", "AA",
			"alias.shop.svc.cluster.local.\t5\tIN\tCNAME\tbackend.shop.svc.cluster.local.",
			"backend.shop.svc.cluster.local.\t5\tIN\tA\t10.0.0.20"}},
		{"10-244-0-5.shop.pod.cluster.local.", dns.TypeA, []string{"NOERROR", "AA",
			"10-244-0-5.shop.pod.cluster.local.\t5\tIN\tA\t10.244.0.5"}},
		{"20.0.0.10.in-addr.arpa.", dns.TypePTR, []string{"NOERROR", "AA",
			"20.0.0.10.in-addr.arpa.\t5\tIN\tPTR\tbackend.shop.svc.cluster.local."}},
		{"7.0.244.10.in-addr.arpa.", dns.TypePTR, []string{"NOERROR", "AA",
			"7.0.244.10.in-addr.arpa.\t5\tIN\tPTR\tdb-0.db.shop.svc.cluster.local."}},
		// Forwarded.
		{"example.com.", dns.TypeA, []string{"NOERROR", "example.com.\t300\tIN\tA\t192.0.2.1"}},
		{"example.com.", dns.TypeAAAA, []string{"NOERROR"}},
		{"nothing.example.", dns.TypeA, []string{"NXDOMAIN"}},
		{"1.2.0.192.in-addr.arpa.", dns.TypePTR, []string{"NXDOMAIN"}},
	}
	c := dns.Client{Net: "udp", Timeout: 5 * time.Second}
	for _, tc := range cases {
		t.Run(dns.TypeToString[tc.qtype]+" "+tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tc.name, tc.qtype)
			resp, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summary(resp)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

// summary is a message as TestNames compares it.
func summary(m *dns.Msg) []string {
	out := []string{dns.RcodeToString[m.Rcode]}
	if m.Authoritative {
		out = append(out, "AA")
	}
	for _, rr := range m.Answer {
		out = append(out, rr.String())
	}
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, "+"+rr.String())
		}
	}
	for _, rr := range m.Ns {
		out = append(out, "@"+rr.String())
	}
	return out
}

func ask(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	resp, _, err := (&dns.Client{Net: network, Timeout: 10 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestEndpointChanges: scaling (a slice replaced), readiness lost, and a Pod withdrawn before its
// task stops change the answers at once; a withdrawal hides only that Pod's address.
func TestEndpointChanges(t *testing.T) {
	s, addr := startServer(t)
	v := s.View()
	v.SetService(svc("shop", "db", corev1.ClusterIPNone))
	name := "db.shop.svc.cluster.local."
	line := func(ip string) string { return name + "\t5\tIN\tA\t" + ip }
	steps := []struct {
		what   string
		change func()
		want   []string
	}{
		{"one ready", func() {
			v.SetSlice(endpointSlice("shop", "db", "s", nil, ep{ip: "10.244.0.7", uid: "a"}))
		}, []string{"NOERROR", "AA", line("10.244.0.7")}},
		{"scaled to three", func() {
			v.SetSlice(endpointSlice("shop", "db", "s", nil, ep{ip: "10.244.0.7", uid: "a"},
				ep{ip: "10.244.0.8", uid: "b"}, ep{ip: "10.244.0.9", uid: "c"}))
		}, []string{"NOERROR", "AA", line("10.244.0.7"), line("10.244.0.8"), line("10.244.0.9")}},
		{"b not ready", func() {
			v.SetSlice(endpointSlice("shop", "db", "s", nil, ep{ip: "10.244.0.7", uid: "a"},
				ep{ip: "10.244.0.8", uid: "b", ready: ptr.To(false)}, ep{ip: "10.244.0.9", uid: "c"}))
		}, []string{"NOERROR", "AA", line("10.244.0.7"), line("10.244.0.9")}},
		{"c withdrawn (its slice still says ready)", func() {
			v.Withdraw("c", "10.244.0.9")
			v.Withdraw("a", "10.244.0.200") // another address of a: nothing changes
			v.Withdraw("a", "not an IP")
		}, []string{"NOERROR", "AA", line("10.244.0.7")}},
		{"scaled to zero", func() {
			v.DeleteSlice(endpointSlice("shop", "db", "s", nil))
		}, []string{"NOERROR", "AA", "@cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"}},
		{"service deleted", func() {
			v.DeleteService("shop", "db")
		}, []string{"NXDOMAIN", "AA", "@cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"}},
	}
	for _, st := range steps {
		st.change()
		if diff := cmp.Diff(st.want, summary(ask(t, "udp", addr, name, dns.TypeA))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", st.what, diff)
		}
	}
}

// TestWithdrawalsExpire: a withdrawal is forgotten after withdrawRetention (Pod UIDs are never
// reused, so it only bounds memory).
func TestWithdrawalsExpire(t *testing.T) {
	v := NewView()
	now := time.Now()
	v.now = func() time.Time { return now }
	v.Withdraw("a", "10.244.0.7")
	now = now.Add(withdrawRetention + time.Second)
	v.Withdraw("b", "10.244.0.8")
	want := map[withdrawal]withdrawnAt{{uid: "b", ip: mustAddr(t, "10.244.0.8")}: {at: now}}
	if diff := cmp.Diff(want, v.withdrawn, cmp.AllowUnexported(withdrawnAt{}), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("withdrawn (-want +got):\n%s", diff)
	}
}

// TestDrained: a Pod whose address a headless Service answered is drained one TTL after its
// first withdrawal (a resolver may have cached the answer until then); a Pod only behind a
// ClusterIP Service (its names answer the virtual IP), or never withdrawn, is drained at once.
func TestDrained(t *testing.T) {
	v := NewView()
	now := time.Now()
	v.now = func() time.Time { return now }
	v.SetService(svc("shop", "db", corev1.ClusterIPNone))
	v.SetSlice(endpointSlice("shop", "db", "s", nil, ep{ip: "10.244.0.7", uid: "a"}))
	v.SetService(svc("shop", "web", "10.0.0.20"))
	v.SetSlice(endpointSlice("shop", "web", "s", nil, ep{ip: "10.244.0.8", uid: "b"}))
	ttl := 5 * time.Second
	if !v.Drained("a", ttl) {
		t.Error("Drained(a) = false before any withdrawal")
	}
	v.Withdraw("a", "10.244.0.7")
	v.Withdraw("b", "10.244.0.8")
	now = now.Add(ttl - time.Second)
	v.Withdraw("a", "10.244.0.7") // a retried stop: the first withdrawal counts
	if v.Drained("a", ttl) {
		t.Error("Drained(a) = true within one TTL of its withdrawal from a headless Service")
	}
	if !v.Drained("b", ttl) {
		t.Error("Drained(b) = false: only a ClusterIP Service (whose names answer the virtual IP) has it")
	}
	now = now.Add(time.Second)
	if !v.Drained("a", ttl) {
		t.Error("Drained(a) = false one TTL after its first withdrawal")
	}
}

// TestTruncationAndTCP: a forwarded answer too large for a 512-byte UDP reply is truncated (TC),
// and the same question over TCP gets all of it.
func TestTruncationAndTCP(t *testing.T) {
	_, addr := startServer(t, upstream(t))
	udp := ask(t, "udp", addr, "big.example.com.", dns.TypeA)
	if !udp.Truncated || len(udp.Answer) >= 60 {
		t.Errorf("over UDP: truncated %v with %d answers; want truncated with fewer than 60", udp.Truncated, len(udp.Answer))
	}
	tcp := ask(t, "tcp", addr, "big.example.com.", dns.TypeA)
	if tcp.Truncated || len(tcp.Answer) != 60 {
		t.Errorf("over TCP: truncated %v with %d answers; want 60, not truncated", tcp.Truncated, len(tcp.Answer))
	}
}

// TestUpstreamDown: a name outside the zone whose upstreams do not answer is SERVFAIL after the
// forward timeout, not a hang; the zone's names still answer.
func TestUpstreamDown(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	s, addr := startServer(t, silent.LocalAddr().String())
	s.View().SetService(svc("shop", "backend", "10.0.0.20"))
	if got := ask(t, "udp", addr, "example.com.", dns.TypeA); got.Rcode != dns.RcodeServerFailure {
		t.Errorf("forwarded to a silent upstream: %s, want SERVFAIL", dns.RcodeToString[got.Rcode])
	}
	if got := ask(t, "udp", addr, "backend.shop.svc.cluster.local.", dns.TypeA); len(got.Answer) != 1 {
		t.Errorf("zone name with the upstream down: %v", summary(got))
	}
}

func TestHostUpstreams(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := dir + "/resolv.conf"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		body string
		want []string
	}{
		{"nameserver 127.0.0.53\noptions edns0\n", []string{"127.0.0.53:53"}},
		{"nameserver 192.0.2.1\nnameserver 2001:db8::1\nsearch example.com\n", []string{"192.0.2.1:53", "[2001:db8::1]:53"}},
		{"search example.com\n", []string{"127.0.0.1:53"}},
	} {
		if diff := cmp.Diff(tc.want, hostUpstreams(write(tc.body))); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.body, diff)
		}
	}
	if diff := cmp.Diff([]string{"127.0.0.1:53"}, hostUpstreams(dir+"/missing")); diff != "" {
		t.Errorf("missing file (-want +got):\n%s", diff)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEDNSAndLargeAnswers: an EDNS query gets an OPT record back; a headless Service of 100
// endpoints fits the client's EDNS size or is truncated for a plain 512-byte client, and comes
// whole over TCP.
func TestEDNSAndLargeAnswers(t *testing.T) {
	s, addr := startServer(t)
	v := s.View()
	v.SetService(svc("shop", "many", corev1.ClusterIPNone))
	var eps []ep
	for i := range 100 {
		eps = append(eps, ep{ip: "10.244.1." + strconv.Itoa(i+1)})
	}
	v.SetSlice(endpointSlice("shop", "many", "s", nil, eps...))
	name := "many.shop.svc.cluster.local."
	c := dns.Client{Net: "udp", Timeout: 5 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.SetEdns0(4096, false)
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.IsEdns0() == nil || resp.Truncated || len(resp.Answer) != 100 {
		t.Errorf("EDNS 4096: OPT %v, truncated %v, %d answers; want OPT, not truncated, 100", resp.IsEdns0() != nil, resp.Truncated, len(resp.Answer))
	}
	plain := ask(t, "udp", addr, name, dns.TypeA)
	if !plain.Truncated || plain.IsEdns0() != nil {
		t.Errorf("plain UDP: truncated %v, OPT %v; want truncated without OPT", plain.Truncated, plain.IsEdns0() != nil)
	}
	if tcp := ask(t, "tcp", addr, name, dns.TypeA); len(tcp.Answer) != 100 {
		t.Errorf("over TCP: %d answers, want 100", len(tcp.Answer))
	}
}
