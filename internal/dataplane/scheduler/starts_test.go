package scheduler

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/fakeruntime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// TestStartIsStoredInOneTransaction: what the runtime reports during Start (its first report) is
// stored with the runtime's handle, PENDING and the attached ENI in one transaction — after RunTask's
// write, which holds the VPC address (PrepareTask), one more where there used to be three — and a kill -9 right after that commit
// loses nothing and adds nothing: the restarted scheduler finds the same task, starts (PENDING) or
// attaches (RUNNING) it without a second container, and has nothing new to write.
func TestStartIsStoredInOneTransaction(t *testing.T) {
	tests := []struct {
		name    string
		onStart func(runtime.TaskSpec) runtime.TaskState
		// want is the task after the first transaction of the scheduler.
		want                       string
		wantStartAgain, wantAttach bool
	}{
		{name: "first report PENDING", onStart: fakeruntime.PendingState, want: model.TaskStatusPending, wantStartAgain: true},
		{name: "first report RUNNING", onStart: nil, want: model.TaskStatusRunning, wantAttach: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.rt.OnStart = tt.onStart
			h.start()
			before := h.store.Commits()
			id := h.runTask("plain", 1)
			h.settle()
			if got := h.store.Commits() - before; got != 2 {
				t.Errorf("%d write transactions from RunTask until settled, want 2 (RunTask with the address, Start with its report)", got)
			}
			r := h.task(id)
			if r.Task.LastStatus != tt.want || r.Task.Version != 2 || !r.Scheduler.RuntimeStarted || r.Task.PullStartedAt == nil {
				t.Fatalf("after Start: lastStatus %s version %d started %v pullStartedAt %v; want %s, 2, true, set",
					r.Task.LastStatus, r.Task.Version, r.Scheduler.RuntimeStarted, r.Task.PullStartedAt, tt.want)
			}
			if eni := r.Task.ENI(); eni == nil || eni.Status != model.AttachmentAttached {
				t.Errorf("ENI = %+v, want ATTACHED", eni)
			}
			if tt.want == model.TaskStatusRunning && (r.Task.StartedAt == nil || deref(r.Task.Containers[0].RuntimeID) != id+"-app") {
				t.Errorf("RUNNING without startedAt (%v) or the container's runtime ID (%s)", r.Task.StartedAt, deref(r.Task.Containers[0].RuntimeID))
			}

			// kill -9 right after the commit: a new scheduler on the same store and containers.
			h.stop()
			h.rt.SetObserver(nil)
			h.rt = h.rt.Restart()
			h.rt.OnStart = tt.onStart
			before = h.store.Commits()
			h.start()
			h.settle()
			if got := h.store.Commits() - before; got != 0 {
				t.Errorf("%d write transactions after the restart, want 0 (nothing was lost)", got)
			}
			after := h.task(id)
			if diff := cmp.Diff(r, after); diff != "" {
				t.Errorf("the task changed across the restart (-before +after):\n%s", diff)
			}
			calls := h.rt.Calls()
			if got := slices.Contains(calls.Start, id); got != tt.wantStartAgain {
				t.Errorf("Start calls after the restart %v, want the task started again: %v", calls.Start, tt.wantStartAgain)
			}
			if got := slices.Contains(calls.Attach, id); got != tt.wantAttach {
				t.Errorf("Attach calls after the restart %v, want the task attached: %v", calls.Attach, tt.wantAttach)
			}
			if diff := cmp.Diff([]string{id}, h.rt.Live()); diff != "" {
				t.Errorf("tasks in the runtime (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPassWithoutChangesTakesNoWriteTransaction: a pass over a task that changes nothing (here a
// resync of a RUNNING task) reads in a read transaction only, so it completes while another
// transaction holds bbolt's writer (before, it queued for the writer, and with 50 starts at once
// every new task's first pass waited for a group commit before runtime.Start); a pass that changes
// the task still writes.
func TestPassWithoutChangesTakesNoWriteTransaction(t *testing.T) {
	h := newHarness(t)
	h.start()
	id := h.runTask("plain", 1)
	h.settle()
	before := h.task(id)

	holding, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- h.store.Update(func(*store.Tx) error { close(holding); <-release; return nil })
	}()
	<-holding
	var once sync.Once
	unhold := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unhold) // before the scheduler's stop, should settle fail
	h.s.queue.Add(taskKey(id))
	h.settle() // fails (times out) if the pass waits for the writer
	unhold()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, h.task(id)); diff != "" {
		t.Errorf("the task changed in a pass with nothing to change (-before +after):\n%s", diff)
	}

	h.rt.Exit(id, "app", 1)
	h.settle()
	if got := h.task(id).Task.LastStatus; got != model.TaskStatusStopped {
		t.Errorf("after its essential container exited the task is %s, want STOPPED", got)
	}
}

// TestStartIsStoredWithRunning: when the runtime's first report says the task is still starting
// and the scheduler has nothing else to do, the start is stored with the next report: the handle,
// PENDING and RUNNING in one commit after RunTask's. Until then what is durable is the task as
// RunTask stored it, which a kill -9 turns into TestRecoveryAttachesAndDoesNotDuplicate's "started
// but not recorded" task (started again, same containers).
func TestStartIsStoredWithRunning(t *testing.T) {
	h := newHarness(t)
	h.startHold = time.Hour // only events end the hold
	h.rt.OnStart = fakeruntime.PendingState
	h.start()
	before := h.store.Commits()
	id := h.runTask("plain", 1)
	h.eventually("the task is started", func() bool { return slices.Contains(h.rt.Calls().Start, id) })
	if r := h.task(id); r.Task.LastStatus != model.TaskStatusProvisioning || r.Scheduler.RuntimeStarted {
		t.Fatalf("while the start is held: %s, runtime started %v; want PROVISIONING as RunTask stored it", r.Task.LastStatus, r.Scheduler.RuntimeStarted)
	}
	h.rt.RunAll(id)
	h.settle()
	if got := h.store.Commits() - before; got != 2 {
		t.Errorf("%d write transactions from RunTask until settled, want 2 (RunTask, Start with RUNNING)", got)
	}
	r := h.task(id)
	if r.Task.LastStatus != model.TaskStatusRunning || !r.Scheduler.RuntimeStarted || r.Task.PullStartedAt == nil ||
		r.Task.StartedAt == nil || eniStatus(&r.Task) != model.AttachmentAttached {
		t.Errorf("after RUNNING: %s, runtime started %v, pullStartedAt %v, startedAt %v, ENI %s; want RUNNING, true, set, set, ATTACHED",
			r.Task.LastStatus, r.Scheduler.RuntimeStarted, r.Task.PullStartedAt, r.Task.StartedAt, eniStatus(&r.Task))
	}
}

// TestHeldStartEndsOnOtherWork: a held start is stored as soon as anything else happens — here
// another RunTask, then a StopTask of the held task — and the other work goes on.
func TestHeldStartEndsOnOtherWork(t *testing.T) {
	h := newHarness(t)
	h.startHold = time.Hour
	h.rt.OnStart = fakeruntime.PendingState
	h.start()
	a := h.runTask("plain", 1)
	h.eventually("the task is started", func() bool { return slices.Contains(h.rt.Calls().Start, a) })
	b := h.runTask("plain", 1) // ends a's hold
	h.eventually("a's start is stored and b is started", func() bool {
		return h.task(a).Task.LastStatus == model.TaskStatusPending && slices.Contains(h.rt.Calls().Start, b)
	})
	h.stopTaskAPI(b) // ends b's hold
	h.settle()
	if got := h.task(b).Task.LastStatus; got != model.TaskStatusStopped {
		t.Errorf("the held task after StopTask is %s, want STOPPED", got)
	}
}
