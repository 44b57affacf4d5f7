package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// taskMutation changes a task record inside a store transaction; def is the task's definition (nil
// when it cannot be found).
type taskMutation func(r *store.TaskRecord, def *model.TaskDefinition)

// updateTask applies fn to the stored task in one read-modify-write transaction, adding one to the
// task's version when the task changed. It returns the stored record and whether the task changed.
func (s *Scheduler) updateTask(cluster, id string, fn taskMutation) (*store.TaskRecord, bool, error) {
	return s.updateTaskTx(cluster, id, func(_ *store.Tx, r *store.TaskRecord, def *model.TaskDefinition) error {
		fn(r, def)
		return nil
	})
}

// updateTaskTx is updateTask for a mutation that also writes other records in the same transaction
// (fn's error aborts it). The transaction is shared with the other workers' writes of the moment
// (store.Batch, group commit), so fn may run more than once, each time on a freshly read record: it
// must only change r and write through tx.
func (s *Scheduler) updateTaskTx(cluster, id string, fn func(*store.Tx, *store.TaskRecord, *model.TaskDefinition) error) (*store.TaskRecord, bool, error) {
	return s.mutateTask(cluster, id, false, fn)
}

// errWouldWrite ends mutateTask's read transaction: the mutation changes the record.
var errWouldWrite = errors.New("the mutation changes the task")

// mutateTask is updateTaskTx; with readFirst, fn runs first in a read transaction, and the write
// transaction follows only when fn changes the record (or fails: it may have tried to write through
// the read-only tx). For a pass that usually changes nothing — the first one of a new task, before
// its start; resyncs; health rechecks — this keeps it out of the queue for bbolt's single writer: with
// 50 tasks started at once, each new task's first pass waited for a group commit before
// runtime.Start (bench/README.md, "Faster starts, third pass"). A write between the two transactions
// is no concern: the write transaction runs fn again on the record it reads.
func (s *Scheduler) mutateTask(cluster, id string, readFirst bool, fn func(*store.Tx, *store.TaskRecord, *model.TaskDefinition) error) (*store.TaskRecord, bool, error) {
	var out *store.TaskRecord
	var changed bool
	apply := func(tx *store.Tx, dry bool) error {
		out, changed = nil, false
		r, err := tx.GetTask(cluster, id)
		if err != nil {
			return err
		}
		def, err := taskDefinition(tx, r.Task.TaskDefinitionArn)
		if err != nil {
			def = nil // a deleted definition must not wedge the task's lifecycle
		}
		beforeTask, _ := json.Marshal(r.Task)
		beforeRec, _ := json.Marshal(r)
		if err := fn(tx, r, def); err != nil {
			return err
		}
		afterTask, _ := json.Marshal(r.Task)
		if !bytes.Equal(beforeTask, afterTask) {
			r.Task.Version++
			changed = true
		}
		out = r
		if afterRec, _ := json.Marshal(r); bytes.Equal(beforeRec, afterRec) {
			return nil
		}
		if dry {
			return errWouldWrite
		}
		return tx.PutTask(cluster, id, r)
	}
	err := errWouldWrite
	if readFirst {
		err = s.store.View(func(tx *store.Tx) error { return apply(tx, true) })
		if isNotFound(err) {
			return nil, false, fmt.Errorf("updating task %s/%s: %w", cluster, id, err)
		}
	}
	if err != nil {
		err = s.store.Batch(func(tx *store.Tx) error { return apply(tx, false) })
	}
	if err != nil {
		return nil, false, fmt.Errorf("updating task %s/%s: %w", cluster, id, err)
	}
	return out, changed, nil
}

