package awsservice

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func podWithProbe(ports []corev1.ContainerPort, probe *corev1.Probe) *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "sidecar", Ports: []corev1.ContainerPort{{ContainerPort: 15000}}},
		{Name: "app", Ports: ports, ReadinessProbe: probe},
	}}}
}

func TestHealthCheckFor(t *testing.T) {
	http := []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "admin", ContainerPort: 9901}}
	tests := []struct {
		name       string
		pod        *corev1.Pod
		targetPort int32
		want       HealthCheck
	}{
		{"no pod: TCP on the traffic port", nil, 8080, DefaultHealthCheck()},
		{"no probe: TCP on the traffic port", podWithProbe(http, nil), 8080, DefaultHealthCheck()},
		{"httpGet on the target port, defaults", podWithProbe(http, &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
		}), 8080, HealthCheck{Protocol: elbv2types.ProtocolEnumHttp, Port: TrafficPort, Path: "/ready", Matcher: "200-399",
			IntervalSeconds: 10, TimeoutSeconds: 2, HealthyThreshold: 2, UnhealthyThreshold: 3}},
		{"httpGet on another port, HTTPS, no path, clamped numbers", podWithProbe(http, &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("admin"), Scheme: corev1.URISchemeHTTPS}},
			PeriodSeconds: 1, TimeoutSeconds: 30, SuccessThreshold: 1, FailureThreshold: 50,
		}), 8080, HealthCheck{Protocol: elbv2types.ProtocolEnumHttps, Port: "9901", Path: "/", Matcher: "200-399",
			IntervalSeconds: 5, TimeoutSeconds: 4, HealthyThreshold: 2, UnhealthyThreshold: 10}},
		{"tcpSocket by number", podWithProbe(http, &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9901)}},
			PeriodSeconds: 20, TimeoutSeconds: 5, SuccessThreshold: 3, FailureThreshold: 2,
		}), 8080, HealthCheck{Protocol: elbv2types.ProtocolEnumTcp, Port: "9901",
			IntervalSeconds: 20, TimeoutSeconds: 5, HealthyThreshold: 3, UnhealthyThreshold: 2}},
		{"exec: TCP on the traffic port with the probe's timing", podWithProbe(http, &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
			PeriodSeconds: 30,
		}), 8080, HealthCheck{Protocol: elbv2types.ProtocolEnumTcp, Port: TrafficPort,
			IntervalSeconds: 30, TimeoutSeconds: 2, HealthyThreshold: 2, UnhealthyThreshold: 3}},
		{"grpc: no NLB gRPC check, TCP on the traffic port", podWithProbe(http, &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9901}},
		}), 8080, HealthCheck{Protocol: elbv2types.ProtocolEnumTcp, Port: TrafficPort,
			IntervalSeconds: 10, TimeoutSeconds: 2, HealthyThreshold: 2, UnhealthyThreshold: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, HealthCheckFor(tt.pod, tt.targetPort)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func lbService(annotations map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "frontend-with-a-long-name", Namespace: "shop", UID: "uid-1", Annotations: annotations},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: ports},
	}
}

