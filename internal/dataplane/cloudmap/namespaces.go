package cloudmap

import (
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// ClusterDomain is the Kubernetes cluster domain the VPC's DNS server answers from the Kubernetes
// Services (servicedns.DefaultDomain; not configurable): a private DNS namespace, or a Service
// Connect client alias, may not be in it (InClusterDomain).
const ClusterDomain = "cluster.local"

// InClusterDomain reports whether name (any case, a trailing dot ignored) is ClusterDomain or a
// name under it.
func InClusterDomain(name string) bool {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	return n == ClusterDomain || strings.HasSuffix(n, "."+ClusterDomain)
}

// PrivateDNSPropertiesMutable is CreatePrivateDnsNamespace's Properties.
type PrivateDNSPropertiesMutable struct {
	DNSProperties *struct {
		SOA *SOA `json:"SOA"`
	} `json:"DnsProperties"`
}

// CreatePrivateDNSNamespaceInput is CreatePrivateDnsNamespace's request.
type CreatePrivateDNSNamespaceInput struct {
	Name             string                       `json:"Name"`
	Vpc              string                       `json:"Vpc"`
	CreatorRequestID string                       `json:"CreatorRequestId"`
	Description      string                       `json:"Description"`
	Properties       *PrivateDNSPropertiesMutable `json:"Properties"`
	Tags             []Tag                        `json:"Tags"`
}

// CreateHTTPNamespaceInput is CreateHttpNamespace's request.
type CreateHTTPNamespaceInput struct {
	Name             string `json:"Name"`
	CreatorRequestID string `json:"CreatorRequestId"`
	Description      string `json:"Description"`
	Tags             []Tag  `json:"Tags"`
}

// OperationOutput is the answer of the asynchronous operations: the operation to follow with
// GetOperation.
type OperationOutput struct {
	OperationID string `json:"OperationId"`
}

// CreatePrivateDNSNamespace creates a private DNS namespace: its services' names are answered
// by the local VPC's DNS server for every task. Vpc is required, as in Cloud Map, and kept; the
// local VPC is the only one the names are answered in.
func (r *Registry) CreatePrivateDNSNamespace(in *CreatePrivateDNSNamespaceInput) (*OperationOutput, error) {
	if err := checkDNSName("Name", in.Name, 253); err != nil {
		return nil, err
	}
	if InClusterDomain(in.Name) {
		return nil, invalidInput("Name: %s is in %s, whose names are the Kubernetes Services' under nodeless up (docs/adr/0010-service-names.md) and would never be answered from Cloud Map; choose another name", in.Name, ClusterDomain)
	}
	if in.Vpc == "" {
		return nil, invalidInput("Vpc: required; give the ID of the VPC the namespace's names are answered in (any value locally: there is one local VPC)")
	}
	ttl := int64(defaultSOATTL)
	if p := in.Properties; p != nil && p.DNSProperties != nil && p.DNSProperties.SOA != nil {
		if p.DNSProperties.SOA.TTL == nil || *p.DNSProperties.SOA.TTL < 0 || *p.DNSProperties.SOA.TTL > 2147483647 {
			return nil, invalidInput("Properties.DnsProperties.SOA.TTL: required, 0 to 2147483647 seconds")
		}
		ttl = *p.DNSProperties.SOA.TTL
	}
	ns := &Namespace{
		Name: strings.TrimSuffix(in.Name, "."), Type: TypeDNSPrivate, Description: in.Description,
		CreatorRequestID: in.CreatorRequestID, Vpc: in.Vpc, Tags: in.Tags,
		Properties: &NamespaceProperties{DNSProperties: &DNSProperties{SOA: &SOA{TTL: &ttl}}},
	}
	return r.createNamespace(ns)
}

// CreateHTTPNamespace creates an HTTP namespace: its instances are found with DiscoverInstances
// only (no DNS names), as in Cloud Map.
func (r *Registry) CreateHTTPNamespace(in *CreateHTTPNamespaceInput) (*OperationOutput, error) {
	if in.Name == "" || len(in.Name) > 1024 {
		return nil, invalidInput("Name: must be 1 to 1024 characters")
	}
	ns := &Namespace{
		Name: in.Name, Type: TypeHTTP, Description: in.Description, CreatorRequestID: in.CreatorRequestID, Tags: in.Tags,
		Properties: &NamespaceProperties{HTTPProperties: &HTTPProperties{HTTPName: in.Name}},
	}
	return r.createNamespace(ns)
}

func (r *Registry) createNamespace(ns *Namespace) (*OperationOutput, error) {
	if err := checkTags(ns.Tags); err != nil {
		return nil, err
	}
	var opID string
	err := r.store.Update(func(tx *store.Tx) error {
		var dup *Namespace
		if err := each(tx, nsPrefix, func(n *Namespace) bool {
			if strings.EqualFold(n.Name, ns.Name) {
				dup = n
			}
			return dup == nil
		}); err != nil {
			return err
		}
		if dup != nil {
			return r.duplicateNamespace(tx, dup, ns, &opID)
		}
		var err error
		opID, err = r.insertNamespace(tx, ns)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &OperationOutput{OperationID: opID}, nil
}

// insertNamespace stores the new namespace ns (its ID, ARN and creation date assigned) and the
// operation that created it, whose ID it returns.
func (r *Registry) insertNamespace(tx *store.Tx, ns *Namespace) (string, error) {
	ns.ID = newID("ns-", 16)
	ns.Arn = r.arn("namespace", ns.ID)
	ns.CreateDate = r.now()
	if ns.Type == TypeDNSPrivate {
		ns.Properties.DNSProperties.HostedZoneID = "Z" + strings.ToUpper(newID("", 20))
	}
	if err := tx.CloudMapPut(nsKey(ns.ID), ns); err != nil {
		return "", err
	}
	return r.recordOperation(tx, opCreateNamespace, map[string]string{"NAMESPACE": ns.ID})
}

// duplicateNamespace answers a create of a name that exists: a retry (same CreatorRequestId and
// type) gets the first create's operation again — or, once that is older than the operations kept
// (MaxOperations), a new successful CREATE_NAMESPACE operation on the namespace; anything else is
// NamespaceAlreadyExists.
func (r *Registry) duplicateNamespace(tx *store.Tx, dup, ns *Namespace, opID *string) error {
	if ns.CreatorRequestID != "" && ns.CreatorRequestID == dup.CreatorRequestID && ns.Type == dup.Type {
		err := each(tx, "op/", func(op *Operation) bool {
			if op.Type == opCreateNamespace && op.Targets["NAMESPACE"] == dup.ID {
				*opID = op.ID
				return false
			}
			return true
		})
		if err != nil || *opID != "" {
			return err
		}
		*opID, err = r.recordOperation(tx, opCreateNamespace, map[string]string{"NAMESPACE": dup.ID})
		return err
	}
	e := newError(CodeNamespaceAlreadyExists, "Namespace %s already exists as %s; use it, or delete it first (DeleteNamespace)", ns.Name, dup.ID)
	e.Members = map[string]string{"NamespaceId": dup.ID, "CreatorRequestId": dup.CreatorRequestID}
	return e
}

func checkTags(tags []Tag) error {
	if len(tags) > 50 {
		return newError("TooManyTagsException", "Tags: at most 50; got %d", len(tags))
	}
	for i, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return invalidInput("Tags[%d]: Key must be 1 to 128 characters and Value at most 256", i)
		}
	}
	return nil
}

// IDInput is the request of the operations that name one resource by Id.
type IDInput struct {
	ID string `json:"Id"`
}

// GetNamespaceOutput is GetNamespace's answer.
type GetNamespaceOutput struct {
	Namespace *Namespace `json:"Namespace"`
}

// GetNamespace returns a namespace with its service count.
func (r *Registry) GetNamespace(in *IDInput) (*GetNamespaceOutput, error) {
	if in.ID == "" {
		return nil, invalidInput("Id: required; give the namespace's ID (ns-…)")
	}
	var ns *Namespace
	err := r.store.View(func(tx *store.Tx) error {
		var err error
		if ns, err = r.namespace(tx, in.ID); err != nil {
			return err
		}
		return r.countServices(tx, ns)
	})
	if err != nil {
		return nil, err
	}
	return &GetNamespaceOutput{Namespace: public(ns)}, nil
}

// public is the namespace as Cloud Map returns it (without Vpc and Tags).
func public(ns *Namespace) *Namespace {
	out := *ns
	out.Vpc, out.Tags = "", nil
	return &out
}

func (r *Registry) namespace(tx *store.Tx, id string) (*Namespace, error) {
	ns, err := get[Namespace](tx, nsKey(id))
	if err != nil {
		return nil, err
	}
	if ns == nil {
		return nil, namespaceNotFound(id)
	}
	return ns, nil
}

func (r *Registry) countServices(tx *store.Tx, ns *Namespace) error {
	ns.ServiceCount = 0
	return each(tx, svcPrefix, func(s *Service) bool {
		if s.NamespaceID == ns.ID {
			ns.ServiceCount++
		}
		return true
	})
}

// Filter is a ListNamespaces or ListServices filter.
type Filter struct {
	Name      string   `json:"Name"`
	Values    []string `json:"Values"`
	Condition string   `json:"Condition"`
}

// ListInput is the request of ListNamespaces and ListServices.
type ListInput struct {
	Filters    []Filter `json:"Filters"`
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
}

// ListNamespacesOutput is ListNamespaces' answer.
type ListNamespacesOutput struct {
	Namespaces []*Namespace `json:"Namespaces"`
	NextToken  string       `json:"NextToken,omitempty"`
}

// ListNamespaces lists namespaces, filtered by TYPE or NAME (conditions EQ, IN, BEGINS_WITH).
func (r *Registry) ListNamespaces(in *ListInput) (*ListNamespacesOutput, error) {
	match, err := namespaceFilter(in.Filters)
	if err != nil {
		return nil, err
	}
	var all []*Namespace
	err = r.store.View(func(tx *store.Tx) error {
		if err := each(tx, nsPrefix, func(n *Namespace) bool {
			if match(n) {
				all = append(all, n)
			}
			return true
		}); err != nil {
			return err
		}
		for _, n := range all {
			if err := r.countServices(tx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(all, func(n *Namespace) string { return n.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ListNamespacesOutput{Namespaces: make([]*Namespace, 0, len(items)), NextToken: next}
	for _, n := range items {
		p := public(n)
		p.CreatorRequestID = ""
		out.Namespaces = append(out.Namespaces, p)
	}
	return out, nil
}

func namespaceFilter(filters []Filter) (func(*Namespace) bool, error) {
	var checks []func(*Namespace) bool
	for i, f := range filters {
		m, err := matcher(i, f)
		if err != nil {
			return nil, err
		}
		switch f.Name {
		case "TYPE":
			checks = append(checks, func(n *Namespace) bool { return m(n.Type) })
		case "NAME", "HTTP_NAME":
			checks = append(checks, func(n *Namespace) bool { return m(n.Name) })
		default:
			return nil, invalidInput("Filters[%d].Name: must be TYPE, NAME or HTTP_NAME; got %q", i, f.Name)
		}
	}
	return func(n *Namespace) bool {
		for _, c := range checks {
			if !c(n) {
				return false
			}
		}
		return true
	}, nil
}

// matcher is filter i's condition on a value (default EQ).
func matcher(i int, f Filter) (func(string) bool, error) {
	if len(f.Values) == 0 {
		return nil, invalidInput("Filters[%d].Values: required", i)
	}
	switch f.Condition {
	case "", "EQ":
		if len(f.Values) != 1 {
			return nil, invalidInput("Filters[%d].Values: EQ takes one value; got %d", i, len(f.Values))
		}
		return func(v string) bool { return strings.EqualFold(v, f.Values[0]) }, nil
	case "IN":
		return func(v string) bool {
			for _, w := range f.Values {
				if strings.EqualFold(v, w) {
					return true
				}
			}
			return false
		}, nil
	case "BEGINS_WITH":
		return func(v string) bool { return strings.HasPrefix(strings.ToLower(v), strings.ToLower(f.Values[0])) }, nil
	}
	return nil, invalidInput("Filters[%d].Condition: the local Cloud Map serves EQ, IN and BEGINS_WITH; got %q", i, f.Condition)
}

// DeleteNamespace deletes a namespace that has no services (ResourceInUse otherwise).
func (r *Registry) DeleteNamespace(in *IDInput) (*OperationOutput, error) {
	if in.ID == "" {
		return nil, invalidInput("Id: required; give the namespace's ID (ns-…)")
	}
	var opID string
	err := r.store.Update(func(tx *store.Tx) error {
		ns, err := r.namespace(tx, in.ID)
		if err != nil {
			return err
		}
		if err := r.countServices(tx, ns); err != nil {
			return err
		}
		if ns.ServiceCount > 0 {
			return newError(CodeResourceInUse, "Namespace %s still has %d services; delete them first (DeleteService)", ns.ID, ns.ServiceCount)
		}
		if err := tx.CloudMapDelete(nsKey(ns.ID)); err != nil {
			return err
		}
		opID, err = r.recordOperation(tx, opDeleteNamespace, map[string]string{"NAMESPACE": ns.ID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &OperationOutput{OperationID: opID}, nil
}
