package cloudmap

import (
	"encoding/json"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// CreateServiceInput is CreateService's request. HealthCheckConfig (Route 53 health checks) is
// decoded only to be refused by name.
type CreateServiceInput struct {
	Name                    string                   `json:"Name"`
	NamespaceID             string                   `json:"NamespaceId"`
	CreatorRequestID        string                   `json:"CreatorRequestId"`
	Description             string                   `json:"Description"`
	DNSConfig               *DNSConfig               `json:"DnsConfig"`
	HealthCheckConfig       json.RawMessage          `json:"HealthCheckConfig"`
	HealthCheckCustomConfig *HealthCheckCustomConfig `json:"HealthCheckCustomConfig"`
	Tags                    []Tag                    `json:"Tags"`
	Type                    string                   `json:"Type"`
}

// ServiceOutput is the answer of CreateService and GetService.
type ServiceOutput struct {
	Service *Service `json:"Service"`
}

// CreateService creates a service in a namespace (NamespaceId, or DnsConfig.NamespaceId as older
// clients send). In a private DNS namespace DnsConfig is required: A and/or SRV records with their
// TTL, routing MULTIVALUE; in an HTTP namespace it is refused, as in Cloud Map.
func (r *Registry) CreateService(in *CreateServiceInput) (*ServiceOutput, error) {
	if err := checkCreateService(in); err != nil {
		return nil, err
	}
	var out *Service
	err := r.store.Update(func(tx *store.Tx) error {
		nsID := in.NamespaceID
		if nsID == "" && in.DNSConfig != nil {
			nsID = in.DNSConfig.NamespaceID
		}
		ns, err := r.namespace(tx, nsID)
		if err != nil {
			return err
		}
		if err := checkServiceForNamespace(in, ns); err != nil {
			return err
		}
		if dup, err := r.serviceNamed(tx, ns.ID, in.Name); err != nil || dup != nil {
			if err == nil {
				out, err = duplicateService(dup, in)
			}
			return err
		}
		out = r.newService(in, ns)
		return tx.CloudMapPut(svcKey(out.ID), out)
	})
	if err != nil {
		return nil, err
	}
	return &ServiceOutput{Service: out}, nil
}

func (r *Registry) newService(in *CreateServiceInput, ns *Namespace) *Service {
	s := &Service{
		ID: newID("srv-", 16), Name: in.Name, NamespaceID: ns.ID, Description: in.Description,
		DNSConfig: in.DNSConfig, HealthCheckCustomConfig: in.HealthCheckCustomConfig,
		CreateDate: r.now(), CreatorRequestID: in.CreatorRequestID, Tags: in.Tags, Type: in.Type,
	}
	s.Arn = r.arn("service", s.ID)
	if s.DNSConfig != nil {
		s.DNSConfig.NamespaceID = ""
		if s.DNSConfig.RoutingPolicy == "" {
			s.DNSConfig.RoutingPolicy = RoutingMultivalue
		}
	}
	if s.Type == "" {
		s.Type = ServiceTypeDNSHTTP
		if ns.Type == TypeHTTP {
			s.Type = ServiceTypeHTTP
		}
	}
	return s
}

// duplicateService answers a create of a name the namespace has: a retry (same CreatorRequestId)
// gets the service; anything else is ServiceAlreadyExists naming it.
func duplicateService(dup *Service, in *CreateServiceInput) (*Service, error) {
	if in.CreatorRequestID != "" && in.CreatorRequestID == dup.CreatorRequestID {
		return dup, nil
	}
	e := newError(CodeServiceAlreadyExists, "Service %s already exists in namespace %s as %s", in.Name, dup.NamespaceID, dup.ID)
	e.Members = map[string]string{"ServiceId": dup.ID, "ServiceArn": dup.Arn, "CreatorRequestId": dup.CreatorRequestID}
	return nil, e
}

func checkCreateService(in *CreateServiceInput) error {
	if err := checkDNSName("Name", in.Name, 127); err != nil {
		return err
	}
	if in.NamespaceID == "" && (in.DNSConfig == nil || in.DNSConfig.NamespaceID == "") {
		return invalidInput("NamespaceId: required; give the ID (ns-…) of the namespace the service belongs to")
	}
	if in.HealthCheckConfig != nil {
		return invalidInput("HealthCheckConfig: not supported by the local Cloud Map (there are no Route 53 health checks locally); remove it, or use HealthCheckCustomConfig")
	}
	if c := in.HealthCheckCustomConfig; c != nil && c.FailureThreshold != nil && (*c.FailureThreshold < 1 || *c.FailureThreshold > 10) {
		return invalidInput("HealthCheckCustomConfig.FailureThreshold: must be 1 to 10 (Cloud Map always uses 1)")
	}
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	switch in.Type {
	case "", ServiceTypeHTTP, ServiceTypeDNSHTTP:
	default:
		return invalidInput("Type: must be HTTP or DNS_HTTP (the local Cloud Map has no DNS-only services); got %q", in.Type)
	}
	return checkDNSConfig(in.DNSConfig)
}

func checkDNSConfig(c *DNSConfig) error {
	if c == nil {
		return nil
	}
	if c.RoutingPolicy != "" && c.RoutingPolicy != RoutingMultivalue {
		return invalidInput("DnsConfig.RoutingPolicy: the local Cloud Map answers MULTIVALUE only (WEIGHTED answers one address at random on Route 53, which the local DNS server does not do); got %q", c.RoutingPolicy)
	}
	if len(c.DNSRecords) == 0 {
		return invalidInput("DnsConfig.DnsRecords: required; give an A record, an SRV record, or both")
	}
	seen := map[string]bool{}
	for i, rec := range c.DNSRecords {
		switch rec.Type {
		case RecordA, RecordSRV:
		case "AAAA", "CNAME":
			return invalidInput("DnsConfig.DnsRecords[%d].Type: %s records are not supported by the local Cloud Map (the local VPC is IPv4 only, and tasks register addresses); use A or SRV", i, rec.Type)
		default:
			return invalidInput("DnsConfig.DnsRecords[%d].Type: must be A or SRV; got %q", i, rec.Type)
		}
		if seen[rec.Type] {
			return invalidInput("DnsConfig.DnsRecords[%d].Type: %s is given twice", i, rec.Type)
		}
		seen[rec.Type] = true
		if rec.TTL == nil || *rec.TTL < 0 || *rec.TTL > 2147483647 {
			return invalidInput("DnsConfig.DnsRecords[%d].TTL: required, 0 to 2147483647 seconds", i)
		}
	}
	return nil
}

func checkServiceForNamespace(in *CreateServiceInput, ns *Namespace) error {
	if ns.Type == TypeHTTP {
		if in.DNSConfig != nil && len(in.DNSConfig.DNSRecords) > 0 {
			return invalidInput("DnsConfig: namespace %s is an HTTP namespace, whose services have no DNS records; remove DnsConfig", ns.ID)
		}
		if in.Type == ServiceTypeDNSHTTP {
			return invalidInput("Type: DNS_HTTP needs a DNS namespace; %s is an HTTP namespace", ns.ID)
		}
		return nil
	}
	if in.DNSConfig == nil {
		return invalidInput("DnsConfig: required in a DNS namespace (%s); give DnsRecords of type A and/or SRV", ns.ID)
	}
	return nil
}

// serviceNamed is the service of namespace nsID named name (case-insensitively), or nil.
func (r *Registry) serviceNamed(tx *store.Tx, nsID, name string) (*Service, error) {
	var found *Service
	err := each(tx, svcPrefix, func(s *Service) bool {
		if s.NamespaceID == nsID && strings.EqualFold(s.Name, name) {
			found = s
		}
		return found == nil
	})
	return found, err
}

func (r *Registry) service(tx *store.Tx, id string) (*Service, error) {
	s, err := get[Service](tx, svcKey(id))
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, serviceNotFound(id)
	}
	return s, nil
}

