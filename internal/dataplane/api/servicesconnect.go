package api

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Service Connect on the local data plane (docs/adr/0016-cloud-map-locally.md): each of a
// service's serviceConnectConfiguration.services is a Cloud Map service of the namespace, named by
// its discoveryName, in which the scheduler registers the service's tasks; each client alias is a
// DNS name the VPC's DNS server answers with a virtual address of the alias's own, where the data
// plane's Service Connect proxy listens on the alias's port and forwards each connection to a
// healthy task at the containerPort of portName (package connectproxy), as ECS's proxy does.

// discoveryNameRE is a Service Connect discoveryName: letters, digits, underscores and hyphens,
// not starting with a hyphen (ECS API reference, ServiceConnectService.discoveryName), and a DNS
// label of at most 63 characters, since it names a Cloud Map service (ECS documents 64).
var discoveryNameRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}$`)

// aliasDNSNameRE is a client alias's dnsName as ECS takes it: up to 127 letters, digits,
// underscores, hyphens and periods, not starting with a hyphen (ECS API reference,
// ServiceConnectClientAlias; a trailing dot is allowed and ignored).
var aliasDNSNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.][a-zA-Z0-9_.-]{0,126}$`)

// connectService is one checked Service Connect service.
type connectService struct {
	discoveryName string
	aliases       []cloudmap.ClientAlias
}

// applyServiceConnect checks a service's serviceConnectConfiguration (owner: the service's ARN)
// against the task definition and the local Cloud Map and makes it take effect in tx: the Cloud
// Map services and the client aliases. It returns what the deployment reports: the configuration,
// its namespace as an ARN as ECS reports it, and the Cloud Map services (serviceConnectResources).
//
// A configuration that is enabled without a namespace takes the cluster's (serviceConnectDefaults,
// ECS reference: "any new services with Service Connect turned on that are created in the cluster
// are added as client services in the namespace").
func (s *Server) applyServiceConnect(tx *store.Tx, cluster, owner string, sc *model.ServiceConnectConfiguration, td *model.TaskDefinition) (*model.ServiceConnectConfiguration, []model.ServiceConnectServiceResource, error) {
	if sc == nil {
		return nil, nil, nil
	}
	out := *sc
	if !sc.Enabled {
		return &out, nil, cloudmap.SetAliases(tx, owner, nil)
	}
	if sc.Namespace == nil || *sc.Namespace == "" {
		c, err := tx.GetCluster(cluster)
		if err != nil {
			return nil, nil, err
		}
		d := c.Cluster.ServiceConnectDefaults
		if d == nil || d.Namespace == nil {
			return nil, nil, invalidParameter("serviceConnectConfiguration.namespace: required, since cluster %s has no serviceConnectDefaults; give the name or ARN of a namespace of the local Cloud Map, or set the cluster's serviceConnectDefaults.namespace", cluster)
		}
		sc = &out
		sc.Namespace = d.Namespace
	}
	ns, err := cloudmap.NamespaceByRef(tx, *sc.Namespace)
	if err != nil {
		return nil, nil, err
	}
	if ns == nil {
		return nil, nil, invalidParameter("serviceConnectConfiguration.namespace: %s is not a namespace of the local data plane's Cloud Map; create it with CreateHttpNamespace or CreatePrivateDnsNamespace on this endpoint", *sc.Namespace)
	}
	out.Namespace = ptr(ns.Arn)
	checked, err := checkConnectServices(tx, owner, ns, sc.Services, td)
	if err != nil {
		return nil, nil, err
	}
	reg := cloudmap.New(s.store, s.arns, s.clock)
	var res []model.ServiceConnectServiceResource
	var aliases []cloudmap.ClientAlias
	for _, c := range checked {
		svc, err := reg.ConnectService(tx, ns, c.discoveryName, owner)
		if err != nil {
			return nil, nil, err
		}
		res = append(res, model.ServiceConnectServiceResource{DiscoveryName: ptr(c.discoveryName), DiscoveryArn: ptr(svc.Arn)})
		for _, a := range c.aliases {
			a.ServiceID = svc.ID
			aliases = append(aliases, a)
		}
	}
	if err := cloudmap.SetAliases(tx, owner, aliases); err != nil {
		if errors.Is(err, cloudmap.ErrAliasRangeFull) {
			return nil, nil, newError(errLimitExceeded, "%s", err.Error())
		}
		return nil, nil, err
	}
	return &out, res, nil
}

