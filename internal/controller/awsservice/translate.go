package awsservice

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// Annotations read from a Service, spelled as the AWS Load Balancer Controller spells them, so
// that one manifest means the same under nodeless and under that controller.
const (
	// SchemeAnnotation: "internal" (the default) or "internet-facing".
	SchemeAnnotation = "service.beta.kubernetes.io/aws-load-balancer-scheme"
	// TargetGroupAttributesAnnotation: "deregistration_delay.timeout_seconds=N" and
	// "proxy_protocol_v2.enabled=true|false" (the attributes read; the local proxy reads the same,
	// ADR 0011).
	TargetGroupAttributesAnnotation = serviceproxy.TargetGroupAttributesAnnotation
	// ProxyProtocolAnnotation "*": the target groups of TCP listeners send their targets a PROXY
	// protocol v2 header (proxy_protocol_v2.enabled); the local proxy's LoadBalancer listener does
	// the same.
	ProxyProtocolAnnotation = serviceproxy.ProxyProtocolAnnotation
	// DiscoveryAnnotation "false" keeps a Service out of Cloud Map.
	DiscoveryAnnotation = "nodeless.dev/service-discovery"
)

// Schemes of a load balancer.
const (
	SchemeInternal       = "internal"
	SchemeInternetFacing = "internet-facing"
)

// Health check limits of a network load balancer's target group (ELBv2 API reference,
// CreateTargetGroup): interval 5–300 s, timeout 2–120 s (and shorter than the interval),
// thresholds 2–10.
const (
	minInterval, maxInterval   = 5, 300
	minTimeout, maxTimeout     = 2, 120
	minThreshold, maxThreshold = 2, 10
)

// TrafficPort is the HealthCheckPort meaning "the port each target receives traffic on".
const TrafficPort = "traffic-port"

// HealthCheck is a target group's health check.
type HealthCheck struct {
	// Protocol is HTTP, HTTPS or TCP.
	Protocol elbv2types.ProtocolEnum
	// Port is TrafficPort or a port number.
	Port string
	// Path and Matcher (HTTP codes) are set for HTTP and HTTPS only.
	Path, Matcher string
	// IntervalSeconds, TimeoutSeconds, HealthyThreshold and UnhealthyThreshold, within NLB's
	// limits.
	IntervalSeconds, TimeoutSeconds, HealthyThreshold, UnhealthyThreshold int32
}

// DefaultHealthCheck is a TCP check of the traffic port with the Kubernetes defaults of a
// readiness probe (every 10 s, 3 failures), raised to NLB's minimums: for targets whose Pods
// have no probe it can translate.
func DefaultHealthCheck() HealthCheck {
	return HealthCheck{Protocol: elbv2types.ProtocolEnumTcp, Port: TrafficPort,
		IntervalSeconds: 10, TimeoutSeconds: minTimeout, HealthyThreshold: minThreshold, UnhealthyThreshold: 3}
}

