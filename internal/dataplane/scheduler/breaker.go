package scheduler

import (
	"fmt"
	"sort"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// launchFailed reports whether a stopped task counts as a failed launch for the circuit breaker: it
// could not start, an essential container exited, or it failed its health checks.
func launchFailed(t *model.Task) bool {
	return t.LastStatus == model.TaskStatusStopped && stoppedAsFailure(t)
}

// launchFailing reports whether a task is being stopped as a failed launch but has not reached
// STOPPED yet: it will count as one (with its stoppedAt) once it has.
func launchFailing(t *model.Task) bool {
	return t.LastStatus != model.TaskStatusStopped && t.DesiredStatus == model.TaskStatusStopped &&
		stoppedAsFailure(t)
}

// stoppedAsFailure reports whether the task's stop code and reason make its stop a failed launch.
func stoppedAsFailure(t *model.Task) bool {
	if t.StopCode == nil {
		return false
	}
	switch *t.StopCode {
	case model.StopCodeTaskFailedToStart, model.StopCodeEssentialContainerExited:
		return true
	case model.StopCodeServiceSchedulerInitiated:
		return stoppedUnhealthy(t)
	}
	return false
}

// accountBreaker counts the PRIMARY deployment's tasks, once each, in the order things happened: a
// failed launch adds one to the deployment's consecutive failures, a task that became healthy
// resets them (ECS's resetOnHealthyTask default). When the count reaches the threshold and the
// breaker is on, the deployment fails, and with rollback a new PRIMARY of the last stable task
// definition takes over.
func (r *reconciler) accountBreaker() {
	p := r.primary()
	failures := r.rec.Scheduler.ConsecutiveFailures
	for _, t := range r.unaccounted(p.ID) {
		t.Scheduler.BreakerAccounted = true
		r.changed[taskID(t.Task.TaskArn)] = t
		if t.Scheduler.EverHealthy {
			failures[p.ID] = 0
		} else {
			failures[p.ID]++
		}
	}
	if p.FailedTasks != failures[p.ID] {
		p.FailedTasks = failures[p.ID]
		p.UpdatedAt = timeOf(r.now)
	}
	cb := r.breaker()
	if cb == nil || !cb.Enable || p.RolloutState != model.RolloutInProgress {
		return
	}
	if failures[p.ID] >= breakerThreshold(r.svc.DesiredCount) {
		r.trip(cb.Rollback)
	}
}

// unaccounted lists the deployment's tasks the breaker has not counted yet and can count now
// (healthy ones, failed ones), ordered by when that happened.
func (r *reconciler) unaccounted(deploymentID string) []*store.TaskRecord {
	var out []*store.TaskRecord
	for _, t := range r.tasks {
		if t.DeploymentID != deploymentID || t.Scheduler.BreakerAccounted {
			continue
		}
		if t.Scheduler.EverHealthy || launchFailed(&t.Task) {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return accountedAt(out[i]).Before(accountedAt(out[j])) })
	return out
}

func accountedAt(t *store.TaskRecord) time.Time {
	switch {
	case t.Scheduler.EverHealthy && t.Task.StartedAt != nil:
		return t.Task.StartedAt.Time
	case t.Task.StoppedAt != nil:
		return t.Task.StoppedAt.Time
	}
	return time.Time{}
}

func (r *reconciler) breaker() *model.DeploymentCircuitBreaker {
	if r.svc.DeploymentConfiguration == nil {
		return nil
	}
	return r.svc.DeploymentConfiguration.DeploymentCircuitBreaker
}

// trip fails the PRIMARY deployment and, with rollback, starts a new PRIMARY deployment of the last
// task definition that completed a deployment.
func (r *reconciler) trip(rollback bool) {
	p := r.primary()
	p.RolloutState = model.RolloutFailed
	p.RolloutStateReason = ptr(reasonBreakerFailed)
	p.UpdatedAt = timeOf(r.now)
	addEvent(r.svc, msgDeploymentFailed(r.svc.ServiceName, p.ID), r.now)
	target := r.rec.Scheduler.LastStableTaskDefinition
	if !rollback || target == "" || target == p.TaskDefinition {
		return
	}
	next := model.NewDeployment(target, r.svc.DesiredCount, p.PlatformVersion, p.NetworkConfiguration, r.now)
	stable := next.ID
	for _, d := range r.svc.Deployments {
		if d.ID != p.ID && d.TaskDefinition == target {
			stable = d.ID
			break
		}
	}
	next.RolloutStateReason = ptr(fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", stable))
	p.Status = model.DeploymentActive
	r.svc.TaskDefinition = target
	r.svc.Deployments = append([]model.Deployment{next}, r.svc.Deployments...)
	addEvent(r.svc, msgRollingBack(r.svc.ServiceName, stable), r.now)
}