func checkConnectServices(tx *store.Tx, owner string, ns *cloudmap.Namespace, services []model.ServiceConnectService, td *model.TaskDefinition) ([]connectService, error) {
	var out []connectService
	given := map[string]string{} // "name:port" → the member that gave it
	for i, cs := range services {
		member := fmt.Sprintf("serviceConnectConfiguration.services[%d]", i)
		pm, ok := namedPortMapping(td, deref(cs.PortName, ""))
		if !ok {
			return nil, invalidParameter("%s.portName: %q names no portMappings[].name of %s; name the port mapping in the task definition", member, deref(cs.PortName, ""), td.TaskDefinitionArn)
		}
		if p := deref(pm.Protocol, "tcp"); !strings.EqualFold(p, "tcp") {
			return nil, invalidParameter("%s.portName: port mapping %s is %s; Service Connect proxies TCP connections only: name a tcp port mapping", member, *cs.PortName, p)
		}
		c := connectService{discoveryName: deref(cs.DiscoveryName, *cs.PortName)}
		if !discoveryNameRE.MatchString(c.discoveryName) {
			return nil, invalidParameter("%s.discoveryName: %q must be 1 to 63 letters, digits, hyphens and underscores, not starting with a hyphen (a DNS label: it names a Cloud Map service)", member, c.discoveryName)
		}
		for j, ca := range cs.ClientAliases {
			a, err := checkClientAlias(tx, owner, fmt.Sprintf("%s.clientAliases[%d]", member, j), ca, c.discoveryName+"."+ns.Name)
			if err != nil {
				return nil, err
			}
			key := fmt.Sprintf("%s:%d", a.Name, a.Port)
			if other, dup := given[key]; dup {
				return nil, invalidParameter("%s: %s port %d is also %s; each name and port may be given once (ECS: unique within the namespace)", a.Member, a.Name, a.Port, other)
			}
			given[key] = a.Member
			c.aliases = append(c.aliases, a)
		}
		out = append(out, c)
	}
	return out, nil
}

// checkClientAlias checks one client alias (member names it): its port (1 to 65535: the proxy
// listens on it; it may differ from the containerPort of portName), its dnsName (default
// defaultName, discoveryName.NAMESPACE) and that no other ECS service gave the name with this
// port (another may give it with other ports: the name's one address listens on each).
func checkClientAlias(tx *store.Tx, owner, member string, ca model.ServiceConnectClientAlias, defaultName string) (cloudmap.ClientAlias, error) {
	if ca.Port == nil || *ca.Port < 1 || *ca.Port > 65535 {
		got := "none"
		if ca.Port != nil {
			got = fmt.Sprint(*ca.Port)
		}
		return cloudmap.ClientAlias{}, invalidParameter("%s.port: must be a port from 1 to 65535 that clients connect to (got %s); it may differ from the containerPort of portName", member, got)
	}
	raw := deref(ca.DNSName, defaultName)
	if err := checkAliasDNSName(raw); err != nil {
		given := ""
		if ca.DNSName == nil {
			given = " (not given: the default, discoveryName.namespace)"
		}
		return cloudmap.ClientAlias{}, invalidParameter("%s.dnsName: %q%s %s", member, raw, given, err)
	}
	name := strings.ToLower(strings.TrimSuffix(raw, "."))
	if other, err := cloudmap.AliasPortOwner(tx, name, *ca.Port); err != nil {
		return cloudmap.ClientAlias{}, err
	} else if other != "" && other != owner {
		return cloudmap.ClientAlias{}, invalidParameter("%s: %s port %d is already a client alias of %s (ECS: each name and port is unique within the namespace); "+
			"choose another port for the name (services may share a name on different ports) or another dnsName", member, name, *ca.Port, other)
	}
	return cloudmap.ClientAlias{Name: name, Port: *ca.Port, Member: member}, nil
}

// checkAliasDNSName checks a client alias's dnsName (a trailing dot ignored) and says, as the end
// of a sentence beginning with the name, why it is refused and what to give instead:
//   - ECS's rule (aliasDNSNameRE: up to 127 characters; this also keeps the name within RFC 1123's
//     253 octets);
//   - RFC 1123 §2.1 labels: no empty label ("a..b", a leading period), at most 63 octets each, not
//     beginning or ending with a hyphen; and a name whose last label is all digits ("10.0.1.1",
//     "10.0.1") is an address to resolvers, which never ask DNS for it;
//   - "localhost" and names under it, which resolvers answer as loopback themselves (RFC 6761 §6.3);
//   - names in the Kubernetes cluster domain (cloudmap.ClusterDomain), which the VPC's DNS server
//     answers from Kubernetes Services (docs/adr/0010-service-names.md), never from an alias.
//
// Each would be accepted and then never resolve to the alias's address.
func checkAliasDNSName(raw string) error {
	name := strings.TrimSuffix(raw, ".")
	if !aliasDNSNameRE.MatchString(name) {
		return errors.New("must be 1 to 127 letters, digits, underscores, hyphens and periods, not starting with a hyphen")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return errors.New("has an empty label (a leading period or two in a row); give labels separated by single periods, such as web.local")
		case len(l) > 63:
			return fmt.Errorf("has a label of %d characters (%.10s…); a DNS label has at most 63 (RFC 1123): shorten it", len(l), l)
		case strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-"):
			return fmt.Errorf("has the label %q, which begins or ends with a hyphen (RFC 1123 forbids it): move or remove the hyphen", l)
		}
	}
	lower := strings.ToLower(name)
	switch {
	case strings.Trim(labels[len(labels)-1], "0123456789") == "":
		return errors.New("is an IP address (or its last label is all digits, which resolvers read as one), not a DNS name; clients would never ask DNS for it: give a name such as web.local")
	case lower == "localhost" || strings.HasSuffix(lower, ".localhost"):
		return errors.New("is localhost or a name under it, which resolvers answer as loopback without asking DNS (RFC 6761): give another name, such as web.local")
	case cloudmap.InClusterDomain(lower):
		return fmt.Errorf("is in the Kubernetes cluster domain %s, whose names the VPC's DNS server answers from Kubernetes Services, never from a client alias: "+
			"give a name outside it, such as one in the Cloud Map namespace", cloudmap.ClusterDomain)
	}
	return nil
}