func TestDesiredLoadBalancer(t *testing.T) {
	svc := lbService(map[string]string{TargetGroupAttributesAnnotation: "stickiness.enabled=false, deregistration_delay.timeout_seconds=120"},
		corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
		corev1.ServicePort{Name: "dns-tcp", Port: 53, TargetPort: intstr.FromInt32(5353), Protocol: corev1.ProtocolTCP},
		corev1.ServicePort{Name: "dns-udp", Port: 53, TargetPort: intstr.FromInt32(5353), Protocol: corev1.ProtocolUDP},
		corev1.ServicePort{Name: "syslog", Port: 514, Protocol: corev1.ProtocolUDP},
	)
	got, err := DesiredLoadBalancer(svc, "prod", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Scheme != elbv2types.LoadBalancerSchemeEnumInternal || got.DeregisterWait != 120*time.Second {
		t.Errorf("scheme %s, delay %v; want internal (the default) and 120s (annotated)", got.Scheme, got.DeregisterWait)
	}
	type l struct {
		Port, TargetPort int32
		Protocol         elbv2types.ProtocolEnum
		ServicePort      string
	}
	var ls []l
	for _, x := range got.Listeners {
		ls = append(ls, l{x.Port, x.TargetPort, x.Protocol, x.ServicePort})
		if len(x.TargetGroupName) > 32 || !strings.HasPrefix(x.TargetGroupName, "nl-frontend-") {
			t.Errorf("target group name %q: want nl-frontend-..., at most 32 characters", x.TargetGroupName)
		}
	}
	want := []l{{80, 80, "TCP", "http"}, {53, 5353, "TCP_UDP", "dns-tcp"}, {514, 514, "UDP", "syslog"}}
	if diff := cmp.Diff(want, ls); diff != "" {
		t.Errorf("listeners -want +got:\n%s", diff)
	}
	if len(got.Name) > 32 || !strings.HasPrefix(got.Name, "nl-shop-frontend-") {
		t.Errorf("load balancer name %q: want nl-shop-frontend-..., at most 32 characters", got.Name)
	}

	// Another scheme is another load balancer; the same Service gets the same names again.
	svc.Annotations[SchemeAnnotation] = SchemeInternetFacing
	other, err := DesiredLoadBalancer(svc, "prod", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if other.Name == got.Name || other.Listeners[0].TargetGroupName != got.Listeners[0].TargetGroupName {
		t.Errorf("internet-facing: name %s (internal %s), target group %s (internal %s)", other.Name, got.Name, other.Listeners[0].TargetGroupName, got.Listeners[0].TargetGroupName)
	}
	if names := loadBalancerNames(svc, "prod"); !cmp.Equal(names, []string{got.Name, other.Name}) {
		t.Errorf("loadBalancerNames = %v, want %v", names, []string{got.Name, other.Name})
	}
}

func TestDesiredLoadBalancerRefusals(t *testing.T) {
	tests := []struct {
		name string
		svc  *corev1.Service
		want string
	}{
		{"unknown scheme", lbService(map[string]string{SchemeAnnotation: "public"}, corev1.ServicePort{Port: 80}),
			`metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-scheme]: "public" is not a scheme`},
		{"SCTP", lbService(nil, corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolSCTP}),
			"spec.ports[0].protocol: SCTP is not supported"},
		{"TCP and UDP with two target ports", lbService(nil,
			corev1.ServicePort{Name: "a", Port: 53, TargetPort: intstr.FromInt32(53), Protocol: corev1.ProtocolTCP},
			corev1.ServicePort{Name: "b", Port: 53, TargetPort: intstr.FromInt32(5353), Protocol: corev1.ProtocolUDP}),
			"spec.ports[1]: port 53 is also given for TCP with another target port"},
		{"bad delay", lbService(map[string]string{TargetGroupAttributesAnnotation: "deregistration_delay.timeout_seconds=forever"}, corev1.ServicePort{Port: 80}),
			"deregistration_delay.timeout_seconds=\"forever\": want whole seconds from 0 to 3600"},
		{"PROXY protocol other than *", lbService(map[string]string{ProxyProtocolAnnotation: "true"}, corev1.ServicePort{Port: 80}),
			`metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-proxy-protocol]: "true" is not supported: the only value is "*"`},
		{"PROXY protocol attribute not a boolean", lbService(map[string]string{TargetGroupAttributesAnnotation: "proxy_protocol_v2.enabled=on"}, corev1.ServicePort{Port: 80}),
			`metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-target-group-attributes]: proxy_protocol_v2.enabled="on": want true or false`},
		{"PROXY protocol on a TCP_UDP listener", lbService(map[string]string{ProxyProtocolAnnotation: "*"},
			corev1.ServicePort{Name: "a", Port: 53, TargetPort: intstr.FromInt32(53), Protocol: corev1.ProtocolTCP},
			corev1.ServicePort{Name: "b", Port: 53, TargetPort: intstr.FromInt32(53), Protocol: corev1.ProtocolUDP}),
			"metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-proxy-protocol]: port 53 is given for TCP and UDP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DesiredLoadBalancer(tt.svc, "c", time.Second)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func slice(port string, number int32, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
	return discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
		Ports: []discoveryv1.EndpointPort{{Name: aws.String(port), Port: aws.Int32(number)}}}
}

func ep(ready *bool, addrs ...string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func TestReadyTargetsAndDiff(t *testing.T) {
	eps := []discoveryv1.EndpointSlice{
		slice("http", 8080, ep(aws.Bool(true), "10.0.0.2"), ep(nil, "10.0.0.1"), ep(aws.Bool(false), "10.0.0.3")),
		// A Pod of a newer template serving the named port on another number.
		slice("http", 8081, ep(aws.Bool(true), "10.0.0.4"), ep(aws.Bool(true), "10.0.0.2")),
		slice("metrics", 9090, ep(aws.Bool(true), "10.0.0.5")),
		{AddressType: discoveryv1.AddressTypeIPv6, Endpoints: []discoveryv1.Endpoint{ep(nil, "fd00::1")},
			Ports: []discoveryv1.EndpointPort{{Name: aws.String("http"), Port: aws.Int32(8080)}}},
	}
	got := ReadyTargets(eps, "http")
	want := []Target{{"10.0.0.1", 8080}, {"10.0.0.2", 8080}, {"10.0.0.2", 8081}, {"10.0.0.4", 8081}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadyTargets -want +got:\n%s", diff)
	}
	register, deregister := DiffTargets(got, []Target{{"10.0.0.2", 8080}, {"10.0.0.9", 8080}, {"10.0.0.1", 8080}})
	if diff := cmp.Diff([]Target{{"10.0.0.2", 8081}, {"10.0.0.4", 8081}}, register); diff != "" {
		t.Errorf("register -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]Target{{"10.0.0.9", 8080}}, deregister); diff != "" {
		t.Errorf("deregister -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5"}, ReadyIPs(eps)); diff != "" {
		t.Errorf("ReadyIPs -want +got:\n%s", diff)
	}
}

func TestTargetGroupAttributes(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		protocol    corev1.Protocol
		want        map[string]string
	}{
		{"TCP, no annotation: PROXY protocol off", nil, corev1.ProtocolTCP,
			map[string]string{"deregistration_delay.timeout_seconds": "30", "proxy_protocol_v2.enabled": "false"}},
		{"TCP, proxy-protocol *", map[string]string{ProxyProtocolAnnotation: "*"}, corev1.ProtocolTCP,
			map[string]string{"deregistration_delay.timeout_seconds": "30", "proxy_protocol_v2.enabled": "true"}},
		{"TCP, the target group attribute", map[string]string{TargetGroupAttributesAnnotation: "proxy_protocol_v2.enabled=true,deregistration_delay.timeout_seconds=5"}, corev1.ProtocolTCP,
			map[string]string{"deregistration_delay.timeout_seconds": "5", "proxy_protocol_v2.enabled": "true"}},
		{"UDP: never the PROXY protocol attribute", map[string]string{ProxyProtocolAnnotation: "*"}, corev1.ProtocolUDP,
			map[string]string{"deregistration_delay.timeout_seconds": "30"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := DesiredLoadBalancer(lbService(tt.annotations, corev1.ServicePort{Port: 80, Protocol: tt.protocol}), "c", 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, targetGroupAttributes(spec.Listeners[0], spec)); diff != "" {
				t.Errorf("targetGroupAttributes -want +got:\n%s", diff)
			}
		})
	}
}
