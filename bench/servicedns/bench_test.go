package servicedns

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/nodeless-dev/nodeless/internal/servicedns"
)

const (
	services  = 1000
	headless  = 100 // every 10th Service
	endpoints = 10
	clients   = 8
	queries   = 20000 // per case, per benchmark iteration
)

func BenchmarkAnswers(b *testing.B) {
	addr := start(b)
	for _, tc := range []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"ClusterIP", "svc-7.ns-3.svc.cluster.local.", dns.TypeA},
		{"Headless10", "svc-10.ns-0.svc.cluster.local.", dns.TypeA},
		{"SRV", "_http._tcp.svc-7.ns-3.svc.cluster.local.", dns.TypeSRV},
		{"SearchListNXDOMAIN", "example.com.ns-3.svc.cluster.local.", dns.TypeA},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				perSec, p50, p99 := load(b, addr, tc.qname, tc.qtype)
				b.ReportMetric(perSec, "answers/s")
				b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
				b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
			}
		})
	}
}

// load sends queries questions from clients concurrent clients (one UDP socket each) and returns
// the answers per second and the p50 and p99 latency.
func load(b *testing.B, addr, qname string, qtype uint16) (float64, time.Duration, time.Duration) {
	b.Helper()
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
			conn, err := c.Dial(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			m := new(dns.Msg)
			m.SetQuestion(qname, qtype)
			for range queries / clients {
				t0 := time.Now()
				if _, _, err := c.ExchangeWithConn(m, conn); err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		b.Fatal("no answers")
	}
	return float64(len(all)) / elapsed.Seconds(), all[len(all)/2], all[len(all)*99/100]
}

func start(b *testing.B) string {
	b.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	s, err := servicedns.New(nil, servicedns.Options{
		Upstreams:    []string{"127.0.0.1:1"},
		ListenPacket: func() (net.PacketConn, error) { return pc, nil },
		Listen:       func() (net.Listener, error) { return l, nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	fill(s.View())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-s.Ready():
	case err := <-done:
		b.Fatal(err)
	}
	return pc.LocalAddr().String()
}

// fill gives v services Services over 100 namespaces, every 10th headless with endpoints ready
// endpoints.
func fill(v *servicedns.View) {
	for i := range services {
		ns, name := fmt.Sprintf("ns-%d", i%100), fmt.Sprintf("svc-%d", i)
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP,
				Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}}}
		if i%(services/headless) == 0 {
			svc.Spec.ClusterIP = corev1.ClusterIPNone
			es := &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080))}},
			}
			for e := range endpoints {
				es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
					Addresses: []string{fmt.Sprintf("10.244.%d.%d", i/250, e+1)}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
			}
			v.SetSlice(es)
		} else {
			svc.Spec.ClusterIP = fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
			svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
		}
		v.SetService(svc)
	}
}
