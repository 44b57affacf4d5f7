package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/nodeless-dev/nodeless/internal/controller/awsservice"
)

// serviceFlags configure what Kubernetes Services get on AWS under `controller`
// (internal/controller/awsservice, docs/controller.md "Services on AWS").
type serviceFlags struct {
	loadBalancers       bool
	class               string
	defaultClass        bool
	subnets             []string
	securityGroups      []string
	namespaceID         string
	endpoint            string
	deregistrationDelay time.Duration
}

func (f *serviceFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.loadBalancers, "service-load-balancers", false,
		"give Services of type LoadBalancer with --service-load-balancer-class an ELBv2 network load balancer whose IP targets are their ready endpoints")
	fs.StringVar(&f.class, "service-load-balancer-class", awsservice.DefaultLoadBalancerClass,
		"the spec.loadBalancerClass of the Services that get a load balancer")
	fs.BoolVar(&f.defaultClass, "service-load-balancer-default", false,
		"also give LoadBalancer Services without a loadBalancerClass a load balancer (only where no cloud provider's service controller does; EKS's does)")
	fs.StringSliceVar(&f.subnets, "service-subnets", nil, "subnets of the load balancers (default: --pod-subnets, else --default-subnets); internet-facing ones need public subnets")
	fs.StringSliceVar(&f.securityGroups, "service-security-groups", nil, "security groups of the load balancers (default: --pod-security-groups, else --default-security-groups)")
	fs.StringVar(&f.namespaceID, "service-discovery-namespace-id", "",
		"Cloud Map private DNS namespace (ns-...) in which every Service gets the name NAME.NAMESPACE.<namespace's name> with its ready endpoints' addresses (empty: none)")
	fs.StringVar(&f.endpoint, "service-aws-endpoint", "", "endpoint URL of ELBv2, Cloud Map and EC2, e.g. a moto_server (default: AWS's regional endpoints)")
	fs.DurationVar(&f.deregistrationDelay, "service-deregistration-delay", awsservice.DefaultDeregistrationDelay,
		"deregistration delay of target groups whose Service does not set deregistration_delay.timeout_seconds (annotation service.beta.kubernetes.io/aws-load-balancer-target-group-attributes)")
}

// options are the controller's options (nil when nothing is enabled); subnets and security
// groups default to the Pods'.
func (f *serviceFlags) options(pods podFlags) *awsservice.Options {
	if !f.loadBalancers && f.namespaceID == "" {
		return nil
	}
	o := &awsservice.Options{
		LoadBalancers: f.loadBalancers, LoadBalancerClass: f.class, DefaultLoadBalancer: f.defaultClass,
		Subnets: f.subnets, SecurityGroups: f.securityGroups, NamespaceID: f.namespaceID,
		Cluster: pods.cluster, DeregistrationDelay: f.deregistrationDelay,
	}
	if len(o.Subnets) == 0 {
		o.Subnets = pods.subnets
	}
	if len(o.SecurityGroups) == 0 {
		o.SecurityGroups = pods.securityGroups
	}
	return o
}
