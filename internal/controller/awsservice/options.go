package awsservice

import (
	"errors"
	"time"

	"github.com/nodeless-dev/nodeless/internal/cloudmapapi"
	"github.com/nodeless-dev/nodeless/internal/ec2api"
	"github.com/nodeless-dev/nodeless/internal/elbv2api"
)

// Options configure the controller. Zero fields take the defaults below.
type Options struct {
	// LoadBalancers gives each Service of type LoadBalancer whose spec.loadBalancerClass is
	// LoadBalancerClass (or unset, with DefaultLoadBalancer) a network load balancer.
	LoadBalancers bool
	// LoadBalancerClass is the class nodeless serves; default DefaultLoadBalancerClass.
	LoadBalancerClass string
	// DefaultLoadBalancer also serves LoadBalancer Services without a class: only for a cluster
	// where no cloud provider's service controller does (EKS's does).
	DefaultLoadBalancer bool
	// Subnets (required with LoadBalancers) and SecurityGroups (optional: NLB's default is none)
	// of the load balancers. The VPC of the target groups is the subnets'.
	Subnets, SecurityGroups []string
	// NamespaceID, when set, is the Cloud Map private DNS namespace in which every Service but
	// ExternalName ones (and those annotated nodeless.dev/service-discovery: "false") gets a
	// service NAME.NAMESPACE whose instances are its ready endpoints.
	NamespaceID string
	// Cluster names this installation in the resources' tags and names (two installations in one
	// account need different ones); default DefaultCluster.
	Cluster string
	// DeregistrationDelay of target groups whose Service does not set
	// deregistration_delay.timeout_seconds; default DefaultDeregistrationDelay.
	DeregistrationDelay time.Duration
	// DNSTTL of the Cloud Map A records; default DefaultDNSTTL.
	DNSTTL time.Duration
	// Workers is how many Services are reconciled at once; default 4.
	Workers int
}

// Defaults of Options.
const (
	DefaultLoadBalancerClass = "nodeless.dev/aws"
	DefaultCluster           = "nodeless"
	// DefaultDeregistrationDelay is the local proxy's (ADR 0011): Kubernetes' default
	// terminationGracePeriodSeconds, so a draining Pod is never cut before its own grace period
	// would cut it; ELBv2's own default is 300 s.
	DefaultDeregistrationDelay = 30 * time.Second
	// DefaultDNSTTL is the local DNS server's TTL (ADR 0010).
	DefaultDNSTTL  = 5 * time.Second
	defaultWorkers = 4
)

// WithDefaults returns o with its zero fields set to the defaults.
func (o Options) WithDefaults() Options {
	if o.LoadBalancerClass == "" {
		o.LoadBalancerClass = DefaultLoadBalancerClass
	}
	if o.Cluster == "" {
		o.Cluster = DefaultCluster
	}
	if o.DeregistrationDelay == 0 {
		o.DeregistrationDelay = DefaultDeregistrationDelay
	}
	if o.DNSTTL == 0 {
		o.DNSTTL = DefaultDNSTTL
	}
	if o.Workers <= 0 {
		o.Workers = defaultWorkers
	}
	return o
}

// Enabled reports whether o asks for anything.
func (o Options) Enabled() bool { return o.LoadBalancers || o.NamespaceID != "" }

// Clients are the AWS seams the controller calls.
type Clients struct {
	ELBv2    elbv2api.API
	CloudMap cloudmapapi.API
	EC2      ec2api.API
}

func (o Options) validate(c Clients) error {
	if o.LoadBalancers {
		if len(o.Subnets) == 0 {
			return errors.New("awsservice: load balancers need subnets (--service-subnets or --pod-subnets)")
		}
		if c.ELBv2 == nil || c.EC2 == nil {
			return errors.New("awsservice: load balancers need the ELBv2 and EC2 clients")
		}
	}
	if o.NamespaceID != "" && c.CloudMap == nil {
		return errors.New("awsservice: service discovery needs the Cloud Map client")
	}
	return nil
}
