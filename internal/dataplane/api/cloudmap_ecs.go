package api

import (
	"reflect"
	"slices"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// checkServiceRegistries checks a service's serviceRegistries as ECS does: at most one registry
// ("Multiple service registries for each service isn't supported"), whose registryArn names a
// Cloud Map service of the local data plane; containerName and containerPort name a port mapping
// of the task definition; a registry whose Cloud Map service has SRV records needs a port, given
// either as port or as containerName and containerPort, not both (ServiceRegistry, awsvpc mode).
func checkServiceRegistries(tx *store.Tx, regs []model.ServiceRegistry, td *model.TaskDefinition) error {
	if len(regs) > 1 {
		return invalidParameter("serviceRegistries: a service may have one service registry; got %d", len(regs))
	}
	for i, reg := range regs {
		if reg.RegistryArn == nil || *reg.RegistryArn == "" {
			return invalidParameter("serviceRegistries[%d].registryArn: required; give the ARN of a Cloud Map service (servicediscovery CreateService on this endpoint)", i)
		}
		svc, err := cloudmap.ServiceByARN(tx, *reg.RegistryArn)
		if err != nil {
			return err
		}
		if svc == nil {
			return invalidParameter("serviceRegistries[%d].registryArn: %s is not a Cloud Map service of the local data plane; create one with the Cloud Map API (servicediscovery CreateService) on this endpoint and use its Arn", i, *reg.RegistryArn)
		}
		if err := checkRegistryPort(i, reg, svc, td); err != nil {
			return err
		}
	}
	return nil
}

func checkRegistryPort(i int, reg model.ServiceRegistry, svc *cloudmap.Service, td *model.TaskDefinition) error {
	if (reg.ContainerName == nil) != (reg.ContainerPort == nil) {
		return invalidParameter("serviceRegistries[%d]: containerName and containerPort go together; give both or neither", i)
	}
	if reg.Port != nil && reg.ContainerPort != nil {
		return invalidParameter("serviceRegistries[%d]: give either port or containerName and containerPort, not both", i)
	}
	if reg.Port != nil && (*reg.Port < 1 || *reg.Port > 65535) {
		return invalidParameter("serviceRegistries[%d].port: must be 1 to 65535; got %d", i, *reg.Port)
	}
	if svc.HasSRV() && reg.Port == nil && reg.ContainerPort == nil {
		return invalidParameter("serviceRegistries[%d]: Cloud Map service %s has an SRV record, which needs a port: give port, or containerName and containerPort", i, svc.ID)
	}
	if reg.ContainerName == nil {
		return nil
	}
	ok := slices.ContainsFunc(td.ContainerDefinitions, func(d model.ContainerDefinition) bool {
		return d.Name != nil && *d.Name == *reg.ContainerName && slices.ContainsFunc(d.PortMappings, func(p model.PortMapping) bool {
			return p.ContainerPort != nil && *p.ContainerPort == *reg.ContainerPort
		})
	})
	if !ok {
		return invalidParameter("serviceRegistries[%d]: containerName and containerPort must name a container of %s and one of its portMappings", i, td.TaskDefinitionArn)
	}
	return nil
}

// updateRegistries applies UpdateService's serviceRegistries (a change starts a new deployment, as
// the ECS model documents) and checks the registries against the task definition the service
// will run.
func (s *Server) updateRegistries(tx *store.Tx, svc *model.Service, in *updateServiceInput, tdArn string, redeploy bool) (bool, error) {
	regs := svc.ServiceRegistries
	if in.ServiceRegistries != nil {
		regs = in.ServiceRegistries
	}
	if in.ServiceRegistries == nil && tdArn == svc.TaskDefinition {
		return redeploy, nil
	}
	ref, err := parseTaskDefRef("taskDefinition", tdArn)
	if err != nil {
		return redeploy, err
	}
	td, err := findTaskDefinition(tx, ref)
	if err != nil {
		return redeploy, err
	}
	if err := checkServiceRegistries(tx, regs, &td.TaskDefinition); err != nil {
		return redeploy, err
	}
	changed := !reflect.DeepEqual(nonNil(regs), nonNil(svc.ServiceRegistries))
	svc.ServiceRegistries = nonNil(regs)
	return redeploy || changed, nil
}
