package cloudmap

import (
	"strings"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Service Connect (docs/adr/0016-cloud-map-locally.md): an ECS service's Service Connect services
// are Cloud Map services of the namespace, named by their discoveryName and registered like
// serviceRegistries; their client aliases are DNS names the VPC's DNS server answers with the
// healthy instances' addresses.

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

// Alias is a Service Connect client alias: a DNS name answered with the addresses of the healthy
// instances of a Cloud Map service.
type Alias struct {
	Name      string `json:"name"` // lower case, without the trailing dot
	ServiceID string `json:"serviceId"`
	Port      int32  `json:"port"`
	// Owner is the ARN of the ECS service whose Service Connect configuration made the alias.
	Owner string `json:"owner"`
}

func aliasKey(name string) string { return "alias/" + name }

// AliasOwner is the owner of the alias name ("" when there is none).
func AliasOwner(tx *store.Tx, name string) (string, error) {
	a, err := get[Alias](tx, aliasKey(strings.ToLower(strings.TrimSuffix(name, "."))))
	if err != nil || a == nil {
		return "", err
	}
	return a.Owner, nil
}

// SetAliases makes aliases the client aliases of owner: those owner had and no longer wants are
// removed. The caller checked that no other owner has one of them (AliasOwner).
func SetAliases(tx *store.Tx, owner string, aliases []Alias) error {
	want := map[string]bool{}
	for _, a := range aliases {
		a.Name = strings.ToLower(strings.TrimSuffix(a.Name, "."))
		a.Owner = owner
		want[a.Name] = true
		if err := tx.CloudMapPut(aliasKey(a.Name), a); err != nil {
			return err
		}
	}
	var stale []string
	if err := each(tx, "alias/", func(a *Alias) bool {
		if a.Owner == owner && !want[a.Name] {
			stale = append(stale, a.Name)
		}
		return true
	}); err != nil {
		return err
	}
	for _, n := range stale {
		if err := tx.CloudMapDelete(aliasKey(n)); err != nil {
			return err
		}
	}
	return nil
}

// aliasTTL is the TTL of a client alias's answers: the VPC's DNS server's own (servicedns
// DefaultTTL), as there is no Cloud Map record to take one from.
const aliasTTL = 5

// lookupAlias answers a client alias (name lower case, fully qualified); false when name is none.
func lookupAlias(tx *store.Tx, name string) (Records, bool) {
	a, err := get[Alias](tx, aliasKey(strings.TrimSuffix(name, ".")))
	if err != nil || a == nil {
		return Records{}, false
	}
	recs := Records{Zone: name, ZoneTTL: aliasTTL * time.Second, Exists: true, ATTL: aliasTTL * time.Second}
	s, err := get[Service](tx, svcKey(a.ServiceID))
	if err != nil || s == nil {
		return recs, true
	}
	_ = each(tx, instPrefix(s.ID), func(i *instance) bool {
		if addr, ok := healthyAddr(i); ok {
			recs.A = append(recs.A, addr)
		}
		return true
	})
	return recs, true
}
