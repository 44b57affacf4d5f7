package scheduler

import (
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// The rules by which the service scheduler counts a task as healthy, started or failed, in one
// place, as the ECS API reference gives them (../shared/ecs-model/service-2.json):
//
//   - Healthy (DeploymentConfiguration.minimumHealthyPercent): a task counts toward the minimum
//     once it is RUNNING and still wanted, and
//   - without an essential container that has a health check: 40 s after it reached RUNNING
//     ("the service scheduler will wait for 40 seconds after a task reaches a RUNNING state");
//   - with one: once its healthStatus is HEALTHY (every essential container with a health check
//     passed it, Task.healthStatus);
//   - behind a load balancer: also once its target is healthy in every target group of the
//     service's loadBalancers, and without container health checks the target's health replaces
//     the 40 s wait ("if a task is behind a load balancer, it must pass the load balancer's health
//     checks before it counts"). TargetHealth is the hook (package elbv2 on the local data plane);
//     without one the container rules alone apply.
//   - Started: RUNNING (startedAt is when the task went from PENDING to RUNNING, Task.startedAt).
//   - Succeeded: a task that counted as healthy once. It resets the deployment's failed-task count
//     (Deployment.failedTasks: "once a service deployment has one or more successfully running
//     tasks, the failed task count resets to zero"), may complete the rollout and makes its revision
//     the rollback target. One rule for all three, the same as for the minimum, so a task never
//     counts as healthy for one purpose and as unproven for another.
//   - Failed (Deployment.failedTasks): the task could not be launched, stopped before it succeeded
//     because an essential container exited, or failed its health checks and was stopped. A task
//     stopped by a user or by the scheduler (scale-in, replacement) is neither.
//   - Unhealthy, to be replaced: RUNNING with healthStatus UNHEALTHY, or a target the load
//     balancer found unhealthy (TargetUnhealthy), once the service's
//     healthCheckGracePeriodSeconds after startedAt are over ("the service scheduler ignores
//     unhealthy ... container health checks after a task has first started"). The scheduler starts
//     a replacement first and then stops it when maximumPercent leaves room, otherwise it stops
//     unhealthy tasks one by one to make room (DeploymentConfiguration.maximumPercent and
//     minimumHealthyPercent).

// DefaultHealthyAfterRunning is how long a task without an essential container health check must
// be RUNNING before it counts as healthy: ECS's 40 s.
const DefaultHealthyAfterRunning = 40 * time.Second

// TargetHealth tells whether a task is a healthy target of its service's load balancers (package
// elbv2 on the local data plane; Options.TargetHealth nil: only the container rules apply).
type TargetHealth interface {
	// TargetHealthy reports whether the task is registered and healthy in every target group of
	// svc.loadBalancers; it must not block.
	TargetHealthy(svc *model.Service, task *model.Task) bool
	// TargetUnhealthy reports whether the load balancer found the task's target unhealthy in a
	// target group of svc.loadBalancers: the task is replaced once the service's
	// healthCheckGracePeriodSeconds after it started are over. It must not block.
	TargetUnhealthy(svc *model.Service, task *model.Task) bool
}

// Targets registers a service's tasks in the target groups of its loadBalancers, as ECS does: a
// task once it is RUNNING, at privateIPv4Address:containerPort; and deregisters a task being
// stopped before its containers get SIGTERM (package elbv2 on the local data plane).
type Targets interface {
	// RegisterTask registers the task in every target group of svc.loadBalancers; idempotent.
	RegisterTask(cluster string, svc *model.Service, task *model.Task) error
	// DeregisterTask deregisters the task from every target group it is registered in and returns
	// how long it still drains (the target group's deregistration delay, counted from the first
	// call); 0 when it may be stopped now. Idempotent.
	DeregisterTask(task *model.Task) (time.Duration, error)
}

// healthRules applies the rules above with the scheduler's settings.
type healthRules struct {
	// afterRunning is the wait of a task without container health checks (ECS: 40 s).
	afterRunning time.Duration
	targets      TargetHealth
}

// judgement is what the rules say of one task at one moment.
type judgement struct {
	// Healthy: the task counts toward minimumHealthyPercent, and proves itself (succeeds).
	Healthy bool
	// Unhealthy: the task failed its health checks after the grace period; it is to be replaced.
	Unhealthy bool
	// TargetUnhealthy: it is Unhealthy because the load balancer found its target unhealthy (not
	// its containers' health checks): ECS's stop reason names the target group.
	TargetUnhealthy bool
	// Recheck, when positive, is how long until the verdict may change with time alone (the 40 s
	// wait or the grace period ends).
	Recheck time.Duration
}

// judge applies the rules to task t of definition def (nil when it cannot be found), of service
// svc (nil for a standalone task), at now.
func (h healthRules) judge(t *model.Task, def *model.TaskDefinition, svc *model.Service, now time.Time) judgement {
	if t.LastStatus != model.TaskStatusRunning || t.DesiredStatus != model.TaskStatusRunning {
		return judgement{}
	}
	started := now
	if t.StartedAt != nil {
		started = t.StartedAt.Time
	}
	var j judgement
	if t.HealthStatus == model.HealthUnhealthy {
		if wait := started.Add(gracePeriod(svc)).Sub(now); wait > 0 {
			j.Recheck = wait
		} else {
			j.Unhealthy = true
		}
		return j
	}
	checked := healthChecked(def)
	behindTargets := h.targets != nil && svc != nil && len(svc.LoadBalancers) > 0
	switch {
	case checked && t.HealthStatus != model.HealthHealthy:
		return j
	case behindTargets && !h.targets.TargetHealthy(svc, t):
		if h.targets.TargetUnhealthy(svc, t) {
			if wait := started.Add(gracePeriod(svc)).Sub(now); wait > 0 {
				j.Recheck = wait
			} else {
				j.Unhealthy, j.TargetUnhealthy = true, true
			}
		}
		return j
	case !checked && !behindTargets:
		if wait := started.Add(h.afterRunning).Sub(now); wait > 0 {
			j.Recheck = wait
			return j
		}
	}
	j.Healthy = true
	return j
}

// gracePeriod is the service's healthCheckGracePeriodSeconds (0 when unset or standalone).
func gracePeriod(svc *model.Service) time.Duration {
	if svc == nil || svc.HealthCheckGracePeriodSeconds == nil {
		return 0
	}
	return time.Duration(*svc.HealthCheckGracePeriodSeconds) * time.Second
}
