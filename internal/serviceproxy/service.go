package serviceproxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TargetGroupAttributesAnnotation is the AWS Load Balancer Controller's annotation of a Service
// that sets its target group's attributes; the proxy reads deregistration_delay.timeout_seconds
// from it ("deregistration_delay.timeout_seconds=120", comma-separated key=value pairs), so that one
// manifest means the same locally and on AWS.
const TargetGroupAttributesAnnotation = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"

// deregistrationDelayKey is the target group attribute (ELBv2), 0..3600 seconds.
const deregistrationDelayKey = "deregistration_delay.timeout_seconds"

// PortInUse is the status.loadBalancer.ingress[].ports[].error of a port the load balancer could
// not listen on because something else holds it; ListenFailed of any other failure.
const (
	PortInUse    = "nodeless.dev/PortInUse"
	ListenFailed = "nodeless.dev/ListenFailed"
)

// servedPorts are the Service's TCP and UDP ports (SCTP ports are not balanced).
func servedPorts(svc *corev1.Service) []corev1.ServicePort {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var out []corev1.ServicePort
	for _, sp := range svc.Spec.Ports {
		if sp.Protocol == "" {
			sp.Protocol = corev1.ProtocolTCP
		}
		if sp.Protocol == corev1.ProtocolTCP || sp.Protocol == corev1.ProtocolUDP {
			out = append(out, sp)
		}
	}
	return out
}

func hasPort(ports []corev1.ServicePort, k portKey) bool {
	for _, sp := range ports {
		if sp.Name == k.name && sp.Protocol == k.protocol {
			return true
		}
	}
	return false
}

func portName(sp corev1.ServicePort) string {
	if sp.Name != "" {
		return sp.Name
	}
	return strconv.Itoa(int(sp.Port))
}

// isLoadBalancer says whether svc is a LoadBalancer Service this proxy serves (no class, or
// LoadBalancerClass).
func isLoadBalancer(svc *corev1.Service) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	c := svc.Spec.LoadBalancerClass
	return c == nil || *c == LoadBalancerClass
}

// wantListeners are the listeners svc needs: each port on its ClusterIPs (when the proxy serves
// ClusterIPs of the port's protocol), on Address at the Service port (type LoadBalancer) and at the nodePort (type
// NodePort, and LoadBalancer unless node ports are not allocated).
func (p *Proxy) wantListeners(svc *corev1.Service, ports []corev1.ServicePort) map[listenerKey]corev1.ServicePort {
	want := map[listenerKey]corev1.ServicePort{}
	host := netip.MustParseAddr(p.opts.Address)
	var vips []netip.Addr
	if p.opts.ListenClusterIP != nil {
		for _, ip := range svc.Spec.ClusterIPs {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
				vips = append(vips, a)
			}
		}
	}
	lb := isLoadBalancer(svc)
	nodePorts := svc.Spec.Type == corev1.ServiceTypeNodePort || lb
	for _, sp := range ports {
		pk := portKey{name: sp.Name, protocol: sp.Protocol}
		portVIPs := vips
		if sp.Protocol == corev1.ProtocolUDP && p.opts.ListenPacketClusterIP == nil {
			portVIPs = nil
		}
		for _, vip := range portVIPs {
			want[listenerKey{kind: kindClusterIP, addr: netip.AddrPortFrom(vip, uint16(sp.Port)), port: pk}] = sp
		}
		if lb {
			want[listenerKey{kind: kindLoadBalancer, addr: netip.AddrPortFrom(host, uint16(sp.Port)), port: pk}] = sp
		}
		if nodePorts && sp.NodePort > 0 {
			want[listenerKey{kind: kindNodePort, addr: netip.AddrPortFrom(host, uint16(sp.NodePort)), port: pk}] = sp
		}
	}
	return want
}

func listenError(err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return PortInUse
	}
	return ListenFailed
}

// deregistrationDelay is the Service's delay: TargetGroupAttributesAnnotation's, else the
// default. A value that is not 0..3600 seconds gives the default and an error naming the
// annotation (the caller refuses it by name, see apply).
func (p *Proxy) deregistrationDelay(svc *corev1.Service) (time.Duration, error) {
	d, err := ParseDeregistrationDelay(svc.Annotations[TargetGroupAttributesAnnotation])
	if err != nil {
		return p.opts.DeregistrationDelay, fmt.Errorf("metadata.annotations[%s]: %w", TargetGroupAttributesAnnotation, err)
	}
	if d < 0 {
		return p.opts.DeregistrationDelay, nil
	}
	return d, nil
}

// ParseDeregistrationDelay reads deregistration_delay.timeout_seconds from the value of
// TargetGroupAttributesAnnotation; -1 when it is not there. The error names the attribute and the
// range (0..3600, ELBv2's).
func ParseDeregistrationDelay(attrs string) (time.Duration, error) {
	for _, kv := range strings.Split(attrs, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || strings.TrimSpace(k) != deregistrationDelayKey {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 3600 {
			return -1, fmt.Errorf("%s=%q: want whole seconds from 0 to 3600", deregistrationDelayKey, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	return -1, nil
}

// wantIngress is the status.loadBalancer.ingress svc should show: for a LoadBalancer Service this
// proxy serves, one entry at Address (ipMode Proxy: the load balancer is a proxy, clients must
// go through it) with every TCP port and its listen error; otherwise the entries of others only
// (an entry at Address left from when the Service was a LoadBalancer is removed).
func (p *Proxy) wantIngress(svc *corev1.Service, ports []corev1.ServicePort, errs map[portNumber]string) []corev1.LoadBalancerIngress {
	var out []corev1.LoadBalancerIngress
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP != p.opts.Address {
			out = append(out, in)
		}
	}
	if !isLoadBalancer(svc) {
		return out
	}
	mode := corev1.LoadBalancerIPModeProxy
	in := corev1.LoadBalancerIngress{IP: p.opts.Address, IPMode: &mode}
	for _, sp := range ports {
		ps := corev1.PortStatus{Port: sp.Port, Protocol: sp.Protocol}
		if e := errs[portNumber{sp.Port, sp.Protocol}]; e != "" {
			ps.Error = &e
		}
		in.Ports = append(in.Ports, ps)
	}
	return append(out, in)
}

// writeStatus updates svc's status.loadBalancer when it differs from wantIngress.
func (p *Proxy) writeStatus(ctx context.Context, svc *corev1.Service, errs map[portNumber]string) error {
	want := p.wantIngress(svc, servedPorts(svc), errs)
	if equality.Semantic.DeepEqual(want, svc.Status.LoadBalancer.Ingress) ||
		(len(want) == 0 && len(svc.Status.LoadBalancer.Ingress) == 0) {
		return nil
	}
	up := svc.DeepCopy()
	up.Status.LoadBalancer.Ingress = want
	if _, err := p.opts.Client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, up, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing status.loadBalancer of Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}