func (r *Registry) countInstances(tx *store.Tx, s *Service) error {
	s.InstanceCount = 0
	return each(tx, instPrefix(s.ID), func(*instance) bool { s.InstanceCount++; return true })
}

// GetService returns a service with its instance count.
func (r *Registry) GetService(in *IDInput) (*ServiceOutput, error) {
	if in.ID == "" {
		return nil, invalidInput("Id: required; give the service's ID (srv-…)")
	}
	var s *Service
	err := r.store.View(func(tx *store.Tx) error {
		var err error
		if s, err = r.service(tx, in.ID); err != nil {
			return err
		}
		return r.countInstances(tx, s)
	})
	if err != nil {
		return nil, err
	}
	s.Tags = nil
	return &ServiceOutput{Service: s}, nil
}

// ListServicesOutput is ListServices' answer.
type ListServicesOutput struct {
	Services  []*Service `json:"Services"`
	NextToken string     `json:"NextToken,omitempty"`
}

// ListServices lists services, filtered by NAMESPACE_ID (conditions EQ, IN).
func (r *Registry) ListServices(in *ListInput) (*ListServicesOutput, error) {
	var checks []func(string) bool
	for i, f := range in.Filters {
		if f.Name != "NAMESPACE_ID" {
			return nil, invalidInput("Filters[%d].Name: the local Cloud Map filters services by NAMESPACE_ID; got %q", i, f.Name)
		}
		m, err := matcher(i, f)
		if err != nil {
			return nil, err
		}
		checks = append(checks, m)
	}
	var all []*Service
	err := r.store.View(func(tx *store.Tx) error {
		if err := each(tx, svcPrefix, func(s *Service) bool {
			for _, c := range checks {
				if !c(s.NamespaceID) {
					return true
				}
			}
			all = append(all, s)
			return true
		}); err != nil {
			return err
		}
		for _, s := range all {
			if err := r.countInstances(tx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(all, func(s *Service) string { return s.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	for _, s := range items {
		s.Tags, s.CreatorRequestID = nil, ""
	}
	return &ListServicesOutput{Services: items, NextToken: next}, nil
}

// DeleteServiceOutput is DeleteService's (empty) answer.
type DeleteServiceOutput struct{}

// DeleteService deletes a service that has no instances (ResourceInUse otherwise: an ECS service
// using it still has registered tasks, or instances registered by hand remain).
func (r *Registry) DeleteService(in *IDInput) (*DeleteServiceOutput, error) {
	if in.ID == "" {
		return nil, invalidInput("Id: required; give the service's ID (srv-…)")
	}
	err := r.store.Update(func(tx *store.Tx) error {
		s, err := r.service(tx, in.ID)
		if err != nil {
			return err
		}
		if err := r.countInstances(tx, s); err != nil {
			return err
		}
		if s.InstanceCount > 0 {
			return newError(CodeResourceInUse, "Service %s still has %d instances; deregister them first (DeregisterInstance), or scale the ECS service that registers its tasks to 0", s.ID, s.InstanceCount)
		}
		if err := tx.CloudMapDelete("rev/" + s.ID); err != nil {
			return err
		}
		return tx.CloudMapDelete(svcKey(s.ID))
	})
	if err != nil {
		return nil, err
	}
	return &DeleteServiceOutput{}, nil
}
