package cloudmap

import (
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Service Connect (docs/adr/0016-cloud-map-locally.md): an ECS service's Service Connect services
// are Cloud Map services of the namespace, named by their discoveryName and registered like
// serviceRegistries; their client aliases are DNS names the VPC's DNS server answers with a
// virtual address of the alias's own, where the data plane's Service Connect proxy listens
// (aliases.go).

// NamespaceByRef is the namespace ref names (its name, its ID or its ARN), or nil.
func NamespaceByRef(tx *store.Tx, ref string) (*Namespace, error) {
	var found *Namespace
	err := each(tx, nsPrefix, func(n *Namespace) bool {
		if n.Arn == ref || n.ID == ref || strings.EqualFold(n.Name, strings.TrimSuffix(ref, ".")) {
			found = n
		}
		return found == nil
	})
	return found, err
}

// ConnectNamespace is the namespace a cluster's serviceConnectDefaults.namespace names (its name,
// ID or ARN), created in tx when a name names none: as ECS does, an HTTP namespace of that name
// ("If you enter a new name, a Cloud Map namespace will be created ... the HTTP namespace type",
// ECS reference, ClusterServiceConnectDefaultsRequest). An ARN or ID that names no namespace gives
// nil. The name may not hold >, <, " or / and is 1 to 1024 characters (InvalidInput otherwise).
func (r *Registry) ConnectNamespace(tx *store.Tx, ref string) (*Namespace, error) {
	ns, err := NamespaceByRef(tx, ref)
	if err != nil || ns != nil || strings.HasPrefix(ref, "arn:") {
		return ns, err
	}
	if ref == "" || len(ref) > 1024 || strings.ContainsAny(ref, `<>"/`) {
		return nil, invalidInput(`namespace: %q is not a namespace name: 1 to 1024 characters without >, <, " or /`, ref)
	}
	ns = &Namespace{
		Name: ref, Type: TypeHTTP, Description: "Service Connect default namespace of an ECS cluster",
		Properties: &NamespaceProperties{HTTPProperties: &HTTPProperties{HTTPName: ref}},
	}
	if _, err := r.insertNamespace(tx, ns); err != nil {
		return nil, err
	}
	return ns, nil
}

// ConnectService returns the Cloud Map service named name in namespace ns that Service Connect
// registers an ECS service's tasks in, creating it when there is none (CreatorRequestId owner,
// the ECS service's ARN). A service of that name created by someone else is used as it is, as ECS
// does.
func (r *Registry) ConnectService(tx *store.Tx, ns *Namespace, name, owner string) (*Service, error) {
	s, err := r.serviceNamed(tx, ns.ID, name)
	if err != nil || s != nil {
		return s, err
	}
	in := &CreateServiceInput{Name: name, CreatorRequestID: owner, Description: "Service Connect of " + owner,
		HealthCheckCustomConfig: &HealthCheckCustomConfig{}}
	s = r.newService(in, ns)
	return s, tx.CloudMapPut(svcKey(s.ID), s)
}
