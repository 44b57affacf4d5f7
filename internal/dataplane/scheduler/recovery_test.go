package scheduler

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/fakeruntime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// TestRecoveryAttachesAndDoesNotDuplicate simulates a process that dies with every kind of
// unfinished work in the store, then starts a new Scheduler on the same store and the same
// containers: running tasks are attached (never started again), a task stored but never started is
// started, a task started but not recorded as such is started again idempotently (same containers),
// a stop that was asked for is carried out, and the service converges with no duplicate.
func TestRecoveryAttachesAndDoesNotDuplicate(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 3, min: 100, max: 200})
	h.waitSteady("web", 3)
	running := serviceTaskIDs(h, "web", live)
	h.stop()
	h.rt.SetObserver(nil)

	// The state a crash could leave behind.
	var neverStarted, startedUnrecorded string
	h.update(func(tx *store.Tx) error {
		r, err := tx.GetService(testCluster, "web")
		if err != nil {
			return err
		}
		r.Service.DesiredCount = 5
		if err := tx.PutService(testCluster, r); err != nil {
			return err
		}
		def, err := taskDefinition(tx, r.Service.TaskDefinition)
		if err != nil {
			return err
		}
		for _, id := range []*string{&neverStarted, &startedUnrecorded} {
			tr := newServiceTask(testARNs, testCluster, &r.Service, &r.Service.Deployments[0], def, nil, h.clock.Now())
			*id = taskID(tr.Task.TaskArn)
			if err := tx.PutTask(testCluster, *id, tr); err != nil {
				return err
			}
		}
		// A StopTask whose notification was lost.
		stopped, err := tx.GetTask(testCluster, running[0])
		if err != nil {
			return err
		}
		stopped.Task.DesiredStatus = model.TaskStatusStopped
		stopped.Task.StopCode = ptr(model.StopCodeUserInitiated)
		return tx.PutTask(testCluster, running[0], stopped)
	})
	spec := runtime.TaskSpec{TaskID: startedUnrecorded, Cluster: testCluster, Definition: *taskDef("web", 1, true)}
	if _, err := h.rt.Start(context.Background(), spec); err != nil {
		t.Fatalf("starting the unrecorded task: %v", err)
	}

	h.rt = h.rt.Restart()
	h.start()
	h.eventually("the service converges on 5 healthy tasks", func() bool {
		c := h.census("web")
		return c.healthy == 5 && c.notStopped == 5
	})
	h.settle()

	calls := h.rt.Calls()
	slices.Sort(calls.Attach)
	wantAttach := slices.Clone(running)
	slices.Sort(wantAttach)
	if diff := cmp.Diff(wantAttach, calls.Attach); diff != "" {
		t.Errorf("Attach calls (-want +got):\n%s", diff)
	}
	for _, id := range running {
		if slices.Contains(calls.Start, id) {
			t.Errorf("running task %s was started again", id)
		}
	}
	if !slices.Contains(calls.Start, neverStarted) || !slices.Contains(calls.Start, startedUnrecorded) {
		t.Errorf("Start calls %v lack the never-started %s or the unrecorded %s", calls.Start, neverStarted, startedUnrecorded)
	}
	if len(calls.Start) != 3 {
		t.Errorf("Start calls = %v, want the 2 unstarted tasks and 1 replacement for the stopped one", calls.Start)
	}
	if r := h.task(running[0]); r.Task.LastStatus != model.TaskStatusStopped {
		t.Errorf("the task whose stop was asked for is %s", r.Task.LastStatus)
	}
	notStopped := serviceTaskIDs(h, "web", notStopped)
	slices.Sort(notStopped)
	if diff := cmp.Diff(notStopped, h.rt.Live()); diff != "" {
		t.Errorf("containers in the runtime differ from the tasks in the store (-store +runtime):\n%s", diff)
	}
}

// TestRecoveryStopsTasksThatCannotBeAttached: containers that vanished while nodeless was down are
// reported as exited, and the service replaces the tasks.
func TestRecoveryReplacesVanishedTasks(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 2, min: 100, max: 200})
	h.waitSteady("web", 2)
	gone := serviceTaskIDs(h, "web", live)[0]
	h.stop()
	h.rt.SetObserver(nil)
	if err := h.rt.Remove(context.Background(), gone, store.TaskRuntimeState{}); err != nil {
		t.Fatal(err)
	}
	h.rt = h.rt.Restart()
	h.start()
	h.eventually("the vanished task is replaced", func() bool {
		c := h.census("web")
		return h.task(gone).Task.LastStatus == model.TaskStatusStopped && c.healthy == 2 && c.notStopped == 2
	})
	if r := h.task(gone); deref(r.Task.StopCode) != model.StopCodeEssentialContainerExited {
		t.Errorf("vanished task stopCode = %s", deref(r.Task.StopCode))
	}
}

// TestRecoveryMidRolloutKeepsBoundsAndResumesStarts restarts in the middle of a rolling update: the
// old tasks come back with their health unknown (the runtime has not probed them again) and must
// still count as healthy; a new task whose containers were never created (the start was
// interrupted) is started again, not reported lost.
func TestRecoveryMidRolloutKeepsBoundsAndResumesStarts(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.createService("web", "web", 1, serviceOpts{desired: 4, min: 50, max: 150})
	h.waitSteady("web", 4)
	h.rt.OnStart = fakeruntime.PendingState
	h.deploy("web", "web", 2)
	h.settle()
	if c := h.census("web"); c.healthy != 2 || c.notStopped != 6 {
		t.Fatalf("before the restart: %+v, want 2 old healthy and 4 new pending", c)
	}
	h.stop()
	h.rt.SetObserver(nil)
	pending := serviceTaskIDs(h, "web", func(r *store.TaskRecord) bool {
		return live(r) && r.Task.LastStatus != model.TaskStatusRunning
	})
	interrupted := pending[0]
	if err := h.rt.Remove(context.Background(), interrupted, store.TaskRuntimeState{}); err != nil { // its containers never got created
		t.Fatal(err)
	}

	h.rt = h.rt.Restart()
	h.rt.OnStart = fakeruntime.PendingState
	h.rt.AttachHealthUnknown = true
	b := &boundsChecker{h: h, service: "web", minHealthy: 2, maxAll: 6}
	h.rt.BeforeStop = func(string) { b.check("at Stop") }
	h.start()
	h.settle()
	b.check("after recovery")
	if r := h.task(interrupted); !live(r) || !slices.Contains(h.rt.Calls().Start, interrupted) {
		t.Errorf("interrupted start: task %s desired %s, Start calls %v", r.Task.LastStatus, r.Task.DesiredStatus, h.rt.Calls().Start)
	}
	for _, id := range pending {
		h.rt.RunAll(id)
	}
	h.eventually("the rollout completes", func() bool {
		for _, id := range serviceTaskIDs(h, "web", live) {
			if tk, _ := h.rt.Task(id); tk.State.Containers[0].Status != model.TaskStatusRunning {
				h.rt.RunAll(id)
			}
		}
		r := h.service("web")
		return len(r.Service.Deployments) == 1 && r.Service.Deployments[0].RolloutState == model.RolloutCompleted
	})
	b.check("after the rollout")
}
