package elbv2

import (
	"errors"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

const (
	typeNetwork        = "network"
	schemeInternet     = "internet-facing"
	schemeInternal     = "internal"
	ipv4               = "ipv4"
	localVpcID         = "vpc-00000000000000001"
	localZone          = "local-1a"
	dnsSuffix          = ".elb.localhost"
	canonicalZoneLocal = "ZNODELESSLOCAL"
)

// createLoadBalancer: Name, Type network, Scheme, Subnets / SubnetMappings.SubnetId,
// SecurityGroups, IpAddressType ipv4, Tags. Idempotent for the same members (Tags aside: a repeat
// returns the load balancer and leaves its tags as they are); another request with an existing
// name is DuplicateLoadBalancerName.
func (a *API) createLoadBalancer(f *form) (any, error) {
	name := f.required("Name")
	typ, ok := f.str("Type")
	if !ok {
		typ = "application"
	}
	scheme, ok := f.str("Scheme")
	if !ok {
		scheme = schemeInternet
	}
	subnets := f.list("Subnets")
	for _, p := range f.members("SubnetMappings") {
		id, _ := f.str(p + ".SubnetId")
		subnets = append(subnets, id)
	}
	groups := f.list("SecurityGroups")
	ipType, ok := f.str("IpAddressType")
	if !ok {
		ipType = ipv4
	}
	tags := readTags(f)
	if err := finish(f, "CreateLoadBalancer"); err != nil {
		return nil, err
	}
	if err := checkName("Name", name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "internal-") {
		return nil, validation("Name: %q must not begin with internal-", name)
	}
	switch {
	case typ != typeNetwork:
		return nil, validation("Type: %s load balancers are not served by the nodeless local data plane; use Type network (a TCP load balancer on 127.0.0.1)", typ)
	case scheme != schemeInternet && scheme != schemeInternal:
		return nil, validation("Scheme: %q is not internet-facing or internal", scheme)
	case ipType != ipv4:
		return nil, validation("IpAddressType: %s is not served locally; use ipv4", ipType)
	case len(groups) > 0:
		return nil, validation("SecurityGroups: security groups are not enforced by the nodeless local load balancer; remove them")
	}
	hash := hashOf("lb", name, typ, scheme, strings.Join(subnets, ","), ipType)
	var out store.LoadBalancerRecord
	err := a.store.Update(func(tx *store.Tx) error {
		all, err := tx.LoadBalancers()
		if err != nil {
			return err
		}
		for _, lb := range all {
			if lb.Name == name {
				if lb.RequestHash != hash {
					return newError(CodeDuplicateLoadBalancerName, "A load balancer with the same name '%s' exists, but with different settings", name)
				}
				out = *lb
				return nil
			}
		}
		id := newID()
		out = store.LoadBalancerRecord{
			ARN: a.arn("loadbalancer/net/" + name + "/" + id), Name: name,
			DNSName: strings.ToLower(name) + "-" + id[:10] + dnsSuffix,
			Type:    typ, Scheme: scheme, IPAddressType: ipType, VpcID: localVpcID, Subnets: subnets,
			CreatedTime: model.Time{Time: a.clock.Now().UTC()}, RequestHash: hash,
		}
		if err := putNewTags(tx, out.ARN, tags); err != nil {
			return err
		}
		return tx.PutLoadBalancer(&out)
	})
	if err != nil {
		return nil, err
	}
	return loadBalancersResult{LoadBalancers: []xmlLoadBalancer{lbXML(&out, a.lbState(out.ARN))}}, nil
}

// Load balancer states (ELBv2 API reference, LoadBalancerState): the local load balancer is
// active once created, and active_impaired while one of its listeners cannot listen
// (Balancer.Impaired gives the reason); it is never provisioning or failed.
const (
	lbStateActive   = "active"
	lbStateImpaired = "active_impaired"
)

// lbState is load balancer arn's LoadBalancerState as the balancer finds it now.
func (a *API) lbState(arn string) xmlLBState {
	if reason := a.balancer.Impaired(arn); reason != "" {
		return xmlLBState{Code: lbStateImpaired, Reason: reason}
	}
	return xmlLBState{Code: lbStateActive}
}

func lbXML(r *store.LoadBalancerRecord, state xmlLBState) xmlLoadBalancer {
	azs := []xmlAZ{{ZoneName: localZone}}
	if len(r.Subnets) > 0 {
		azs = azs[:0]
		for _, s := range r.Subnets {
			azs = append(azs, xmlAZ{ZoneName: localZone, SubnetID: s})
		}
	}
	return xmlLoadBalancer{
		LoadBalancerArn: r.ARN, DNSName: r.DNSName, CanonicalHostedZoneID: canonicalZoneLocal,
		CreatedTime: xmlTime{r.CreatedTime.Time}, LoadBalancerName: r.Name, Scheme: r.Scheme, VpcID: r.VpcID,
		State: state, Type: r.Type, AvailabilityZones: azs, IPAddressType: r.IPAddressType,
	}
}

// describeLoadBalancers: LoadBalancerArns or Names (not both), Marker, PageSize.
func (a *API) describeLoadBalancers(f *form) (any, error) {
	arns, names := f.list("LoadBalancerArns"), f.list("Names")
	var all []*store.LoadBalancerRecord
	err := a.store.View(func(tx *store.Tx) error {
		var err error
		all, err = tx.LoadBalancers()
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(arns) > 0 && len(names) > 0 {
		f.fail(validation("LoadBalancerArns and Names: give one of them, not both"))
	}
	var out []xmlLoadBalancer
	for _, lb := range all {
		if wanted(arns, lb.ARN) && wanted(names, lb.Name) {
			out = append(out, lbXML(lb, a.lbState(lb.ARN)))
		}
	}
	pg, next := page(f, out)
	if err := finish(f, "DescribeLoadBalancers"); err != nil {
		return nil, err
	}
	if missing := len(arns) + len(names) - len(out); (len(arns) > 0 || len(names) > 0) && missing > 0 {
		return nil, newError(CodeLoadBalancerNotFound, "One or more load balancers not found")
	}
	return loadBalancersResult{LoadBalancers: pg, NextMarker: next}, nil
}

// deleteLoadBalancer deletes the load balancer, its listeners (their ports close) and its tags;
// deleting one that does not exist succeeds, as on ELBv2. With deletion_protection.enabled it is
// refused (OperationNotPermitted).
func deleteLoadBalancer(tx *store.Tx, arn string) error {
	lb, err := tx.GetLoadBalancer(arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if lb.DeletionProtection {
		return newError(CodeOperationNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled; set the attribute %s to false first (ModifyLoadBalancerAttributes)", arn, attrDeletionProtection)
	}
	ls, err := tx.Listeners()
	if err != nil {
		return err
	}
	for _, l := range ls {
		if l.LoadBalancerARN == arn {
			if err := tx.DeleteListener(l.ARN); err != nil {
				return err
			}
		}
	}
	return tx.DeleteLoadBalancer(arn)
}
