package scheduler

import (
	"fmt"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// registerTargets registers a RUNNING, wanted task of the PRIMARY deployment of a service with
// loadBalancers in their target groups (Options.Targets; idempotent, so every sync of the task may
// ask again, and a restart loses nothing). Tasks of older deployments were registered while theirs
// was PRIMARY and keep those targets: an UpdateService that changes loadBalancers does not move
// them into the new target groups, as on ECS.
func (s *Scheduler) registerTargets(cluster string, r *store.TaskRecord) error {
	t := &r.Task
	if s.targets == nil || r.ServiceName == "" || t.LastStatus != model.TaskStatusRunning || t.DesiredStatus != model.TaskStatusRunning {
		return nil
	}
	var svc *model.Service
	err := s.store.View(func(tx *store.Tx) error {
		svc = serviceOf(tx, cluster, r)
		return nil
	})
	if err != nil || svc == nil || len(svc.LoadBalancers) == 0 || !primaryTask(svc, r) {
		return err
	}
	if err := s.targets.RegisterTask(cluster, svc, t); err != nil {
		return fmt.Errorf("registering task %s in its load balancers' target groups: %w", taskID(t.TaskArn), err)
	}
	return nil
}

// drainTargets deregisters a task being stopped from its target groups and returns how long it
// still drains: the task stays DEACTIVATING until then, and only then gets SIGTERM (ECS: "the
// task is deregistered from the load balancer ... and then stopped once the deregistration delay
// elapsed").
func (s *Scheduler) drainTargets(id string, t *model.Task) (time.Duration, error) {
	if s.targets == nil {
		return 0, nil
	}
	left, err := s.targets.DeregisterTask(t)
	if err != nil {
		return 0, fmt.Errorf("deregistering task %s from its target groups: %w", id, err)
	}
	return left, nil
}

// TargetChanged queues a task whose load balancer target changed health or finished draining, and
// its service. It never blocks on the queue; it reads the store.
func (s *Scheduler) TargetChanged(cluster, id string) {
	s.remember(id, cluster)
	s.queue.Add(taskKey(id))
	_ = s.store.View(func(tx *store.Tx) error {
		if r, err := tx.GetTask(cluster, id); err == nil && r.ServiceName != "" {
			s.queue.Add(serviceKey(cluster, r.ServiceName))
		}
		return nil
	})
}

// unhealthyTargetGroup is the target group a stop reason names for a task whose target is
// unhealthy: the service's first (TargetHealth says unhealthy in some group, not which).
func unhealthyTargetGroup(svc *model.Service) string {
	for _, lb := range svc.LoadBalancers {
		if lb.TargetGroupArn != nil {
			return *lb.TargetGroupArn
		}
	}
	return ""
}

// primaryTask reports whether the task belongs to the service's PRIMARY deployment.
func primaryTask(svc *model.Service, r *store.TaskRecord) bool {
	for _, d := range svc.Deployments {
		if d.Status == model.DeploymentPrimary {
			return d.ID == r.DeploymentID
		}
	}
	return false
}
