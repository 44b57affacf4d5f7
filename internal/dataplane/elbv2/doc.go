// Package elbv2 is the local data plane's load balancer: the subset of the Elastic Load Balancing
// v2 API (Query protocol; SigV4 service "elasticloadbalancing") that stands up a network load
// balancer for an ECS service, and the machinery that makes it real.
//
// What it serves (docs/adr/0015-local-elbv2.md):
//   - CreateLoadBalancer (Type network), DescribeLoadBalancers, DeleteLoadBalancer,
//     Describe/ModifyLoadBalancerAttributes (deletion_protection.enabled, which DeleteLoadBalancer
//     honours; load_balancing.cross_zone.enabled, recorded: there is one zone). Every local load
//     balancer listens on 127.0.0.1; its DNSName is NAME-ID.elb.localhost, a name that browsers,
//     curl and systemd-resolved answer with 127.0.0.1 (RFC 6761).
//   - CreateTargetGroup (TargetType ip, Protocol TCP, health checks over TCP or HTTP),
//     DescribeTargetGroups, ModifyTargetGroup (the health check; the checks start again with the
//     new settings), DeleteTargetGroup, Describe/ModifyTargetGroupAttributes
//     (deregistration_delay.timeout_seconds; proxy_protocol_v2.enabled sends each target a PROXY
//     protocol v2 header with the client's address).
//   - CreateListener (Protocol TCP, one forward action): a TCP listener on 127.0.0.1:Port that
//     balances connections over the target group's healthy targets with serviceproxy.Pool (the
//     same balancer and drain as Kubernetes LoadBalancer Services); DescribeListeners,
//     ModifyListener (a new port is bound before the change is stored and the old one closed
//     after; a new target group takes the new connections), DeleteListener.
//   - AddTags, RemoveTags, DescribeTags (and Tags on the Create* actions) for load balancers,
//     target groups and listeners: at most 50 per resource, keys of 1–128 and values of at most
//     256 characters, the aws: prefix reserved, as ELBv2 rules.
//   - RegisterTargets, DeregisterTargets, DescribeTargetHealth. A target is health-checked from
//     inside the local VPC every HealthCheckIntervalSeconds and becomes healthy after
//     HealthyThresholdCount passes, unhealthy after UnhealthyThresholdCount failures; a
//     deregistered target drains (takes no new connections, keeps its open ones) for
//     deregistration_delay.timeout_seconds, then it is gone.
//
// Every request member either takes effect or is refused with a ValidationError naming it
// (a member the local data plane does not decode is never ignored). Everything lives in the data
// plane's bbolt store (package store, bucket elbv2): a restart loses nothing, and the listeners
// listen again. A listener whose port another process took meanwhile is tried again every second;
// until it listens, its load balancer's State is active_impaired with a Reason naming the port and
// the bind error (Balancer.Impaired), then active again.
//
// For the ECS service scheduler, Balancer implements scheduler.TargetHealth and
// scheduler.Targets: it registers a service's RUNNING tasks at privateIPv4Address:containerPort,
// judges them by their targets' health, and deregisters a task being stopped and tells the
// scheduler how long it still drains before it may be sent SIGTERM.
package elbv2
