package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// syncService reconciles one service inside one store transaction (so an API write in between is
// never overwritten), then queues the tasks it created or asked to stop; their runtime calls happen
// in the task workers, outside any transaction. The transaction is shared with the other workers'
// writes of the moment (store.Batch), so the reconcile may run more than once.
func (s *Scheduler) syncService(_ context.Context, cluster, name string) error {
	var touched []string
	var requeue time.Duration
	now := s.clock.Now()
	err := s.store.Batch(func(tx *store.Tx) error {
		touched, requeue = nil, 0
		rec, err := tx.GetService(cluster, name)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		tasks, err := serviceTasks(tx, cluster, name)
		if err != nil {
			return err
		}
		r := newReconciler(tx, s.arns, cluster, rec, tasks, now, s.retention)
		r.health = s.health
		if err := r.run(); err != nil {
			return err
		}
		touched, requeue = r.touched(), r.requeueAfter
		if len(touched) > 0 {
			c := r.counts()
			s.log.Info("service scheduler started and stopped tasks", "cluster", cluster, "service", name,
				"started", r.started, "stopped", r.stopped, "desired", c.Desired, "total", c.Total,
				"healthy", c.Healthy, "primaryLive", c.PrimaryLive)
		}
		if err := r.write(tx); err != nil {
			return err
		}
		for _, t := range r.created {
			if err := s.PrepareTask(tx, cluster, taskID(t.Task.TaskArn)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reconciling service %s/%s: %w", cluster, name, err)
	}
	for _, id := range touched {
		s.remember(id, cluster)
		s.queue.Add(taskKey(id))
	}
	if requeue > 0 {
		s.queue.AddAfter(serviceKey(cluster, name), requeue)
	}
	return nil
}

func serviceTasks(tx *store.Tx, cluster, name string) ([]*store.TaskRecord, error) {
	all, err := tx.Tasks(cluster)
	if err != nil {
		return nil, err
	}
	var out []*store.TaskRecord
	for _, r := range all {
		if r.ServiceName == name {
			out = append(out, r)
		}
	}
	return out, nil
}

// reconciler is one pass of the service scheduler over one service and its tasks, in memory; write
// stores the outcome.
type reconciler struct {
	tx        *store.Tx
	arns      model.ARNs
	cluster   string
	rec       *store.ServiceRecord
	svc       *model.Service
	tasks     []*store.TaskRecord
	now       time.Time
	retention time.Duration
	health    healthRules

	origService []byte
	origTasks   map[string][]byte
	defs        map[string]*model.TaskDefinition
	changed     map[string]*store.TaskRecord
	created     []*store.TaskRecord
	started     []string
	stopped     []string
	forget      bool
	// requeueAfter asks for another pass once a launch backoff is over.
	requeueAfter time.Duration
}

func newReconciler(tx *store.Tx, arns model.ARNs, cluster string, rec *store.ServiceRecord,
	tasks []*store.TaskRecord, now time.Time, retention time.Duration) *reconciler {
	r := &reconciler{
		tx: tx, arns: arns, cluster: cluster, rec: rec, svc: &rec.Service, tasks: tasks, now: now,
		retention: retention,
		origTasks: map[string][]byte{},
		defs:      map[string]*model.TaskDefinition{},
		changed:   map[string]*store.TaskRecord{},
	}
	r.origService, _ = json.Marshal(rec)
	for _, t := range tasks {
		r.origTasks[taskID(t.Task.TaskArn)], _ = json.Marshal(t.Task)
	}
	if rec.Scheduler.ConsecutiveFailures == nil {
		rec.Scheduler.ConsecutiveFailures = map[string]int32{}
	}
	return r
}

// run is the whole pass.
func (r *reconciler) run() error {
	switch r.svc.Status {
	case model.StatusInactive:
		r.forgetWhenExpired()
		return nil
	case model.StatusDraining:
		r.drain()
		r.updateCounts()
		return nil
	}
	if r.primary() == nil {
		r.updateCounts()
		return nil
	}
	r.noteSuccesses()
	r.accountBreaker()
	primary := r.primary()
	frozen := primary.RolloutState == model.RolloutFailed
	if !frozen {
		r.stopOld()
	}
	r.stopExcess()
	if !frozen {
		if err := r.startTasks(); err != nil {
			return err
		}
	}
	r.replaceUnhealthy(frozen)
	r.flushTaskEvents()
	r.updateCounts()
	r.completeRollout()
	r.steadyState()
	return nil
}

// primary is the PRIMARY deployment, or nil.
func (r *reconciler) primary() *model.Deployment {
	for i := range r.svc.Deployments {
		if r.svc.Deployments[i].Status == model.DeploymentPrimary {
			return &r.svc.Deployments[i]
		}
	}
	return nil
}

func (r *reconciler) definition(arn string) *model.TaskDefinition {
	if def, ok := r.defs[arn]; ok {
		return def
	}
	def, err := taskDefinition(r.tx, arn)
	if err != nil {
		def = nil
	}
	r.defs[arn] = def
	return def
}

// definitionTags are the tags of the task definition arn (none when it cannot be read: the task
// then starts without them rather than not at all).
func (r *reconciler) definitionTags(arn string) []model.Tag {
	r2, ok := model.ParseARN(arn)
	if !ok || len(r2.Parts) == 0 {
		return nil
	}
	family, rev, err := model.ParseFamilyRevision(r2.Parts[0])
	if err != nil {
		return nil
	}
	rec, err := r.tx.GetTaskDefinition(family, rev)
	if err != nil {
		return nil
	}
	return rec.Tags
}

// judge applies the health rules (health.go) to a task of the service as of this pass.
func (r *reconciler) judge(t *store.TaskRecord) judgement {
	return r.health.judge(&t.Task, r.definition(t.Task.TaskDefinitionArn), r.svc, r.now)
}

// isHealthy reports whether a task counts toward the lower bound.
func (r *reconciler) isHealthy(t *store.TaskRecord) bool { return r.judge(t).Healthy }

// noteSuccesses marks the tasks that count as healthy now as proven (EverHealthy), before the
// breaker counts them, and asks for another pass when a verdict changes with time alone (a task's
// 40 s after RUNNING, or its health check grace period, ends).
func (r *reconciler) noteSuccesses() {
	for _, t := range r.tasks {
		j := r.judge(t)
		if j.Recheck > 0 && (r.requeueAfter == 0 || j.Recheck < r.requeueAfter) {
			r.requeueAfter = j.Recheck
		}
		if j.Healthy && !t.Scheduler.EverHealthy {
			t.Scheduler.EverHealthy = true
			r.changed[taskID(t.Task.TaskArn)] = t
		}
	}
}

func live(t *store.TaskRecord) bool {
	return t.Task.LastStatus != model.TaskStatusStopped && t.Task.DesiredStatus == model.TaskStatusRunning
}

func notStopped(t *store.TaskRecord) bool { return t.Task.LastStatus != model.TaskStatusStopped }

// counts is the rolling-update snapshot as of now (including this pass's decisions).
func (r *reconciler) counts() rollCounts {
	c := rollCounts{
		Desired:           max(r.svc.DesiredCount, 0),
		MinHealthyPercent: defaultMinimumHealthyPercent,
		MaximumPercent:    defaultMaximumPercent,
	}
	if dc := r.svc.DeploymentConfiguration; dc != nil {
		if dc.MinimumHealthyPercent != nil {
			c.MinHealthyPercent = *dc.MinimumHealthyPercent
		}
		if dc.MaximumPercent != nil {
			c.MaximumPercent = *dc.MaximumPercent
		}
	}
	primaryID := ""
	if p := r.primary(); p != nil {
		primaryID = p.ID
	}
	for _, t := range r.tasks {
		if notStopped(t) {
			c.Total++
		}
		j := r.judge(t)
		if live(t) && t.DeploymentID == primaryID {
			c.PrimaryLive++
			if j.Unhealthy {
				c.PrimaryUnhealthy++
			}
			if j.Healthy {
				c.PrimaryHealthy++
			}
		}
		if j.Healthy {
			c.Healthy++
		}
	}
	return c
}

// stop asks the task to stop on the scheduler's behalf.
func (r *reconciler) stop(t *store.TaskRecord, reason string) {
	requestStop(&t.Task, model.StopCodeServiceSchedulerInitiated, reason)
	id := taskID(t.Task.TaskArn)
	r.changed[id] = t
	r.stopped = append(r.stopped, id)
}

func (r *reconciler) scalingReason() string {
	id := ""
	if p := r.primary(); p != nil {
		id = p.ID
	}
	return fmt.Sprintf("Scaling activity initiated by (deployment %s)", id)
}

// replaceUnhealthy stops the tasks that failed their health checks after the grace period (they
// never count toward the lower bound, so stopping them never breaks it). As ECS documents for
// maximumPercent, a PRIMARY task is stopped once its replacement was started and became healthy
// (startTasks does not count it as filling a slot; unhealthyStopBudget); when maximumPercent
// leaves no room for a replacement, or the deployment launches nothing (FAILED), unhealthy tasks
// are stopped one by one to make room (minimumHealthyPercent). Tasks of other deployments are
// stopped at once: the rollout replaces them.
func (r *reconciler) replaceUnhealthy(frozen bool) {
	c := r.counts()
	primaryID := r.primary().ID
	budget := unhealthyStopBudget(c)
	oneByOne := frozen || maxTasks(c.Desired, c.MaximumPercent)-c.Total <= 0
	for _, t := range r.stopOrder(func(t *store.TaskRecord) bool { return r.judge(t).Unhealthy }) {
		if t.DeploymentID == primaryID {
			switch {
			case budget > 0:
				budget--
			case oneByOne && !r.unhealthyStopping():
			default:
				continue
			}
		}
		if tg := unhealthyTargetGroup(r.svc); r.judge(t).TargetUnhealthy && tg != "" {
			addEvent(r.svc, msgUnhealthyTarget(r.svc.ServiceName, taskID(t.Task.TaskArn), tg), r.now)
			r.stop(t, fmt.Sprintf(reasonUnhealthyTarget, tg))
			continue
		}
		addEvent(r.svc, msgUnhealthy(r.svc.ServiceName, taskID(t.Task.TaskArn)), r.now)
		r.stop(t, reasonUnhealthy)
	}
}

// unhealthyStopping reports whether a task stopped for failing its health checks is still being
// stopped.
func (r *reconciler) unhealthyStopping() bool {
	for _, t := range r.tasks {
		if notStopped(t) && t.Task.DesiredStatus == model.TaskStatusStopped && stoppedUnhealthy(&t.Task) {
			return true
		}
	}
	return false
}

// stopOld stops the tasks of non-PRIMARY deployments: the ones that are not healthy at once, the
// healthy ones only while the lower bound holds.
func (r *reconciler) stopOld() {
	primaryID := r.primary().ID
	budget := healthyStopBudget(r.counts())
	for _, t := range r.stopOrder(func(t *store.TaskRecord) bool { return t.DeploymentID != primaryID }) {
		if r.isHealthy(t) {
			if budget == 0 {
				continue
			}
			budget--
		}
		r.stop(t, r.scalingReason())
	}
}

// stopExcess stops PRIMARY tasks beyond desiredCount (a scale-in), within the lower bound.
func (r *reconciler) stopExcess() {
	c := r.counts()
	excess := c.PrimaryLive - c.PrimaryUnhealthy - c.Desired
	budget := healthyStopBudget(c)
	primaryID := r.primary().ID
	// Unhealthy tasks fill no slot: replaceUnhealthy stops them, for their own reason.
	for _, t := range r.stopOrder(func(t *store.TaskRecord) bool { return t.DeploymentID == primaryID && !r.judge(t).Unhealthy }) {
		if excess <= 0 {
			return
		}
		if r.isHealthy(t) {
			if budget == 0 {
				continue
			}
			budget--
		}
		r.stop(t, r.scalingReason())
		excess--
	}
}

// stopOrder lists the live tasks that match, those that are not healthy first, newest first.
func (r *reconciler) stopOrder(match func(*store.TaskRecord) bool) []*store.TaskRecord {
	var unhealthy, healthyTasks []*store.TaskRecord
	for _, t := range r.tasks {
		if !live(t) || !match(t) {
			continue
		}
		if r.isHealthy(t) {
			healthyTasks = append(healthyTasks, t)
		} else {
			unhealthy = append(unhealthy, t)
		}
	}
	sortNewestFirst(unhealthy)
	sortNewestFirst(healthyTasks)
	return append(unhealthy, healthyTasks...)
}

// startTasks creates the PRIMARY tasks that fit within the upper bound, as PROVISIONING records;
// the task workers start them once this transaction is committed.
func (r *reconciler) startTasks() error {
	n := tasksToStart(r.counts())
	if n == 0 {
		return nil
	}
	primary := r.primary()
	if r.failedLaunchStopping(primary) {
		// Its failure is not counted yet and the backoff runs from its stoppedAt: launch nothing
		// until it is STOPPED (which queues this service again), then wait out the backoff.
		return nil
	}
	if wait := r.launchWait(primary); wait > 0 {
		r.requeueAfter = wait
		if msg := msgThrottled(r.svc.ServiceName); len(r.svc.Events) == 0 || r.svc.Events[0].Message != msg {
			addEvent(r.svc, msg, r.now)
		}
		return nil
	}
	def := r.definition(primary.TaskDefinition)
	if def == nil {
		return fmt.Errorf("task definition %s of deployment %s not found", primary.TaskDefinition, primary.ID)
	}
	placed := r.placedByProvider()
	for range n {
		provider := model.PickCapacityProvider(primary.CapacityProviderStrategy, placed)
		placed[provider]++
		t := newServiceTask(r.arns, r.cluster, r.svc, primary, def, r.definitionTags(def.TaskDefinitionArn), r.now)
		if provider != "" {
			t.Task.CapacityProviderName = &provider
		}
		r.created = append(r.created, t)
		r.tasks = append(r.tasks, t)
		r.started = append(r.started, taskID(t.Task.TaskArn))
	}
	return nil
}

// placedByProvider counts the service's tasks that are meant to run (desired RUNNING) by the
// capacity provider they were placed on, so that base and weight hold across the service.
func (r *reconciler) placedByProvider() map[string]int {
	out := map[string]int{}
	for _, t := range r.tasks {
		if t.Task.DesiredStatus == model.TaskStatusRunning && t.Task.CapacityProviderName != nil {
			out[*t.Task.CapacityProviderName]++
		}
	}
	return out
}

// launchWait is how long launches of the deployment must still wait after its latest failed launch
// (see launchDelay); 0 when they may go ahead.
func (r *reconciler) launchWait(d *model.Deployment) time.Duration {
	delay := launchDelay(r.rec.Scheduler.ConsecutiveFailures[d.ID])
	if delay == 0 {
		return 0
	}
	var last time.Time
	for _, t := range r.tasks {
		if t.DeploymentID == d.ID && launchFailed(&t.Task) && t.Task.StoppedAt != nil && t.Task.StoppedAt.After(last) {
			last = t.Task.StoppedAt.Time
		}
	}
	if last.IsZero() {
		return 0
	}
	return max(last.Add(delay).Sub(r.now), 0)
}

// failedLaunchStopping reports whether a task of the deployment failed its launch, is still being
// stopped, and is not counted by the breaker yet. Such a task is no longer live, so without this
// check its replacement would be launched at once, before the failure is counted: a crash loop
// would launch twice per backoff. A task that was healthy before is counted already (as a success)
// and does not hold its replacement back.
func (r *reconciler) failedLaunchStopping(d *model.Deployment) bool {
	for _, t := range r.tasks {
		if t.DeploymentID == d.ID && !t.Scheduler.BreakerAccounted && launchFailing(&t.Task) {
			return true
		}
	}
	return false
}

func (r *reconciler) flushTaskEvents() {
	if len(r.stopped) > 0 {
		addEvent(r.svc, msgStopped(r.svc.ServiceName, r.stopped), r.now)
	}
	if len(r.started) > 0 {
		addEvent(r.svc, msgStarted(r.svc.ServiceName, r.started), r.now)
	}
}

// touched lists the tasks the task workers must look at after this pass.
func (r *reconciler) touched() []string {
	out := append([]string(nil), r.started...)
	return append(out, r.stopped...)
}

// write stores what the pass changed: new and changed tasks (one more version each) and the service.
func (r *reconciler) write(tx *store.Tx) error {
	if r.forget {
		return tx.DeleteService(r.cluster, r.svc.ServiceName)
	}
	for id, t := range r.changed {
		if after, _ := json.Marshal(t.Task); !bytes.Equal(after, r.origTasks[id]) {
			t.Task.Version++
		}
		if err := tx.PutTask(r.cluster, id, t); err != nil {
			return err
		}
	}
	for _, t := range r.created {
		if err := tx.PutTask(r.cluster, taskID(t.Task.TaskArn), t); err != nil {
			return err
		}
	}
	if after, _ := json.Marshal(r.rec); bytes.Equal(after, r.origService) {
		return nil
	}
	return tx.PutService(r.cluster, r.rec)
}