// syncTask applies the latest runtime observation of a task, then does the next lifecycle step
// that needs the runtime: Start, Stop, or Remove (and forgets the task once retention is over).
func (s *Scheduler) syncTask(ctx context.Context, id string) error {
	cluster, err := s.clusterOf(id)
	if isNotFound(err) {
		s.takeObservation(id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("finding the cluster of task %s: %w", id, err)
	}
	obs, hasObs := s.takeObservation(id)
	now := s.clock.Now()
	var succeeded bool
	var recheck time.Duration
	// Without an observation the pass usually changes nothing: read first (mutateTask).
	rec, changed, err := s.mutateTask(cluster, id, !hasObs, func(tx *store.Tx, r *store.TaskRecord, def *model.TaskDefinition) error {
		succeeded, recheck = false, 0
		if hasObs {
			applyObservation(&r.Task, def, obs, now)
		}
		svc := serviceOf(tx, cluster, r)
		if err := s.syncRegistrations(tx, cluster, r, def, svc); err != nil {
			return err
		}
		if r.Scheduler.EverHealthy {
			return nil
		}
		j := s.health.judge(&r.Task, def, svc, now)
		r.Scheduler.EverHealthy, recheck, succeeded = j.Healthy, j.Recheck, j.Healthy
		return nil
	})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		if hasObs {
			s.putBackObservation(id, obs)
		}
		return err
	}
	if changed || succeeded {
		s.notifyService(cluster, rec)
	}
	if recheck > 0 {
		s.queue.AddAfter(taskKey(id), recheck)
	}
	if err := s.registerTargets(cluster, rec); err != nil {
		return err
	}
	return s.advanceTask(ctx, cluster, id, rec)
}

// serviceOf is the service a task belongs to, or nil (a standalone task, or a service that is gone).
func serviceOf(tx *store.Tx, cluster string, r *store.TaskRecord) *model.Service {
	if r.ServiceName == "" {
		return nil
	}
	svc, err := tx.GetService(cluster, r.ServiceName)
	if err != nil {
		return nil
	}
	return &svc.Service
}

// notifyService queues the service a task belongs to, if any.
func (s *Scheduler) notifyService(cluster string, r *store.TaskRecord) {
	if r.ServiceName != "" {
		s.queue.Add(serviceKey(cluster, r.ServiceName))
	}
}

// advanceTask does the runtime step the task's state calls for.
func (s *Scheduler) advanceTask(ctx context.Context, cluster, id string, r *store.TaskRecord) error {
	t := &r.Task
	switch {
	case t.LastStatus == model.TaskStatusStopped:
		return s.cleanUpTask(ctx, cluster, id, r)
	case t.DesiredStatus == model.TaskStatusStopped:
		return s.stopTask(ctx, cluster, id)
	case !r.Scheduler.RuntimeStarted:
		return s.startTask(ctx, cluster, id, r)
	}
	return nil
}

// taskSpec is what the runtime needs to start (or attach to) the task, its VPC address included
// (assigned on the first call, the same one on every later call). To start it, the containers'
// secrets are resolved against the secret store, as the ECS agent resolves them before it creates
// the containers; the error then is the task's stoppedReason (ResourceInitializationError: unable
// to pull secrets or registry auth: ...).
func (s *Scheduler) taskSpec(cluster string, r *store.TaskRecord, start bool) (runtime.TaskSpec, error) {
	var def *model.TaskDefinition
	err := s.store.View(func(tx *store.Tx) error {
		var err error
		def, err = taskDefinition(tx, r.Task.TaskDefinitionArn)
		return err
	})
	if err != nil {
		return runtime.TaskSpec{}, err
	}
	id := taskID(r.Task.TaskArn)
	network, err := s.taskNetwork(id)
	if err != nil {
		return runtime.TaskSpec{}, err
	}
	spec := runtime.TaskSpec{
		TaskID: id, Cluster: cluster, Definition: *def, Overrides: r.Task.Overrides, Network: network,
		DNS: runtime.DNSFromTags(r.Task.Tags),
	}
	if start {
		if spec.Secrets, err = s.secrets.ContainerSecrets(def.ContainerDefinitions); err != nil {
			return runtime.TaskSpec{}, err
		}
		if spec.RegistryAuth, err = s.secrets.RegistryAuth(def.ContainerDefinitions); err != nil {
			return runtime.TaskSpec{}, err
		}
	}
	return spec, nil
}

