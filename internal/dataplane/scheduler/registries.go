package scheduler

import (
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// syncRegistrations keeps a service's task registered in the Cloud Map services of the service's
// serviceRegistries while it is registrable, and deregisters it otherwise, in tx — the
// transaction that records the task's change, so the instance leaves the answers in the same
// commit that stops wanting the task, before the task's containers are signalled
// (docs/adr/0016-cloud-map-locally.md). Standalone tasks have no registrations.
func (s *Scheduler) syncRegistrations(tx *store.Tx, cluster string, r *store.TaskRecord, def *model.TaskDefinition, svc *model.Service) error {
	if r.ServiceName == "" {
		return nil
	}
	t := cloudmap.Task{TaskArn: r.Task.TaskArn}
	if svc != nil {
		t.Registries = append(connectRegistries(svc, def), svc.ServiceRegistries...)
	}
	if len(t.Registries) > 0 {
		t.Registered = registrable(&r.Task, def)
		t.IPv4 = r.Task.PrivateIPv4()
		t.Cluster, t.Service, t.Region = cluster, svc.ServiceName, s.arns.Region
		if def != nil {
			t.Family = def.Family
		}
	}
	return cloudmap.SyncTask(tx, t)
}

// connectRegistries are the Cloud Map services the primary deployment's Service Connect services
// register the tasks in (serviceConnectResources), each with the containerPort of its portName.
func connectRegistries(svc *model.Service, def *model.TaskDefinition) []model.ServiceRegistry {
	var out []model.ServiceRegistry
	for _, d := range svc.Deployments {
		if d.Status != model.DeploymentPrimary || d.ServiceConnectConfiguration == nil || !d.ServiceConnectConfiguration.Enabled {
			continue
		}
		for _, res := range d.ServiceConnectResources {
			reg := model.ServiceRegistry{RegistryArn: res.DiscoveryArn}
			for _, cs := range d.ServiceConnectConfiguration.Services {
				if cs.PortName != nil && derefOr(cs.DiscoveryName, *cs.PortName) == derefOr(res.DiscoveryName, "") {
					reg.Port = namedContainerPort(def, *cs.PortName)
				}
			}
			out = append(out, reg)
		}
	}
	return out
}

func derefOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

// namedContainerPort is the containerPort of def's port mapping named name (nil: none).
func namedContainerPort(def *model.TaskDefinition, name string) *int32 {
	if def == nil {
		return nil
	}
	for _, cd := range def.ContainerDefinitions {
		for _, pm := range cd.PortMappings {
			if pm.Name != nil && *pm.Name == name {
				return pm.ContainerPort
			}
		}
	}
	return nil
}

// registrable is ECS's rule for a task's Cloud Map instance: the task is RUNNING and still wanted,
// and, when an essential container has a health check, HEALTHY (ECS registers a task when it
// reaches RUNNING and reports its container health to Cloud Map; names answer healthy instances
// only). The 40 s wait of health.go is the deployment's rule, not the registry's.
func registrable(t *model.Task, def *model.TaskDefinition) bool {
	if t.LastStatus != model.TaskStatusRunning || t.DesiredStatus != model.TaskStatusRunning {
		return false
	}
	return !healthChecked(def) || t.HealthStatus == model.HealthHealthy
}

// deregister removes a stopping task's registrations (stopTask, before the containers are
// signalled).
func deregister(tx *store.Tx, r *store.TaskRecord) error {
	if r.ServiceName == "" {
		return nil
	}
	return cloudmap.SyncTask(tx, cloudmap.Task{TaskArn: r.Task.TaskArn})
}
