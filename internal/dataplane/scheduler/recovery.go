package scheduler

import (
	"context"
	"fmt"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// recover picks up after an earlier process, however it ended: every task that is not STOPPED and
// was started is re-attached (its containers keep running; exits that happened meanwhile come back
// through Observe) or, when it had not reached RUNNING, started again idempotently; every other unfinished task is queued (PROVISIONING ones are then started —
// idempotently, by task ID — stopping ones stopped, STOPPED ones cleaned up), and every service is
// queued for a reconcile.
func (s *Scheduler) recover(ctx context.Context) error {
	if err := s.releaseStaleAddresses(); err != nil {
		return err
	}
	var tasks []*store.TaskRecord
	err := s.store.View(func(tx *store.Tx) error {
		var err error
		tasks, err = tx.Tasks("")
		return err
	})
	if err != nil {
		return fmt.Errorf("listing tasks: %w", err)
	}
	now := s.clock.Now()
	attached := 0
	for _, r := range tasks {
		id, cluster := taskID(r.Task.TaskArn), clusterName(r.Task.ClusterArn)
		s.remember(id, cluster)
		if r.Task.LastStatus != model.TaskStatusStopped && r.Scheduler.RuntimeStarted {
			if err := s.resume(ctx, cluster, id, r); err != nil {
				return err
			}
			attached++
		}
		if s.taskNeedsWork(r, now) {
			s.queue.Add(taskKey(id))
		}
	}
	s.log.Info("recovered tasks from the store", "tasks", len(tasks), "attached", attached)
	return s.enqueueAll()
}

// resume resumes supervision of one task that an earlier process started. A task that had not
// reached RUNNING may have been interrupted while its containers were being created: it is started
// again — Start is idempotent by task ID, so it finds the containers that exist and creates only the
// missing ones — rather than attached, which would report the missing containers as lost and fail a
// task that only our crash interrupted. Every other task is attached.
func (s *Scheduler) resume(ctx context.Context, cluster, id string, r *store.TaskRecord) error {
	if r.Task.DesiredStatus != model.TaskStatusRunning || !before(&r.Task, model.TaskStatusRunning) {
		return s.attach(ctx, cluster, id, r)
	}
	spec, err := s.taskSpec(cluster, r, true)
	if err == nil {
		var handle store.TaskRuntimeState
		if handle, err = s.rt.Start(ctx, spec); err == nil {
			return s.recordStarted(cluster, id, handle, spec.Network)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.log.Info("cannot resume starting task, stopping it", "cluster", cluster, "task", id, "reason", err.Error())
	_, _, uerr := s.updateTask(cluster, id, func(r *store.TaskRecord, _ *model.TaskDefinition) {
		requestStop(&r.Task, model.StopCodeTaskFailedToStart, err.Error())
	})
	return uerr
}

// attach resumes supervision of one task. A task the runtime cannot attach to is stopped: its
// containers are gone or unreachable, and the service scheduler replaces it.
func (s *Scheduler) attach(ctx context.Context, cluster, id string, r *store.TaskRecord) error {
	spec, err := s.taskSpec(cluster, r, false)
	if err == nil {
		err = s.rt.Attach(ctx, spec, r.Runtime)
	}
	if err == nil {
		// A task started before tasks joined the VPC gets its ENI now; for the others nothing changes.
		_, _, err = s.updateTask(cluster, id, func(r *store.TaskRecord, _ *model.TaskDefinition) {
			s.attachENI(&r.Task, spec.Network)
		})
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.log.Info("cannot re-attach to task, stopping it", "cluster", cluster, "task", id, "reason", err.Error())
	_, _, uerr := s.updateTask(cluster, id, func(r *store.TaskRecord, _ *model.TaskDefinition) {
		code := model.StopCodeEssentialContainerExited
		if before(&r.Task, model.TaskStatusRunning) {
			code = model.StopCodeTaskFailedToStart
		}
		requestStop(&r.Task, code, reasonLost+": "+err.Error())
	})
	return uerr
}