// HealthCheckFor translates the readiness probe of the container of pod that serves targetPort
// (the endpoint's port number) into a target group health check: httpGet → HTTP or HTTPS with
// its path (success: 200–399, as the kubelet counts it), tcpSocket → TCP, both on the probe's
// port (TrafficPort when it is the target port); exec, grpc (NLB has no gRPC health check) and no
// probe → TCP on the traffic port. The probe's period, timeout and thresholds carry over,
// clamped to NLB's limits (a successThreshold of 1 becomes 2, NLB's minimum).
func HealthCheckFor(pod *corev1.Pod, targetPort int32) HealthCheck {
	hc := DefaultHealthCheck()
	if pod == nil {
		return hc
	}
	c, probe := readinessProbe(pod, targetPort)
	if probe == nil {
		return hc
	}
	hc.IntervalSeconds = clamp(orDefault(probe.PeriodSeconds, 10), minInterval, maxInterval)
	hc.TimeoutSeconds = clamp(orDefault(probe.TimeoutSeconds, 1), minTimeout, min(maxTimeout, hc.IntervalSeconds-1))
	hc.HealthyThreshold = clamp(orDefault(probe.SuccessThreshold, 1), minThreshold, maxThreshold)
	hc.UnhealthyThreshold = clamp(orDefault(probe.FailureThreshold, 3), minThreshold, maxThreshold)
	switch {
	case probe.HTTPGet != nil:
		hc.Protocol = elbv2types.ProtocolEnumHttp
		if probe.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			hc.Protocol = elbv2types.ProtocolEnumHttps
		}
		hc.Path = probe.HTTPGet.Path
		if hc.Path == "" {
			hc.Path = "/"
		}
		hc.Matcher = "200-399"
		hc.Port = healthPort(c, probe.HTTPGet.Port, targetPort)
	case probe.TCPSocket != nil:
		hc.Port = healthPort(c, probe.TCPSocket.Port, targetPort)
	}
	return hc
}

// readinessProbe finds the container of pod exposing targetPort and its readiness probe (the
// first container with a probe when none declares the port).
func readinessProbe(pod *corev1.Pod, targetPort int32) (*corev1.Container, *corev1.Probe) {
	var fallback *corev1.Container
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if c.ReadinessProbe == nil {
			continue
		}
		if slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == targetPort }) {
			return c, c.ReadinessProbe
		}
		if fallback == nil {
			fallback = c
		}
	}
	if fallback == nil {
		return nil, nil
	}
	return fallback, fallback.ReadinessProbe
}

// healthPort is the HealthCheckPort of a probe port: TrafficPort when it is the target port (or
// a name the container does not declare), else its number.
func healthPort(c *corev1.Container, port intstr.IntOrString, targetPort int32) string {
	n := port.IntVal
	if port.Type == intstr.String {
		n = 0
		for _, p := range c.Ports {
			if p.Name == port.StrVal {
				n = p.ContainerPort
			}
		}
	}
	if n == 0 || n == targetPort {
		return TrafficPort
	}
	return strconv.Itoa(int(n))
}

func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}

func clamp(v, lo, hi int32) int32 { return max(lo, min(v, hi)) }

// ListenerSpec is one listener of the load balancer and its target group.
type ListenerSpec struct {
	// Port and Protocol of the listener (the Service port; TCP, UDP, or TCP_UDP when the Service
	// has the port for both).
	Port     int32
	Protocol elbv2types.ProtocolEnum
	// TargetGroupName is deterministic (see targetGroupName): a change of the target group's
	// immutable settings gives another name, so another target group.
	TargetGroupName string
	// TargetPort is the target group's port: the Service port's targetPort when it is a number,
	// else the Service port (each target is registered with its own resolved port anyway).
	TargetPort int32
	// ServicePort is the Service port's name, which the EndpointSlices' ports carry.
	ServicePort string
}

// LoadBalancerSpec is what a Service of type LoadBalancer asks for.
type LoadBalancerSpec struct {
	Name           string
	Scheme         elbv2types.LoadBalancerSchemeEnum
	Listeners      []ListenerSpec
	DeregisterWait time.Duration
	// ProxyProtocol: the TCP target groups have proxy_protocol_v2.enabled (UDP ones never: ELBv2
	// carries the client's address of a UDP flow itself).
	ProxyProtocol bool
}

