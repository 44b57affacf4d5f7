// Package awsservice gives Kubernetes Services under `nodeless controller` what ECS users know on
// AWS (issue 9 item 4; docs/adr/0014-services-on-aws.md):
//
//   - a Service of type LoadBalancer whose spec.loadBalancerClass is Options.LoadBalancerClass
//     (or unset, with Options.DefaultLoadBalancer) gets an ELBv2 network load balancer in
//     Options.Subnets, internal unless annotated service.beta.kubernetes.io/aws-load-balancer-scheme:
//     internet-facing; one listener per Service port (TCP, UDP, or TCP_UDP for a port given for
//     both) forwarding to its own target group of IP targets, the ready endpoints' addresses from
//     the Service's EndpointSlices; the target group's health check is the backing Pods' readiness
//     probe (HealthCheckFor), its deregistration delay the annotation the local proxy honours
//     (service.beta.kubernetes.io/aws-load-balancer-target-group-attributes:
//     deregistration_delay.timeout_seconds=N); status.loadBalancer.ingress[].hostname is its DNS
//     name;
//   - with Options.NamespaceID, every Service but ExternalName ones gets a Cloud Map service
//     NAME.NAMESPACE in that private DNS namespace, with multivalue A records of its ready
//     endpoints' addresses: inside the VPC NAME.NAMESPACE.<namespace's name> resolves.
//
// It runs on the one reconcile skeleton (package controller/reconciler) on corev1.Service: the
// finalizer nodeless.dev/aws-service is held by every Service it handles, and its Finalize
// deletes what the Service got. Everything it creates carries the owner tag
// nodeless.dev/owner-uid (the Service's UID) and has a deterministic name (loadBalancerName,
// targetGroupName, DiscoveryName), so a restarted controller finds what it made, adopts only what
// carries the Service's tag, and never makes a second load balancer; ELBv2's creates are
// idempotent by name and Cloud Map's CreateService by CreatorRequestId (the UID).
//
// It is a pod.Withdrawer (Withdraw, Drained): the Pod controller of the virtual node tells it a
// Pod's address before stopping the Pod's task, and the address leaves the target groups and
// Cloud Map services at once; StopTask waits until it has.
//
// What it learnt of each Service (ARNs, the converged settings, the registered targets and
// instances) is kept in memory, so a Service at rest costs no AWS call; after a restart each
// Service is read from AWS once.
package awsservice
