package serviceproxy

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestEndpointsFor(t *testing.T) {
	port := func(name string, p int32, proto corev1.Protocol) discoveryv1.EndpointPort {
		return discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(p), Protocol: ptr.To(proto)}
	}
	slice := func(at discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{AddressType: at, Ports: ports, Endpoints: eps}
	}
	pod := &corev1.ObjectReference{Kind: "Pod", UID: "uid-1"}
	tests := []struct {
		name   string
		port   corev1.ServicePort
		slices []*discoveryv1.EndpointSlice
		want   []Endpoint
	}{
		{
			name: "conditions unset: ready and serving, not terminating",
			port: corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP},
			slices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080, corev1.ProtocolTCP)},
				discoveryv1.Endpoint{Addresses: []string{"10.244.0.5"}, TargetRef: pod})},
			want: []Endpoint{{Address: netip.MustParseAddrPort("10.244.0.5:8080"), Ready: true, Serving: true, UID: "uid-1"}},
		},
		{
			name: "terminating and serving",
			port: corev1.ServicePort{Name: "http", Port: 80},
			slices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080, corev1.ProtocolTCP)},
				discoveryv1.Endpoint{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{
					Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}})},
			want: []Endpoint{{Address: netip.MustParseAddrPort("10.244.0.5:8080"), Serving: true, Terminating: true}},
		},
		{
			name: "the port is matched by name and protocol across slices",
			port: corev1.ServicePort{Name: "web", Port: 80, Protocol: corev1.ProtocolTCP},
			slices: []*discoveryv1.EndpointSlice{
				slice(discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("metrics", 9090, corev1.ProtocolTCP), port("web", 8080, corev1.ProtocolUDP)},
					discoveryv1.Endpoint{Addresses: []string{"10.244.0.5"}}),
				slice(discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("web", 8081, corev1.ProtocolTCP)},
					discoveryv1.Endpoint{Addresses: []string{"10.244.0.6"}}),
			},
			want: []Endpoint{{Address: netip.MustParseAddrPort("10.244.0.6:8081"), Ready: true, Serving: true}},
		},
		{
			name: "IPv6 and FQDN slices and bad addresses are skipped",
			port: corev1.ServicePort{Port: 80},
			slices: []*discoveryv1.EndpointSlice{
				slice(discoveryv1.AddressTypeIPv6, []discoveryv1.EndpointPort{port("", 80, corev1.ProtocolTCP)}, discoveryv1.Endpoint{Addresses: []string{"fd00::1"}}),
				slice(discoveryv1.AddressTypeFQDN, []discoveryv1.EndpointPort{port("", 80, corev1.ProtocolTCP)}, discoveryv1.Endpoint{Addresses: []string{"example.com"}}),
				slice(discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("", 80, corev1.ProtocolTCP)}, discoveryv1.Endpoint{Addresses: []string{"not-an-ip", "10.244.0.7"}}),
			},
			want: []Endpoint{{Address: netip.MustParseAddrPort("10.244.0.7:80"), Ready: true, Serving: true}},
		},
		{
			name:   "a slice without the port",
			port:   corev1.ServicePort{Name: "http", Port: 80},
			slices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, nil, discoveryv1.Endpoint{Addresses: []string{"10.244.0.5"}})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, EndpointsFor(tt.port, tt.slices), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("EndpointsFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDeregistrationDelay(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "", want: -1},
		{in: "stickiness.enabled=true", want: -1},
		{in: "deregistration_delay.timeout_seconds=120", want: 120 * time.Second},
		{in: "stickiness.enabled=true, deregistration_delay.timeout_seconds = 0", want: 0},
		{in: "deregistration_delay.timeout_seconds=3601", want: -1, wantErr: true},
		{in: "deregistration_delay.timeout_seconds=10s", want: -1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDeregistrationDelay(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseDeregistrationDelay(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestWantListenersAndIngress(t *testing.T) {
	proxy := func(clusterIPs bool) *Proxy {
		o := Options{Address: "127.0.0.1"}
		if clusterIPs {
			o.ListenClusterIP = func(_ context.Context, _, _ string) (net.Listener, error) { return nil, nil }
			o.ListenPacketClusterIP = func(_ context.Context, _, _ string) (net.PacketConn, error) { return nil, nil }
		}
		return &Proxy{opts: o, log: logr.Discard()}
	}
	svc := func(typ corev1.ServiceType, class *string, ingress ...corev1.LoadBalancerIngress) *corev1.Service {
		return &corev1.Service{
			Spec: corev1.ServiceSpec{
				Type: typ, ClusterIP: "10.0.0.20", ClusterIPs: []string{"10.0.0.20"}, LoadBalancerClass: class,
				Ports: []corev1.ServicePort{
					{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), NodePort: 30080, Protocol: corev1.ProtocolTCP},
					{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, NodePort: 30053},
				},
			},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress}},
		}
	}
	other := corev1.LoadBalancerIngress{IP: "192.0.2.1"}
	proxyMode := corev1.LoadBalancerIPModeProxy
	ours := corev1.LoadBalancerIngress{IP: "127.0.0.1", IPMode: &proxyMode, Ports: []corev1.PortStatus{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}}
	http := portKey{name: "http", protocol: corev1.ProtocolTCP}
	dns := portKey{name: "dns", protocol: corev1.ProtocolUDP}
	tests := []struct {
		name          string
		clusterIPs    bool
		svc           *corev1.Service
		errs          map[portNumber]string
		wantListeners []listenerKey
		wantIngress   []corev1.LoadBalancerIngress
	}{
		{
			name: "ClusterIP served", clusterIPs: true, svc: svc(corev1.ServiceTypeClusterIP, nil),
			wantListeners: []listenerKey{
				{kind: kindClusterIP, addr: netip.MustParseAddrPort("10.0.0.20:53"), port: dns},
				{kind: kindClusterIP, addr: netip.MustParseAddrPort("10.0.0.20:80"), port: http},
			},
		},
		{
			name: "ClusterIP not served", svc: svc(corev1.ServiceTypeClusterIP, nil),
		},
		{
			name: "NodePort", svc: svc(corev1.ServiceTypeNodePort, nil),
			wantListeners: []listenerKey{
				{kind: kindNodePort, addr: netip.MustParseAddrPort("127.0.0.1:30053"), port: dns},
				{kind: kindNodePort, addr: netip.MustParseAddrPort("127.0.0.1:30080"), port: http},
			},
		},
		{
			name: "LoadBalancer", clusterIPs: true, svc: svc(corev1.ServiceTypeLoadBalancer, nil, other),
			wantListeners: []listenerKey{
				{kind: kindClusterIP, addr: netip.MustParseAddrPort("10.0.0.20:53"), port: dns},
				{kind: kindClusterIP, addr: netip.MustParseAddrPort("10.0.0.20:80"), port: http},
				{kind: kindLoadBalancer, addr: netip.MustParseAddrPort("127.0.0.1:53"), port: dns},
				{kind: kindLoadBalancer, addr: netip.MustParseAddrPort("127.0.0.1:80"), port: http},
				{kind: kindNodePort, addr: netip.MustParseAddrPort("127.0.0.1:30053"), port: dns},
				{kind: kindNodePort, addr: netip.MustParseAddrPort("127.0.0.1:30080"), port: http},
			},
			wantIngress: []corev1.LoadBalancerIngress{other, ours},
		},
		{
			name: "LoadBalancer with a port in use", svc: svc(corev1.ServiceTypeLoadBalancer, ptr.To(LoadBalancerClass)),
			errs: map[portNumber]string{{80, corev1.ProtocolTCP}: PortInUse},
			wantListeners: []listenerKey{
				{kind: kindLoadBalancer, addr: netip.MustParseAddrPort("127.0.0.1:53"), port: dns},
				{kind: kindLoadBalancer, addr: netip.MustParseAddrPort("127.0.0.1:80"), port: http},
				{kind: kindNodePort, addr: netip.MustParseAddrPort("127.0.0.1:30053"), port: dns},
				{kind: kindNodePort, addr: netip.MustParseAddrPort("127.0.0.1:30080"), port: http},
			},
			wantIngress: []corev1.LoadBalancerIngress{{IP: "127.0.0.1", IPMode: &proxyMode, Ports: []corev1.PortStatus{
				{Port: 80, Protocol: corev1.ProtocolTCP, Error: ptr.To(PortInUse)}, {Port: 53, Protocol: corev1.ProtocolUDP}}}},
		},
		{
			name: "LoadBalancer of another class", svc: svc(corev1.ServiceTypeLoadBalancer, ptr.To("example.com/other"), other),
			wantListeners: nil, wantIngress: []corev1.LoadBalancerIngress{other},
		},
		{
			name: "no longer a LoadBalancer: our entry goes", svc: svc(corev1.ServiceTypeClusterIP, nil, ours, other),
			wantIngress: []corev1.LoadBalancerIngress{other},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proxy(tt.clusterIPs)
			ports := servedPorts(tt.svc)
			var got []listenerKey
			for k := range p.wantListeners(tt.svc, ports) {
				got = append(got, k)
			}
			slices.SortFunc(got, func(a, b listenerKey) int {
				return strings.Compare(string(a.kind)+a.addr.String(), string(b.kind)+b.addr.String())
			})
			if diff := cmp.Diff(tt.wantListeners, got, cmp.AllowUnexported(listenerKey{}, portKey{}), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("listeners (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIngress, p.wantIngress(tt.svc, ports, tt.errs)); diff != "" {
				t.Errorf("ingress (-want +got):\n%s", diff)
			}
		})
	}
}
