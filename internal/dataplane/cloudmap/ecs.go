package cloudmap

import (
	"slices"
	"strconv"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// ServiceByARN is the Cloud Map service an ECS service's serviceRegistries[].registryArn names,
// or nil when there is none (the ECS API refuses the registry then).
func ServiceByARN(tx *store.Tx, arn string) (*Service, error) {
	i := strings.LastIndex(arn, ":service/")
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":servicediscovery:") || i < 0 {
		return nil, nil
	}
	s, err := get[Service](tx, svcKey(arn[i+len(":service/"):]))
	if err != nil || s == nil || s.Arn != arn {
		return nil, err
	}
	return s, nil
}

// HasSRV reports whether the service's instances get SRV records (which need a port).
func (s *Service) HasSRV() bool { return hasRecord(s, RecordSRV) }

// Task is what SyncTask needs of an ECS task of a service with serviceRegistries.
type Task struct {
	TaskArn string
	// Registered is whether the task belongs in its service's registries now: RUNNING, still
	// wanted, its address known and its container health checks (if any) passed.
	Registered bool
	IPv4       string
	// Cluster, Service and Family name the task for the attributes ECS gives its instances.
	Cluster, Service, Family string
	Region                   string
	Registries               []model.ServiceRegistry
}

// registration is the stored list of the instances one task has (key task/<taskArn>).
type registration struct {
	Instances []string `json:"instances"` // instKey of each
}

// SyncTask registers an ECS task in its service's registries, or deregisters it, in the caller's
// transaction (the scheduler's, the one that changes the task): the instance ID is the task ID
// and the attributes are ECS's (AWS_INSTANCE_IPV4, AWS_INSTANCE_PORT when the registry has a
// port, REGION, ECS_CLUSTER_NAME, ECS_SERVICE_NAME,
// ECS_TASK_DEFINITION_FAMILY, AWS_INIT_HEALTH_STATUS HEALTHY). A registry whose Cloud Map service
// is gone is skipped. It writes nothing when the registrations are already right, so it may run
// on every pass over a task.
func SyncTask(tx *store.Tx, t Task) error {
	var had registration
	if p, err := get[registration](tx, taskKey(t.TaskArn)); err != nil {
		return err
	} else if p != nil {
		had = *p
	}
	want, err := wanted(tx, t)
	if err != nil {
		return err
	}
	var keep []string
	for key, inst := range want {
		keep = append(keep, key)
		cur, err := get[instance](tx, key)
		if err != nil {
			return err
		}
		if cur == nil || !sameInstance(cur, inst) {
			if err := putInstance(tx, inst); err != nil {
				return err
			}
		}
	}
	slices.Sort(keep)
	for _, key := range had.Instances {
		if _, ok := want[key]; ok {
			continue
		}
		svcID, id, _ := strings.Cut(strings.TrimPrefix(key, "inst/"), "/")
		if err := deleteInstance(tx, svcID, id); err != nil {
			return err
		}
	}
	if slices.Equal(keep, had.Instances) {
		return nil
	}
	if len(keep) == 0 {
		return tx.CloudMapDelete(taskKey(t.TaskArn))
	}
	return tx.CloudMapPut(taskKey(t.TaskArn), registration{Instances: keep})
}

func sameInstance(a, b *instance) bool {
	return a.Health == b.Health && a.TaskArn == b.TaskArn && len(a.Attributes) == len(b.Attributes) && matchAll(a.Attributes, b.Attributes)
}

// wanted is the instances task t should have, by store key.
func wanted(tx *store.Tx, t Task) (map[string]*instance, error) {
	out := map[string]*instance{}
	if !t.Registered || t.IPv4 == "" {
		return out, nil
	}
	id := t.TaskArn[strings.LastIndex(t.TaskArn, "/")+1:]
	for _, reg := range t.Registries {
		if reg.RegistryArn == nil {
			continue
		}
		s, err := ServiceByARN(tx, *reg.RegistryArn)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		attrs := map[string]string{
			AttrIPv4: t.IPv4, AttrInitHealth: HealthHealthy, attrRegion: t.Region,
			attrECSCluster: t.Cluster, attrECSService: t.Service, attrECSFamily: t.Family,
		}
		if p := registryPort(reg); p > 0 {
			attrs[AttrPort] = strconv.Itoa(int(p))
		}
		out[instKey(s.ID, id)] = &instance{ID: id, ServiceID: s.ID, Attributes: attrs, Health: HealthHealthy, TaskArn: t.TaskArn}
	}
	return out, nil
}

// registryPort is the port of a task's instance: the registry's port, else its containerPort.
func registryPort(reg model.ServiceRegistry) int32 {
	if reg.Port != nil {
		return *reg.Port
	}
	if reg.ContainerPort != nil {
		return *reg.ContainerPort
	}
	return 0
}
