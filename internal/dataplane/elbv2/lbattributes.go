package elbv2

import (
	"errors"
	"strconv"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// The load balancer attributes served (ELBv2 API reference, LoadBalancerAttribute; the keys a
// network load balancer has). The others — access_logs.s3.*, ipv6.deny_all_igw_traffic,
// dns_record.client_routing_policy, zonal_shift.config.enabled, secondary_ips.* — are refused by
// key: they have no local counterpart.
const (
	// attrDeletionProtection: while true, DeleteLoadBalancer is refused (OperationNotPermitted).
	attrDeletionProtection = "deletion_protection.enabled"
	// attrCrossZone: a network load balancer's cross-zone load balancing (default false). There is
	// one zone locally, so either value sends connections to every healthy target; it is recorded
	// and echoed so that tools that set it (Terraform, CloudFormation) work unchanged.
	attrCrossZone = "load_balancing.cross_zone.enabled"
)

// readBoolAttribute reads the Value of attribute member p (key k) as ELBv2's "true" or "false".
func readBoolAttribute(f *form, p, k, v string) *bool {
	if v != "true" && v != "false" {
		f.fail(validation("%s.Value: %s must be true or false, not %q", memberPath(p), k, v))
		return nil
	}
	b := v == "true"
	return &b
}

// repeatedAttribute reports (and fails f with a ValidationError naming the key and both members)
// whether key k of attribute member p was given before in the request (seen: key → member path).
// A key is given once: ELBv2 would apply one of the values, and which one is not documented.
func repeatedAttribute(f *form, seen map[string]string, p, k string) bool {
	if first, ok := seen[k]; ok {
		f.fail(validation("%s.Key: attribute %q is also given as %s; give each key once in a request", memberPath(p), k, first))
		return true
	}
	seen[k] = memberPath(p)
	return false
}

// modifyLoadBalancerAttributes: LoadBalancerArn, Attributes (deletion_protection.enabled and
// load_balancing.cross_zone.enabled, true or false), each key once; any other key is refused by name. The answer
// is every attribute served, as changed.
func (a *API) modifyLoadBalancerAttributes(f *form) (any, error) {
	arn := f.required("LoadBalancerArn")
	var protect, crossZone *bool
	members := f.members("Attributes")
	if len(members) == 0 {
		f.fail(validation("Attributes: give at least one attribute (Key and Value); served: %s, %s", attrDeletionProtection, attrCrossZone))
	}
	seen := map[string]string{}
	for _, p := range members {
		k, _ := f.str(p + ".Key")
		v, _ := f.str(p + ".Value")
		if repeatedAttribute(f, seen, p, k) {
			continue
		}
		switch k {
		case attrDeletionProtection:
			protect = readBoolAttribute(f, p, k, v)
		case attrCrossZone:
			crossZone = readBoolAttribute(f, p, k, v)
		default:
			f.fail(validation("%s.Key: load balancer attribute %q is not served by the nodeless local load balancer (it would have no effect here); it serves %s and %s",
				memberPath(p), k, attrDeletionProtection, attrCrossZone))
		}
	}
	if err := finish(f, "ModifyLoadBalancerAttributes"); err != nil {
		return nil, err
	}
	out, err := update(a, arn, getLoadBalancer, (*store.Tx).PutLoadBalancer, func(lb *store.LoadBalancerRecord) error {
		if protect != nil {
			lb.DeletionProtection = *protect
		}
		if crossZone != nil {
			lb.CrossZone = *crossZone
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return attributesResult{Attributes: lbAttributes(out)}, nil
}

// describeLoadBalancerAttributes: LoadBalancerArn; the attributes served with their values.
func (a *API) describeLoadBalancerAttributes(f *form) (any, error) {
	arn := f.required("LoadBalancerArn")
	if err := finish(f, "DescribeLoadBalancerAttributes"); err != nil {
		return nil, err
	}
	out, err := view(a, arn, getLoadBalancer)
	if err != nil {
		return nil, err
	}
	return attributesResult{Attributes: lbAttributes(out)}, nil
}

func lbAttributes(lb *store.LoadBalancerRecord) []xmlAttribute {
	return []xmlAttribute{
		{Key: attrDeletionProtection, Value: strconv.FormatBool(lb.DeletionProtection)},
		{Key: attrCrossZone, Value: strconv.FormatBool(lb.CrossZone)},
	}
}

// getLoadBalancer reads a load balancer, or LoadBalancerNotFound.
func getLoadBalancer(tx *store.Tx, arn string) (*store.LoadBalancerRecord, error) {
	lb, err := tx.GetLoadBalancer(arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newError(CodeLoadBalancerNotFound, "Load balancer '%s' not found", arn)
	}
	return lb, err
}
