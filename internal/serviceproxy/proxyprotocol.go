package serviceproxy

import (
	"fmt"
	"io"
	"net"
	"strings"

	proxyproto "github.com/pires/go-proxyproto"
)

// ProxyProtocolAnnotation is the annotation of a Service (the in-tree AWS cloud provider's and the
// AWS Load Balancer Controller's) that turns on PROXY protocol v2 between its network load balancer
// and its targets: "*" is the only value either accepts. The local proxy honours it on the
// connections of the LoadBalancer listener (see ParseProxyProtocol), nodeless's AWS controller with
// the target group attribute proxy_protocol_v2.enabled, so that one manifest means the same on both.
const ProxyProtocolAnnotation = "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol"

// ProxyProtocolAll is the one value of ProxyProtocolAnnotation: every port.
const ProxyProtocolAll = "*"

// ProxyProtocolV2Key is the ELBv2 target group attribute that sends a PROXY protocol v2 header on
// each connection to a target; the AWS Load Balancer Controller also reads it from
// TargetGroupAttributesAnnotation ("proxy_protocol_v2.enabled=true").
const ProxyProtocolV2Key = "proxy_protocol_v2.enabled"

// ReasonInvalidAnnotation is the reason of the Warning Event of a Service with an annotation value
// the load balancer cannot honour; nodeless.dev/InvalidAnnotation is the error of its LoadBalancer
// ports in status.loadBalancer.ingress (their listeners stay closed until it is fixed).
const (
	ReasonInvalidAnnotation = "InvalidAnnotation"
	InvalidAnnotation       = "nodeless.dev/InvalidAnnotation"
)

// ParseProxyProtocol says whether the annotations of a Service ask for PROXY protocol v2 towards
// its targets, as the AWS Load Balancer Controller reads them: ProxyProtocolAnnotation "*", else
// proxy_protocol_v2.enabled=true|false in TargetGroupAttributesAnnotation (the former wins when
// both are given). Any other value is an error naming the annotation and the values it takes.
func ParseProxyProtocol(annotations map[string]string) (bool, error) {
	if v, ok := annotations[ProxyProtocolAnnotation]; ok {
		if strings.TrimSpace(v) != ProxyProtocolAll {
			return false, fmt.Errorf("metadata.annotations[%s]: %q is not supported: the only value is %q (PROXY protocol v2 on every TCP port); remove the annotation to turn it off",
				ProxyProtocolAnnotation, v, ProxyProtocolAll)
		}
		return true, nil
	}
	attrs, ok := annotations[TargetGroupAttributesAnnotation]
	if !ok {
		return false, nil
	}
	for _, kv := range strings.Split(attrs, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || strings.TrimSpace(k) != ProxyProtocolV2Key {
			continue
		}
		switch strings.TrimSpace(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, fmt.Errorf("metadata.annotations[%s]: %s=%q: want true or false", TargetGroupAttributesAnnotation, ProxyProtocolV2Key, v)
	}
	return false, nil
}

// writeProxyHeader sends the PROXY protocol v2 header of client (a connection accepted by a
// LoadBalancer listener) to up: command PROXY, the client's address as source and the listener's
// as destination, as an ELBv2 network load balancer sends it (without its AWS TLVs).
func writeProxyHeader(up io.Writer, client net.Conn) error {
	h := proxyproto.HeaderProxyFromAddrs(2, client.RemoteAddr(), client.LocalAddr())
	if _, err := h.WriteTo(up); err != nil {
		return fmt.Errorf("sending the PROXY protocol header: %w", err)
	}
	return nil
}
