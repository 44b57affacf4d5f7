package api

import (
	"errors"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// checkTargetGroup applies ECS's rules to loadBalancers[i] of a service, against the local ELBv2
// API's target groups (package elbv2, same store): a Fargate service names a targetGroupArn
// (Classic Load Balancers are not supported with Fargate), the target group exists, and a
// listener of a load balancer forwards to it. The messages are ECS's, with what to do locally.
func checkTargetGroup(tx *store.Tx, i int, lb model.LoadBalancer) error {
	if lb.LoadBalancerName != nil {
		return invalidParameter("loadBalancers[%d].loadBalancerName: Classic Load Balancers are not supported with Fargate; name a target group with targetGroupArn", i)
	}
	if lb.TargetGroupArn == nil || *lb.TargetGroupArn == "" {
		return invalidParameter("loadBalancers[%d].targetGroupArn: required; create the target group with the ELBv2 API on this endpoint (CreateTargetGroup, TargetType ip)", i)
	}
	arn := *lb.TargetGroupArn
	if _, err := tx.GetTargetGroup(arn); errors.Is(err, store.ErrNotFound) {
		return invalidParameter("loadBalancers[%d].targetGroupArn: Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions. (The local data plane has no target group %s: create it with the ELBv2 API on this endpoint.)", i, arn)
	} else if err != nil {
		return err
	}
	if l, err := tx.ListenerOf(arn); err != nil || l != nil {
		return err
	}
	return invalidParameter("loadBalancers[%d].targetGroupArn: The target group with targetGroupArn %s does not have an associated load balancer. (Create a listener that forwards to it: CreateListener.)", i, arn)
}