// startTask calls runtime.Start (the record is already stored, so a crash cannot lose the task),
// then records the runtime's handle and moves the task to PENDING.
func (s *Scheduler) startTask(ctx context.Context, cluster, id string, r *store.TaskRecord) error {
	spec, err := s.taskSpec(cluster, r, true)
	if err == nil {
		var handle store.TaskRuntimeState
		before := s.eventCount()
		handle, err = s.rt.Start(ctx, spec)
		if err == nil {
			s.holdStart(ctx, id, before+1)
			return s.recordStarted(cluster, id, handle, spec.Network)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.log.Info("task failed to start", "cluster", cluster, "task", id, "reason", err.Error())
	_, _, uerr := s.updateTask(cluster, id, func(r *store.TaskRecord, _ *model.TaskDefinition) {
		requestStop(&r.Task, model.StopCodeTaskFailedToStart, err.Error())
	})
	if uerr != nil {
		return uerr
	}
	s.queue.Add(taskKey(id))
	return nil
}

// defaultStartHold bounds how long holdStart waits for the report that follows a start's first one.
const defaultStartHold = 500 * time.Millisecond

// holdStart waits, before the start of task id is stored, for the runtime's next report of it (its
// containers RUNNING, usually: about 100 ms after Start on this data plane), so that recordStarted
// stores the handle, PENDING and RUNNING in one commit instead of two — the PENDING commit's
// fsyncs went to the disk while containerd created the container and slowed it down
// (bench/README.md, "Faster starts, third pass"). It waits only while the scheduler has nothing
// else to do: it returns at once unless the first report came during Start (quiet is the event
// count then: one more than before Start) and says the task is still starting, and it returns
// on any event (a report of any task, a task created or asked to stop, a service changed), when
// work is queued, after s.startHold, or when ctx is done. Until the commit, what is durable is what
// was before Start (a PROVISIONING task with its address): a crash meanwhile starts the task again
// with the idempotent Start, as a crash just before the commit always did (ADR 0002).
func (s *Scheduler) holdStart(ctx context.Context, id string, quiet uint64) {
	s.mu.Lock()
	first, ok := s.observed[id]
	s.mu.Unlock()
	if !ok || !stillStarting(first) {
		return
	}
	timer := time.NewTimer(s.startHold)
	defer timer.Stop()
	// Work that becomes due later (AddAfter: health rechecks, backoffs) comes without an event.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		events, wake := s.events, s.wake
		s.mu.Unlock()
		if events != quiet || s.queue.Len() > 0 {
			return
		}
		select {
		case <-wake:
			return
		case <-tick.C:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// stillStarting reports whether a runtime report says the task is starting: no failure, and every
// container PENDING.
func stillStarting(st runtime.TaskState) bool {
	if st.StartFailure != "" || len(st.Containers) == 0 {
		return false
	}
	for _, c := range st.Containers {
		if c.Status != model.TaskStatusPending {
			return false
		}
	}
	return true
}

// eventCount is the number of events so far (holdStart).
func (s *Scheduler) eventCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// recordStarted stores, in one transaction, the runtime's handle, the task's attached ENI, the move
// to PENDING and what the runtime reported during Start (its first report: the containers PENDING
// with their runtime IDs and port bindings, or the start failure; a runtime that is quick enough
// reports them RUNNING already). The report used to take a transaction of its own: one write and
// two fsyncs less per task on the way to RUNNING (bench/README.md, "Faster starts"). Nothing
// becomes durable earlier than the handle: a crash before this commit starts the task again
// (idempotently), and the report comes again with that Start.
func (s *Scheduler) recordStarted(cluster, id string, handle store.TaskRuntimeState, network *vpc.Interface) error {
	obs, hasObs := s.takeObservation(id)
	now := s.clock.Now()
	rec, changed, err := s.updateTask(cluster, id, func(r *store.TaskRecord, def *model.TaskDefinition) {
		r.Runtime = handle
		r.Scheduler.RuntimeStarted = true
		t := &r.Task
		s.attachENI(t, network)
		if t.LastStatus == model.TaskStatusProvisioning {
			advance(t, model.TaskStatusPending)
			t.PullStartedAt = timeOf(now)
			t.Connectivity = ptr(connectivityConnected)
			t.ConnectivityAt = timeOf(now)
		}
		if hasObs {
			applyObservation(t, def, obs, now)
		}
	})
	if err != nil {
		if hasObs {
			s.putBackObservation(id, obs)
		}
		return err
	}
	if changed {
		s.notifyService(cluster, rec)
	}
	return nil
}

// stopTask walks a task whose desiredStatus is STOPPED through DEACTIVATING and STOPPING, stops its
// containers (no transaction is held meanwhile), then DEPROVISIONING and STOPPED, then cleans up.
// A task registered in target groups stays DEACTIVATING while it drains (drainTargets) and is
// queued again when the drain ends.
func (s *Scheduler) stopTask(ctx context.Context, cluster, id string) error {
	for _, status := range []string{model.TaskStatusDeactivating, model.TaskStatusStopping} {
		now := s.clock.Now()
		rec, _, err := s.updateTaskTx(cluster, id, func(tx *store.Tx, r *store.TaskRecord, _ *model.TaskDefinition) error {
			advance(&r.Task, status)
			if r.Task.StoppingAt == nil {
				r.Task.StoppingAt = timeOf(now)
			}
			return deregister(tx, r) // Cloud Map, before the containers are signalled (registries.go)
		})
		if err != nil {
			return err
		}
		if status != model.TaskStatusDeactivating {
			continue
		}
		left, err := s.drainTargets(id, &rec.Task)
		if err != nil {
			return err
		}
		if left > 0 {
			s.queue.AddAfter(taskKey(id), left)
			return nil
		}
	}
	if err := s.rt.Stop(ctx, id); err != nil {
		return fmt.Errorf("stopping task %s: %w", id, err)
	}
	obs, hasObs := s.takeObservation(id)
	now := s.clock.Now()
	if _, _, err := s.updateTask(cluster, id, func(r *store.TaskRecord, def *model.TaskDefinition) {
		if hasObs {
			applyObservation(&r.Task, def, obs, now)
		}
		advance(&r.Task, model.TaskStatusDeprovisioning)
		if eni := r.Task.ENI(); eni != nil && eni.Status == model.AttachmentAttached {
			model.SetENIStatus(&r.Task, model.AttachmentDetaching)
		}
	}); err != nil {
		return err
	}
	r, _, err := s.updateTask(cluster, id, func(r *store.TaskRecord, _ *model.TaskDefinition) {
		markStopped(&r.Task, s.clock.Now())
	})
	if err != nil {
		return err
	}
	s.notifyService(cluster, r)
	return s.cleanUpTask(ctx, cluster, id, r)
}

// cleanUpTask removes what a STOPPED task left in the runtime, once — releasing its VPC address in
// the transaction that records the removal — and deletes the record when its retention is over.
func (s *Scheduler) cleanUpTask(ctx context.Context, cluster, id string, r *store.TaskRecord) error {
	if !r.Scheduler.RuntimeRemoved {
		if err := s.rt.Remove(ctx, id, r.Runtime); err != nil {
			return fmt.Errorf("removing task %s: %w", id, err)
		}
		if _, _, err := s.updateTaskTx(cluster, id, func(tx *store.Tx, r *store.TaskRecord, _ *model.TaskDefinition) error {
			r.Scheduler.RuntimeRemoved = true
			return ipam.Release(tx, id)
		}); err != nil {
			return err
		}
	}
	now := s.clock.Now()
	if !expired(r.Task.StoppedAt, now, s.retention) {
		return nil
	}
	err := s.store.Batch(func(tx *store.Tx) error {
		cur, err := tx.GetTask(cluster, id)
		if err != nil {
			return err
		}
		if cur.Task.LastStatus != model.TaskStatusStopped || !expired(cur.Task.StoppedAt, now, s.retention) {
			return nil
		}
		return tx.DeleteTask(cluster, id)
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("forgetting task %s: %w", id, err)
	}
	s.mu.Lock()
	delete(s.clusters, id)
	s.mu.Unlock()
	return nil
}
