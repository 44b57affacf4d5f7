package cloudmap

import (
	"maps"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// RegisterInstanceInput is RegisterInstance's request.
type RegisterInstanceInput struct {
	ServiceID        string            `json:"ServiceId"`
	InstanceID       string            `json:"InstanceId"`
	CreatorRequestID string            `json:"CreatorRequestId"`
	Attributes       map[string]string `json:"Attributes"`
}

// instanceIDRE is Cloud Map's InstanceId pattern.
var instanceIDRE = regexp.MustCompile(`^[0-9a-zA-Z_/:.@-]{1,64}$`)

// RegisterInstance creates or replaces an instance of a service. In a DNS service
// AWS_INSTANCE_IPV4 is required (an IPv4 address), and AWS_INSTANCE_PORT too with an SRV record;
// AWS_INIT_HEALTH_STATUS (HEALTHY, UNHEALTHY) only with HealthCheckCustomConfig. Attributes that
// make Route 53 alias or CNAME records are refused by name.
func (r *Registry) RegisterInstance(in *RegisterInstanceInput) (*OperationOutput, error) {
	if in.ServiceID == "" {
		return nil, invalidInput("ServiceId: required; give the service's ID (srv-…)")
	}
	if !instanceIDRE.MatchString(in.InstanceID) {
		return nil, invalidInput("InstanceId: must be 1 to 64 of [0-9a-zA-Z_/:.@-]; got %q", in.InstanceID)
	}
	var opID string
	err := r.store.Update(func(tx *store.Tx) error {
		s, err := r.service(tx, in.ServiceID)
		if err != nil {
			return err
		}
		inst, err := checkAttributes(s, in.Attributes)
		if err != nil {
			return err
		}
		inst.ID, inst.ServiceID, inst.CreatorRequestID = in.InstanceID, s.ID, in.CreatorRequestID
		if err := putInstance(tx, inst); err != nil {
			return err
		}
		opID, err = r.recordOperation(tx, opRegisterInstance, map[string]string{"SERVICE": s.ID, "INSTANCE": inst.ID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &OperationOutput{OperationID: opID}, nil
}

// putInstance stores an instance and moves its service's revision on.
func putInstance(tx *store.Tx, inst *instance) error {
	if err := tx.CloudMapPut(instKey(inst.ServiceID, inst.ID), inst); err != nil {
		return err
	}
	return bumpRevision(tx, inst.ServiceID)
}

// deleteInstance removes an instance, if there is one, and moves its service's revision on.
func deleteInstance(tx *store.Tx, svcID, id string) error {
	cur, err := get[instance](tx, instKey(svcID, id))
	if err != nil || cur == nil {
		return err
	}
	if err := tx.CloudMapDelete(instKey(svcID, id)); err != nil {
		return err
	}
	return bumpRevision(tx, svcID)
}

func bumpRevision(tx *store.Tx, svcID string) error {
	rev, err := revision(tx, svcID)
	if err != nil {
		return err
	}
	return tx.CloudMapPut("rev/"+svcID, rev+1)
}

func revision(tx *store.Tx, svcID string) (int64, error) {
	p, err := get[int64](tx, "rev/"+svcID)
	if err != nil || p == nil {
		return 0, err
	}
	return *p, nil
}

func checkAttributes(s *Service, attrs map[string]string) (*instance, error) {
	if len(attrs) == 0 || len(attrs) > 30 {
		return nil, invalidInput("Attributes: required, 1 to 30 key-value pairs")
	}
	for _, k := range []string{attrAlias, attrCNAME, attrIPv6} {
		if _, ok := attrs[k]; ok {
			return nil, invalidInput("Attributes.%s: not supported by the local Cloud Map (no alias, CNAME or AAAA records locally); remove it", k)
		}
	}
	inst := &instance{Attributes: maps.Clone(attrs), Health: HealthHealthy}
	if v, ok := attrs[AttrInitHealth]; ok {
		if s.HealthCheckCustomConfig == nil {
			return nil, invalidInput("Attributes.AWS_INIT_HEALTH_STATUS: only for a service with HealthCheckCustomConfig; %s has none", s.ID)
		}
		if v != HealthHealthy && v != HealthUnhealthy {
			return nil, invalidInput("Attributes.AWS_INIT_HEALTH_STATUS: must be HEALTHY or UNHEALTHY; got %q", v)
		}
		inst.Health = v
	}
	if s.DNSConfig == nil {
		return inst, nil
	}
	ip, ok := attrs[AttrIPv4]
	if a, err := netip.ParseAddr(ip); !ok || err != nil || !a.Is4() {
		return nil, invalidInput("Attributes.AWS_INSTANCE_IPV4: required in service %s (DNS records), an IPv4 address; got %q", s.ID, ip)
	}
	if hasRecord(s, RecordSRV) || attrs[AttrPort] != "" {
		if p, err := strconv.ParseUint(attrs[AttrPort], 10, 16); err != nil || p == 0 {
			return nil, invalidInput("Attributes.AWS_INSTANCE_PORT: a port 1 to 65535, required in service %s (SRV record); got %q", s.ID, attrs[AttrPort])
		}
	}
	return inst, nil
}

func hasRecord(s *Service, typ string) bool {
	if s.DNSConfig == nil {
		return false
	}
	for _, r := range s.DNSConfig.DNSRecords {
		if r.Type == typ {
			return true
		}
	}
	return false
}

// DeregisterInstanceInput is DeregisterInstance's request (and GetInstance's).
type DeregisterInstanceInput struct {
	ServiceID  string `json:"ServiceId"`
	InstanceID string `json:"InstanceId"`
}

// DeregisterInstance removes an instance (InstanceNotFound when there is none).
func (r *Registry) DeregisterInstance(in *DeregisterInstanceInput) (*OperationOutput, error) {
	var opID string
	err := r.store.Update(func(tx *store.Tx) error {
		s, inst, err := r.instance(tx, in)
		if err != nil {
			return err
		}
		if err := deleteInstance(tx, s.ID, inst.ID); err != nil {
			return err
		}
		opID, err = r.recordOperation(tx, opDeregisterInstance, map[string]string{"SERVICE": s.ID, "INSTANCE": inst.ID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &OperationOutput{OperationID: opID}, nil
}

func (r *Registry) instance(tx *store.Tx, in *DeregisterInstanceInput) (*Service, *instance, error) {
	if in.ServiceID == "" || in.InstanceID == "" {
		return nil, nil, invalidInput("ServiceId and InstanceId: both required")
	}
	s, err := r.service(tx, in.ServiceID)
	if err != nil {
		return nil, nil, err
	}
	inst, err := get[instance](tx, instKey(s.ID, in.InstanceID))
	if err != nil {
		return nil, nil, err
	}
	if inst == nil {
		return nil, nil, newError(CodeInstanceNotFound, "Instance %s not found in service %s", in.InstanceID, s.ID)
	}
	return s, inst, nil
}

// InstanceSummary is an instance as ListInstances and GetInstance return it.
type InstanceSummary struct {
	ID               string            `json:"Id"`
	Attributes       map[string]string `json:"Attributes"`
	CreatorRequestID string            `json:"CreatorRequestId,omitempty"`
}

// GetInstanceOutput is GetInstance's answer.
type GetInstanceOutput struct {
	Instance *InstanceSummary `json:"Instance"`
}

// GetInstance returns one instance.
func (r *Registry) GetInstance(in *DeregisterInstanceInput) (*GetInstanceOutput, error) {
	var out *InstanceSummary
	err := r.store.View(func(tx *store.Tx) error {
		_, inst, err := r.instance(tx, in)
		if err == nil {
			out = &InstanceSummary{ID: inst.ID, Attributes: inst.Attributes, CreatorRequestID: inst.CreatorRequestID}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &GetInstanceOutput{Instance: out}, nil
}

// ListInstancesInput is ListInstances' request.
type ListInstancesInput struct {
	ServiceID  string `json:"ServiceId"`
	MaxResults *int32 `json:"MaxResults"`
	NextToken  string `json:"NextToken"`
}

// ListInstancesOutput is ListInstances' answer.
type ListInstancesOutput struct {
	Instances []InstanceSummary `json:"Instances"`
	NextToken string            `json:"NextToken,omitempty"`
}

// ListInstances lists a service's instances, healthy or not, ordered by ID.
func (r *Registry) ListInstances(in *ListInstancesInput) (*ListInstancesOutput, error) {
	if in.ServiceID == "" {
		return nil, invalidInput("ServiceId: required; give the service's ID (srv-…)")
	}
	var all []InstanceSummary
	err := r.store.View(func(tx *store.Tx) error {
		s, err := r.service(tx, in.ServiceID)
		if err != nil {
			return err
		}
		return each(tx, instPrefix(s.ID), func(i *instance) bool {
			all = append(all, InstanceSummary{ID: i.ID, Attributes: i.Attributes})
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(all, func(i InstanceSummary) string { return i.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ListInstancesOutput{Instances: append([]InstanceSummary{}, items...), NextToken: next}, nil
}

// DiscoverInstancesInput is DiscoverInstances' request.
type DiscoverInstancesInput struct {
	NamespaceName      string            `json:"NamespaceName"`
	ServiceName        string            `json:"ServiceName"`
	MaxResults         *int32            `json:"MaxResults"`
	QueryParameters    map[string]string `json:"QueryParameters"`
	OptionalParameters map[string]string `json:"OptionalParameters"`
	HealthStatus       string            `json:"HealthStatus"`
}

// HTTPInstanceSummary is one instance DiscoverInstances found.
type HTTPInstanceSummary struct {
	InstanceID    string            `json:"InstanceId"`
	NamespaceName string            `json:"NamespaceName"`
	ServiceName   string            `json:"ServiceName"`
	HealthStatus  string            `json:"HealthStatus"`
	Attributes    map[string]string `json:"Attributes"`
}

// DiscoverInstancesOutput is DiscoverInstances' answer.
type DiscoverInstancesOutput struct {
	Instances         []HTTPInstanceSummary `json:"Instances"`
	InstancesRevision int64                 `json:"InstancesRevision"`
}

// DiscoverInstances finds the instances of a service by the namespace's and the service's names:
// those whose attributes equal every QueryParameters entry, then, of those, the ones matching
// OptionalParameters when any do; HealthStatus HEALTHY (default), UNHEALTHY, ALL or
// HEALTHY_OR_ELSE_ALL; at most MaxResults (default 100, at most 1000).
func (r *Registry) DiscoverInstances(in *DiscoverInstancesInput) (*DiscoverInstancesOutput, error) {
	health, maxN, err := checkDiscover(in)
	if err != nil {
		return nil, err
	}
	var insts []*instance
	var rev int64
	var ns *Namespace
	var svc *Service
	err = r.store.View(func(tx *store.Tx) error {
		if ns, svc, err = r.byNames(tx, in.NamespaceName, in.ServiceName); err != nil {
			return err
		}
		if rev, err = revision(tx, svc.ID); err != nil {
			return err
		}
		return each(tx, instPrefix(svc.ID), func(i *instance) bool {
			if matchAll(i.Attributes, in.QueryParameters) {
				insts = append(insts, i)
			}
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	insts = preferOptional(insts, in.OptionalParameters)
	insts = byHealth(insts, health)
	out := &DiscoverInstancesOutput{Instances: []HTTPInstanceSummary{}, InstancesRevision: rev}
	for _, i := range insts {
		if len(out.Instances) == maxN {
			break
		}
		out.Instances = append(out.Instances, HTTPInstanceSummary{
			InstanceID: i.ID, NamespaceName: ns.Name, ServiceName: svc.Name, HealthStatus: i.Health, Attributes: i.Attributes,
		})
	}
	return out, nil
}

func checkDiscover(in *DiscoverInstancesInput) (string, int, error) {
	if in.NamespaceName == "" || in.ServiceName == "" {
		return "", 0, invalidInput("NamespaceName and ServiceName: both required")
	}
	health := in.HealthStatus
	switch health {
	case "":
		health = HealthHealthy
	case HealthHealthy, HealthUnhealthy, "ALL", "HEALTHY_OR_ELSE_ALL":
	default:
		return "", 0, invalidInput("HealthStatus: must be HEALTHY, UNHEALTHY, ALL or HEALTHY_OR_ELSE_ALL; got %q", health)
	}
	maxN := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return "", 0, invalidInput("MaxResults: must be 1 to 1000; got %d", *in.MaxResults)
		}
		maxN = int(*in.MaxResults)
	}
	return health, maxN, nil
}

// byNames finds a namespace by its name (its HttpName) and a service in it by name.
func (r *Registry) byNames(tx *store.Tx, nsName, svcName string) (*Namespace, *Service, error) {
	var ns *Namespace
	if err := each(tx, nsPrefix, func(n *Namespace) bool {
		if strings.EqualFold(n.Name, strings.TrimSuffix(nsName, ".")) {
			ns = n
		}
		return ns == nil
	}); err != nil {
		return nil, nil, err
	}
	if ns == nil {
		return nil, nil, namespaceNotFound(nsName)
	}
	svc, err := r.serviceNamed(tx, ns.ID, svcName)
	if err != nil {
		return nil, nil, err
	}
	if svc == nil {
		return nil, nil, serviceNotFound(svcName + " in namespace " + ns.Name)
	}
	return ns, svc, nil
}

func matchAll(attrs, want map[string]string) bool {
	for k, v := range want {
		if attrs[k] != v {
			return false
		}
	}
	return true
}

// preferOptional keeps the instances matching every optional parameter, or all when none does.
func preferOptional(insts []*instance, optional map[string]string) []*instance {
	if len(optional) == 0 {
		return insts
	}
	var out []*instance
	for _, i := range insts {
		if matchAll(i.Attributes, optional) {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return insts
	}
	return out
}

func byHealth(insts []*instance, health string) []*instance {
	if health == "ALL" {
		return insts
	}
	want := health
	if health == "HEALTHY_OR_ELSE_ALL" {
		want = HealthHealthy
	}
	var out []*instance
	for _, i := range insts {
		if i.Health == want {
			out = append(out, i)
		}
	}
	if len(out) == 0 && health == "HEALTHY_OR_ELSE_ALL" {
		return insts
	}
	return out
}

// UpdateInstanceCustomHealthStatusInput is UpdateInstanceCustomHealthStatus' request.
type UpdateInstanceCustomHealthStatusInput struct {
	ServiceID  string `json:"ServiceId"`
	InstanceID string `json:"InstanceId"`
	Status     string `json:"Status"`
}

// UpdateInstanceCustomHealthStatusOutput is its (empty) answer.
type UpdateInstanceCustomHealthStatusOutput struct{}

// UpdateInstanceCustomHealthStatus sets an instance's health, for a service with
// HealthCheckCustomConfig (CustomHealthNotFound otherwise, as Cloud Map answers).
func (r *Registry) UpdateInstanceCustomHealthStatus(in *UpdateInstanceCustomHealthStatusInput) (*UpdateInstanceCustomHealthStatusOutput, error) {
	if in.Status != HealthHealthy && in.Status != HealthUnhealthy {
		return nil, invalidInput("Status: must be HEALTHY or UNHEALTHY; got %q", in.Status)
	}
	err := r.store.Update(func(tx *store.Tx) error {
		s, inst, err := r.instance(tx, &DeregisterInstanceInput{ServiceID: in.ServiceID, InstanceID: in.InstanceID})
		if err != nil {
			return err
		}
		if s.HealthCheckCustomConfig == nil {
			return newError("CustomHealthNotFound", "Service %s has no HealthCheckCustomConfig; its instances' health cannot be set", s.ID)
		}
		if inst.Health == in.Status {
			return nil
		}
		inst.Health = in.Status
		return putInstance(tx, inst)
	})
	if err != nil {
		return nil, err
	}
	return &UpdateInstanceCustomHealthStatusOutput{}, nil
}