// DesiredLoadBalancer is the network load balancer of svc. The error names the field or
// annotation to fix: an unknown scheme, an SCTP port, a port given for TCP and UDP with two
// target ports, a malformed deregistration delay, a PROXY protocol setting other than "*" or on a
// TCP_UDP listener.
func DesiredLoadBalancer(svc *corev1.Service, cluster string, defaultDelay time.Duration) (LoadBalancerSpec, error) {
	spec := LoadBalancerSpec{DeregisterWait: defaultDelay}
	switch s := svc.Annotations[SchemeAnnotation]; s {
	case "", SchemeInternal:
		spec.Scheme = elbv2types.LoadBalancerSchemeEnumInternal
	case SchemeInternetFacing:
		spec.Scheme = elbv2types.LoadBalancerSchemeEnumInternetFacing
	default:
		return spec, fmt.Errorf("metadata.annotations[%s]: %q is not a scheme: use %s or %s", SchemeAnnotation, s, SchemeInternal, SchemeInternetFacing)
	}
	spec.Name = loadBalancerName(svc, cluster, spec.Scheme)
	if a, ok := svc.Annotations[TargetGroupAttributesAnnotation]; ok {
		d, err := serviceproxy.ParseDeregistrationDelay(a)
		if err != nil {
			return spec, fmt.Errorf("metadata.annotations[%s]: %w", TargetGroupAttributesAnnotation, err)
		}
		if d >= 0 {
			spec.DeregisterWait = d
		}
	}
	pp, err := serviceproxy.ParseProxyProtocol(svc.Annotations)
	if err != nil {
		return spec, err
	}
	spec.ProxyProtocol = pp
	byPort := map[int32]int{}
	for i, sp := range svc.Spec.Ports {
		proto, err := listenerProtocol(sp.Protocol)
		if err != nil {
			return spec, fmt.Errorf("spec.ports[%d].protocol: %w", i, err)
		}
		l := ListenerSpec{Port: sp.Port, Protocol: proto, TargetPort: sp.Port, ServicePort: sp.Name}
		if sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0 {
			l.TargetPort = sp.TargetPort.IntVal
		}
		if j, ok := byPort[sp.Port]; ok {
			prev := &spec.Listeners[j]
			if prev.TargetPort != l.TargetPort || sp.TargetPort.Type == intstr.String {
				return spec, fmt.Errorf("spec.ports[%d]: port %d is also given for %s with another target port; an NLB listener (TCP_UDP) has one target group: give both protocols the same numeric targetPort", i, sp.Port, prev.Protocol)
			}
			prev.Protocol = elbv2types.ProtocolEnumTcpUdp
			continue
		}
		byPort[sp.Port] = len(spec.Listeners)
		spec.Listeners = append(spec.Listeners, l)
	}
	for i := range spec.Listeners {
		if spec.ProxyProtocol && spec.Listeners[i].Protocol == elbv2types.ProtocolEnumTcpUdp {
			return spec, fmt.Errorf("metadata.annotations[%s]: port %d is given for TCP and UDP (one TCP_UDP target group), and PROXY protocol v2 is sent on TCP connections only: give the UDP port another port number, or remove the annotation",
				ProxyProtocolAnnotation, spec.Listeners[i].Port)
		}
		spec.Listeners[i].TargetGroupName = targetGroupName(svc, cluster, spec.Listeners[i])
	}
	return spec, nil
}

func listenerProtocol(p corev1.Protocol) (elbv2types.ProtocolEnum, error) {
	switch p {
	case "", corev1.ProtocolTCP:
		return elbv2types.ProtocolEnumTcp, nil
	case corev1.ProtocolUDP:
		return elbv2types.ProtocolEnumUdp, nil
	}
	return "", fmt.Errorf("%s is not supported by nodeless's network load balancers: use TCP or UDP", p)
}

// loadBalancerName is "nl-NS-NAME-HASH" (≤ 32 characters, ELBv2's limit): NS and NAME cut to 8
// characters for people reading the console, HASH (10 hex digits) of the cluster, the
// Service's namespace, name and UID, so that a Service deleted and created again gets another
// load balancer (the old one may still be deleting), and of the scheme, which a load balancer
// cannot change (another scheme is another load balancer).
func loadBalancerName(svc *corev1.Service, cluster string, scheme elbv2types.LoadBalancerSchemeEnum) string {
	h := hash(cluster, svc.Namespace, svc.Name, string(svc.UID), string(scheme))
	return "nl-" + cut(svc.Namespace, 8) + "-" + cut(svc.Name, 8) + "-" + h
}

