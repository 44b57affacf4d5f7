package scheduler

import (
	"fmt"
	"sort"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

const reasonBreakerFailed = "ECS deployment circuit breaker: tasks failed to start."

// updateCounts sets runningCount/pendingCount on every deployment and on the service; ACTIVE
// deployments' desiredCount is the number of their tasks still wanted, as ECS shows a draining one.
func (r *reconciler) updateCounts() {
	var running, pending int32
	for i := range r.svc.Deployments {
		d := &r.svc.Deployments[i]
		var dr, dp, dl int32
		for _, t := range r.tasks {
			if t.DeploymentID != d.ID {
				continue
			}
			dr, dp = dr+runningTask(t), dp+pendingTask(t)
			if live(t) {
				dl++
			}
		}
		desired := dl
		if d.Status == model.DeploymentPrimary {
			desired = r.svc.DesiredCount
		}
		if d.RunningCount != dr || d.PendingCount != dp || d.DesiredCount != desired {
			d.RunningCount, d.PendingCount, d.DesiredCount = dr, dp, desired
			d.UpdatedAt = timeOf(r.now)
		}
	}
	for _, t := range r.tasks {
		running, pending = running+runningTask(t), pending+pendingTask(t)
	}
	r.svc.RunningCount, r.svc.PendingCount = running, pending
}

func runningTask(t *store.TaskRecord) int32 {
	if t.Task.LastStatus == model.TaskStatusRunning {
		return 1
	}
	return 0
}

func pendingTask(t *store.TaskRecord) int32 {
	switch t.Task.LastStatus {
	case model.TaskStatusProvisioning, model.TaskStatusPending, model.TaskStatusActivating:
		return 1
	}
	return 0
}

// completeRollout marks the PRIMARY deployment COMPLETED once desiredCount of its tasks count as
// healthy (health.go: HEALTHY, or RUNNING for 40 s without health checks; a task that crashes right
// after it started must not make a revision "stable") and no other deployment has a task left; the
// others become INACTIVE and leave the list.
func (r *reconciler) completeRollout() {
	p := r.primary()
	if p.RolloutState != model.RolloutInProgress {
		return
	}
	var primaryHealthy, primaryLive int32
	for _, t := range r.tasks {
		if t.DeploymentID != p.ID {
			if notStopped(t) {
				return
			}
			continue
		}
		if live(t) {
			primaryLive++
		}
		if r.isHealthy(t) && t.Scheduler.EverHealthy {
			primaryHealthy++
		}
	}
	if primaryHealthy < r.svc.DesiredCount || primaryLive != r.svc.DesiredCount {
		return
	}
	p.RolloutState = model.RolloutCompleted
	p.RolloutStateReason = ptr(fmt.Sprintf("ECS deployment %s completed.", p.ID))
	p.UpdatedAt = timeOf(r.now)
	r.rec.Scheduler.LastStableTaskDefinition = p.TaskDefinition
	addEvent(r.svc, msgDeploymentCompleted(r.svc.ServiceName, p.ID), r.now)
	kept := *p
	for _, d := range r.svc.Deployments {
		if d.ID != kept.ID {
			delete(r.rec.Scheduler.ConsecutiveFailures, d.ID)
		}
	}
	r.svc.Deployments = []model.Deployment{kept}
}

// steadyState records "has reached a steady state." when the service settles, once per settling:
// its deployment COMPLETED, desiredCount tasks RUNNING and every one of them counting as healthy,
// none pending, none being stopped.
func (r *reconciler) steadyState() {
	p := r.primary()
	if len(r.svc.Deployments) != 1 || p.RolloutState != model.RolloutCompleted {
		return
	}
	if r.svc.RunningCount != r.svc.DesiredCount || r.svc.PendingCount != 0 {
		return
	}
	for _, t := range r.tasks {
		if notStopped(t) && (!live(t) || !r.isHealthy(t)) {
			return
		}
	}
	msg := msgSteady(r.svc.ServiceName)
	if len(r.svc.Events) > 0 && r.svc.Events[0].Message == msg {
		return
	}
	addEvent(r.svc, msg, r.now)
}

// drain stops every task of a DRAINING (deleted) service, then makes it INACTIVE.
func (r *reconciler) drain() {
	remaining := false
	for _, t := range r.tasks {
		if live(t) {
			r.stop(t, r.scalingReason())
		}
		if notStopped(t) {
			remaining = true
		}
	}
	r.flushTaskEvents()
	if remaining {
		return
	}
	r.svc.Status = model.StatusInactive
	r.svc.DesiredCount = 0
	r.rec.Scheduler.InactiveAt = timeOf(r.now)
}

// forgetWhenExpired deletes an INACTIVE service once it has been describable for the retention.
func (r *reconciler) forgetWhenExpired() {
	if r.rec.Scheduler.InactiveAt == nil {
		r.rec.Scheduler.InactiveAt = timeOf(r.now)
		return
	}
	r.forget = expired(r.rec.Scheduler.InactiveAt, r.now, r.retention)
}

func sortNewestFirst(ts []*store.TaskRecord) {
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i].Task.CreatedAt, ts[j].Task.CreatedAt
		if a == nil || b == nil {
			return a != nil
		}
		if !a.Equal(b.Time) {
			return a.After(b.Time)
		}
		return ts[i].Task.TaskArn > ts[j].Task.TaskArn
	})
}

// newServiceTask is a PROVISIONING task of a deployment, as the service scheduler launches it: its
// group names the service, startedBy the deployment, and it runs on the deployment's platform
// version with the service's enableExecuteCommand. Its tags are propagated from the service or the
// task definition (defTags) as the service's propagateTags says, plus the managed tags when
// enableECSManagedTags is on (model.TaskTags), as they are when it is launched.
func newServiceTask(arns model.ARNs, cluster string, svc *model.Service, d *model.Deployment,
	def *model.TaskDefinition, defTags []model.Tag, now time.Time) *store.TaskRecord {
	t := model.NewTask(arns, model.NewTaskInput{
		Cluster: cluster, ID: model.NewTaskID(), Definition: def,
		Group: ptr("service:" + svc.ServiceName), StartedBy: ptr(d.ID), PlatformVersion: d.PlatformVersion,
		EnableExecuteCommand: svc.EnableExecuteCommand, CreatedAt: now, NetworkConfiguration: d.NetworkConfiguration,
		Tags: model.TaskTags(model.TaskTagsInput{
			Propagate: stringOf(svc.PropagateTags), DefinitionTags: defTags, ServiceTags: svc.Tags,
			Managed: svc.EnableECSManagedTags, Cluster: cluster, Service: svc.ServiceName,
		}),
	})
	return &store.TaskRecord{Task: t, ServiceName: svc.ServiceName, DeploymentID: d.ID}
}

// stringOf is *p, or "" for nil.
func stringOf(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
