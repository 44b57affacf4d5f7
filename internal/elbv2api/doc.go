// Package elbv2api is nodeless's seam to Elastic Load Balancing v2: the narrow interface holding
// only the calls nodeless makes (satisfied by *elasticloadbalancingv2.Client from aws-sdk-go-v2),
// the classification of its error codes into the kinds of package ecsapi (one vocabulary for
// every AWS seam), and client construction from the same endpoint and credential options as the
// ECS client.
//
// The controller of package controller/awsservice uses it to give a Kubernetes Service of type
// LoadBalancer a network load balancer whose target groups hold the ready Pods' IPs.
//
// Contract of the calls, as the Elastic Load Balancing API reference (API version 2015-12-01)
// documents them:
//   - CreateLoadBalancer, CreateTargetGroup and CreateListener are idempotent: a second call with
//     the same name (for a listener: the same load balancer and port) and the same settings
//     returns the existing resource; other settings fail with DuplicateLoadBalancerName,
//     DuplicateTargetGroupName or DuplicateListener (KindConflict). Names are 1–32 characters,
//     alphanumerics and hyphens, not starting or ending with a hyphen, and a load balancer's may
//     not start with "internal-".
//   - DescribeLoadBalancers and DescribeTargetGroups by name fail with LoadBalancerNotFound and
//     TargetGroupNotFound (KindNotFound) when one of the names does not exist; by ARN likewise.
//     DescribeTags takes at most 20 ARNs.
//   - DeleteLoadBalancer and DeleteListener of a missing resource succeed; DeleteTargetGroup of a
//     target group still used by a listener fails with ResourceInUse (KindConflict), and succeeds
//     for a missing one.
//   - RegisterTargets is idempotent per (id, port); DeregisterTargets of a target that is not
//     registered succeeds (AWS) or fails with InvalidTarget (moto), which callers treat alike.
//     A deregistered target drains for the target group's deregistration_delay.timeout_seconds.
//   - The protocol, port, VPC and target type of a target group cannot change
//     (ModifyTargetGroup changes only its health check); a change means a new target group.
//   - Calls are throttled per account and Region (Throttling, KindThrottled); the SDK's retryer
//     backs off on it. No call blocks beyond its HTTP round trip.
package elbv2api