// namedPortMapping is the port mapping named name that has a containerPort.
func namedPortMapping(td *model.TaskDefinition, name string) (model.PortMapping, bool) {
	for _, cd := range td.ContainerDefinitions {
		for _, pm := range cd.PortMappings {
			if name != "" && pm.Name != nil && *pm.Name == name && pm.ContainerPort != nil {
				return pm, true
			}
		}
	}
	return model.PortMapping{}, false
}

// connectUpdate is what an update does to a service's Service Connect: the configuration and
// resources its next deployment carries, and whether they changed (a new deployment).
type connectUpdate struct {
	config    *model.ServiceConnectConfiguration
	resources []model.ServiceConnectServiceResource
	changed   bool
}

// updateServiceConnect applies UpdateService's serviceConnectConfiguration, or keeps the primary
// deployment's (checked again when the task definition changes).
func (s *Server) updateServiceConnect(tx *store.Tx, svc *model.Service, in *updateServiceInput, tdArn string) (connectUpdate, error) {
	var cur connectUpdate
	for _, d := range svc.Deployments {
		if d.Status == model.DeploymentPrimary {
			cur = connectUpdate{config: d.ServiceConnectConfiguration, resources: d.ServiceConnectResources}
		}
	}
	want := cur.config
	if in.ServiceConnectConfiguration != nil {
		want = in.ServiceConnectConfiguration
	}
	if want == nil || (in.ServiceConnectConfiguration == nil && tdArn == svc.TaskDefinition) {
		return cur, nil
	}
	ref, err := parseTaskDefRef("taskDefinition", tdArn)
	if err != nil {
		return cur, err
	}
	td, err := findTaskDefinition(tx, ref)
	if err != nil {
		return cur, err
	}
	cluster, err := s.clusterName("cluster", &svc.ClusterArn)
	if err != nil {
		return cur, err
	}
	config, res, err := s.applyServiceConnect(tx, cluster, svc.ServiceArn, want, &td.TaskDefinition)
	if err != nil {
		return cur, err
	}
	changed := in.ServiceConnectConfiguration != nil && !reflect.DeepEqual(config, cur.config)
	return connectUpdate{config: config, resources: res, changed: changed}, nil
}

// serviceConnectDefaults resolves a cluster's serviceConnectDefaults: the namespace named (name,
// ID or ARN) of the local Cloud Map, created as an HTTP namespace when a name names none, as ECS
// does; reported by its ARN. On UpdateCluster (update), an empty namespace removes the defaults
// (the namespace stays).
func (s *Server) serviceConnectDefaults(tx *store.Tx, in *model.ClusterServiceConnectDefaults, update bool) (*model.ClusterServiceConnectDefaults, error) {
	ref := deref(in.Namespace, "")
	if ref == "" {
		if update {
			return nil, nil
		}
		return nil, invalidParameter("serviceConnectDefaults.namespace: required; give the name or ARN of a Cloud Map namespace (a new name creates an HTTP namespace)")
	}
	if len(ref) > 1024 || strings.ContainsAny(ref, `<>"`) || (!strings.HasPrefix(ref, "arn:") && strings.Contains(ref, "/")) {
		return nil, invalidParameter(`serviceConnectDefaults.namespace: %q is neither a namespace ARN nor a name (up to 1024 characters without >, <, " or /)`, ref)
	}
	ns, err := cloudmap.New(s.store, s.arns, s.clock).ConnectNamespace(tx, ref)
	if err != nil {
		return nil, err
	}
	if ns == nil {
		return nil, invalidParameter("serviceConnectDefaults.namespace: %s is not a namespace of the local data plane's Cloud Map; give its name to create one, or create it with CreateHttpNamespace on this endpoint", ref)
	}
	return &model.ClusterServiceConnectDefaults{Namespace: ptr(ns.Arn)}, nil
}
