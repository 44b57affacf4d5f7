// Package ec2api is nodeless's seam to Amazon EC2, holding only what nodeless needs of it:
// DescribeSubnets, to find the VPC of the subnets a load balancer and its target groups live in
// (a target group of IP targets names its VPC). It is satisfied by *ec2.Client from
// aws-sdk-go-v2; error codes map to the kinds of package ecsapi.
//
// Contract (EC2 API reference): DescribeSubnets with SubnetIds fails with
// InvalidSubnetID.NotFound (KindNotFound) when one of them does not exist and
// InvalidSubnetID.Malformed (KindInvalidParameter) for an id that is not one; it does not block
// beyond its HTTP round trip; RequestLimitExceeded is KindThrottled.
package ec2api
