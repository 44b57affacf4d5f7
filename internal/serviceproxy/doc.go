// Package serviceproxy is nodeless's load balancer for Kubernetes Services on the local data
// plane: a userspace TCP and UDP proxy that balances every connection (for UDP: every client
// address's session, see ServeUDP) over the ready endpoints of a
// Service (its EndpointSlices, kept by kube-controller-manager from the Pods' readiness) and
// drains endpoints that leave, as an ELBv2 target group with a deregistration delay does.
//
// Where it listens, per TCP or UDP port of a Service:
//   - on each ClusterIP, inside the local VPC's network namespace (Options.ListenClusterIP; the
//     service CIDR is made local there with vpc.VPC.ServeAddresses), so that tasks reach a Service
//     at its ClusterIP through their default route;
//   - for type LoadBalancer (spec.loadBalancerClass unset or LoadBalancerClass), on Options.Address
//     (127.0.0.1) at the Service port, written to status.loadBalancer.ingress (ip, ipMode Proxy,
//     ports with a listen error such as PortInUse) and removed when the Service stops being one;
//   - for type NodePort and LoadBalancer, on Options.Address at the nodePort (the virtual node's
//     InternalIP is 127.0.0.1).
//
// Every connection is dialed to the endpoint from inside the VPC (Options.Dial), so the
// application sees it come from the VPC's gateway address (10.244.0.1 by default), not from the
// client (an ELBv2 network load balancer with IP targets and client IP preservation off behaves the
// same). A Service annotated with ProxyProtocolAnnotation "*" gets the client's address in a PROXY
// protocol v2 header on each TCP connection of its LoadBalancer listener (Pool.HandleProxyProtocol),
// as an NLB target group with proxy_protocol_v2.enabled sends it; values it cannot honour are
// refused by name (ParseProxyProtocol, InvalidAnnotation). SCTP ports are not balanced.
//
// Pool holds the balancing and draining rules (see its doc) and is also what the local data
// plane's other balancers are built from: the local ELBv2's listeners (one Pool per target group,
// internal/dataplane/elbv2) and the Service Connect client aliases (one Pool per alias port,
// internal/dataplane/connectproxy). Proxy.Drained lets the Pod controller
// hold a deleted Pod's SIGTERM until no load balancer gives it new connections
// (docs/adr/0011-load-balancing.md).
package serviceproxy