// loadBalancerNames are the names svc's load balancer may have, one per scheme.
func loadBalancerNames(svc *corev1.Service, cluster string) []string {
	return []string{
		loadBalancerName(svc, cluster, elbv2types.LoadBalancerSchemeEnumInternal),
		loadBalancerName(svc, cluster, elbv2types.LoadBalancerSchemeEnumInternetFacing),
	}
}

// targetGroupName is "nl-NAME-PORT-HASH" (≤ 32 characters), HASH of the Service's identity and
// the target group's immutable settings (protocol, port).
func targetGroupName(svc *corev1.Service, cluster string, l ListenerSpec) string {
	h := hash(cluster, svc.Namespace, svc.Name, string(svc.UID), string(l.Protocol), strconv.Itoa(int(l.TargetPort)), strconv.Itoa(int(l.Port)))
	return "nl-" + cut(svc.Name, 8) + "-" + strconv.Itoa(int(l.Port)) + "-" + h
}

// cut shortens a Kubernetes name (lower-case alphanumerics and '-') to n characters, without a
// trailing '-' (ELBv2 names may not have one before the next '-' either: "a--b" is allowed, but
// a name may not end with one).
func cut(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Trim(s, "-")
}

func hash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:10]
}

// Target is a registered or wanted IP target.
type Target struct {
	IP   string
	Port int32
}

// ReadyTargets are the ready IPv4 endpoints of the EndpointSlices for the Service port named
// portName, each once, sorted: an endpoint whose ready condition is true or unset ("nil should be
// interpreted as true", discovery/v1).
func ReadyTargets(eps []discoveryv1.EndpointSlice, portName string) []Target {
	seen := map[Target]bool{}
	var out []Target
	for _, s := range eps {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		port, ok := slicePort(s, portName)
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				t := Target{IP: a, Port: port}
				if !seen[t] {
					seen[t] = true
					out = append(out, t)
				}
			}
		}
	}
	sortTargets(out)
	return out
}

func slicePort(s discoveryv1.EndpointSlice, name string) (int32, bool) {
	for _, p := range s.Ports {
		if p.Port != nil && ptrString(p.Name) == name {
			return *p.Port, true
		}
	}
	return 0, false
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func sortTargets(ts []Target) {
	slices.SortFunc(ts, func(a, b Target) int {
		if c := strings.Compare(a.IP, b.IP); c != 0 {
			return c
		}
		return int(a.Port - b.Port)
	})
}

// DiffTargets returns the targets of want not in have (to register) and those of have not in
// want (to deregister), each sorted.
func DiffTargets(want, have []Target) (register, deregister []Target) {
	in := func(ts []Target) map[Target]bool {
		m := map[Target]bool{}
		for _, t := range ts {
			m[t] = true
		}
		return m
	}
	w, h := in(want), in(have)
	for t := range w {
		if !h[t] {
			register = append(register, t)
		}
	}
	for t := range h {
		if !w[t] {
			deregister = append(deregister, t)
		}
	}
	sortTargets(register)
	sortTargets(deregister)
	return register, deregister
}

// ReadyIPs are the ready endpoints' addresses of every port, each once, sorted (Cloud Map
// instances: a name resolves to addresses, not ports).
func ReadyIPs(eps []discoveryv1.EndpointSlice) []string {
	seen := map[string]bool{}
	for _, s := range eps {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				seen[a] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// DiscoveryName is the Cloud Map service name of svc, "NAME.NAMESPACE": in a private DNS
// namespace N it resolves as NAME.NAMESPACE.N (N = svc.cluster.local gives Kubernetes' own
// fully qualified name).
func DiscoveryName(svc *corev1.Service) string { return svc.Name + "." + svc.Namespace }
