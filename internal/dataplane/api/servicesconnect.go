package api

import (
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
// DNS name the VPC's DNS server answers with those tasks' addresses. There is no proxy between
// client and task, so an alias's port must be the container port its portName names.

// discoveryNameRE is a Service Connect discoveryName: a DNS label.
var discoveryNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_-]{0,62})$`)

// connectService is one checked Service Connect service.
type connectService struct {
	discoveryName string
	aliases       []cloudmap.Alias
}

// applyServiceConnect checks a service's serviceConnectConfiguration (owner: the service's ARN)
// against the task definition and the local Cloud Map and makes it take effect in tx: the Cloud
// Map services and the client aliases. It returns what the deployment reports: the configuration,
// its namespace as an ARN as ECS reports it, and the Cloud Map services (serviceConnectResources).
func (s *Server) applyServiceConnect(tx *store.Tx, owner string, sc *model.ServiceConnectConfiguration, td *model.TaskDefinition) (*model.ServiceConnectConfiguration, []model.ServiceConnectServiceResource, error) {
	if sc == nil {
		return nil, nil, nil
	}
	out := *sc
	if !sc.Enabled {
		return &out, nil, cloudmap.SetAliases(tx, owner, nil)
	}
	if sc.Namespace == nil || *sc.Namespace == "" {
		return nil, nil, invalidParameter("serviceConnectConfiguration.namespace: required on the local data plane (the cluster's serviceConnectDefaults are not served); give the name or ARN of a namespace of its Cloud Map")
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
	var aliases []cloudmap.Alias
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
	return &out, res, cloudmap.SetAliases(tx, owner, aliases)
}

func checkConnectServices(tx *store.Tx, owner string, ns *cloudmap.Namespace, services []model.ServiceConnectService, td *model.TaskDefinition) ([]connectService, error) {
	var out []connectService
	for i, cs := range services {
		member := fmt.Sprintf("serviceConnectConfiguration.services[%d]", i)
		port, ok := namedPort(td, deref(cs.PortName, ""))
		if !ok {
			return nil, invalidParameter("%s.portName: %q names no portMappings[].name of %s; name the port mapping in the task definition", member, deref(cs.PortName, ""), td.TaskDefinitionArn)
		}
		c := connectService{discoveryName: deref(cs.DiscoveryName, *cs.PortName)}
		if !discoveryNameRE.MatchString(c.discoveryName) {
			return nil, invalidParameter("%s.discoveryName: %q must be a DNS label of 1 to 64 letters, digits, hyphens and underscores", member, c.discoveryName)
		}
		for j, ca := range cs.ClientAliases {
			am := fmt.Sprintf("%s.clientAliases[%d]", member, j)
			if ca.Port == nil || *ca.Port != port {
				return nil, invalidParameter("%s.port: must be %d, the containerPort of portName %s: the local data plane answers Service Connect names with the tasks' own addresses (no proxy maps one port to another; docs/adr/0016-cloud-map-locally.md)", am, port, *cs.PortName)
			}
			name := strings.ToLower(strings.TrimSuffix(deref(ca.DNSName, c.discoveryName+"."+ns.Name), "."))
			if other, err := cloudmap.AliasOwner(tx, name); err != nil {
				return nil, err
			} else if other != "" && other != owner {
				return nil, invalidParameter("%s.dnsName: %s is already a client alias of %s; choose another name", am, name, other)
			}
			c.aliases = append(c.aliases, cloudmap.Alias{Name: name, Port: port})
		}
		out = append(out, c)
	}
	return out, nil
}

// namedPort is the containerPort of the port mapping named name.
func namedPort(td *model.TaskDefinition, name string) (int32, bool) {
	for _, cd := range td.ContainerDefinitions {
		for _, pm := range cd.PortMappings {
			if name != "" && pm.Name != nil && *pm.Name == name && pm.ContainerPort != nil {
				return *pm.ContainerPort, true
			}
		}
	}
	return 0, false
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
	config, res, err := s.applyServiceConnect(tx, svc.ServiceArn, want, &td.TaskDefinition)
	if err != nil {
		return cur, err
	}
	changed := in.ServiceConnectConfiguration != nil && !reflect.DeepEqual(config, cur.config)
	return connectUpdate{config: config, resources: res, changed: changed}, nil
}
