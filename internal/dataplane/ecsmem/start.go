package ecsmem

import (
	"sync"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/fakeruntime"
)

// StartFault is a programmed misbehaviour of the fake runtime when it starts a task's containers.
type StartFault struct {
	// Match, when set, narrows the fault to the tasks for which it returns true (see Family).
	Match func(runtime.TaskSpec) bool
	// Times is how many matching tasks the fault applies to; 0: every one until removed.
	Times int
	// FailReason, when set, makes the task fail to start with it as stoppedReason (and as every
	// container's reason): the task goes to STOPPED with stopCode TaskFailedToStart, as when ECS
	// cannot pull an image ("CannotPullContainerError: "). The containers have a runtimeId and no
	// exit code, as on the local data plane, whose runtime names a container before it pulls. When empty the task never starts:
	// its containers stay PENDING and so does the task, as with an image pull that never ends.
	FailReason string
}

// NeverStart is a StartFault that keeps the next times tasks matching match PENDING (0: every one).
func NeverStart(match func(runtime.TaskSpec) bool, times int) StartFault {
	return StartFault{Match: match, Times: times}
}

// FailToStart is a StartFault that stops the next times tasks matching match (0: every one) with
// stopCode TaskFailedToStart and stoppedReason reason.
func FailToStart(match func(runtime.TaskSpec) bool, times int, reason string) StartFault {
	return StartFault{Match: match, Times: times, FailReason: reason}
}

// Family matches the tasks of a task definition family.
func Family(family string) func(runtime.TaskSpec) bool {
	return func(s runtime.TaskSpec) bool { return s.Definition.Family == family }
}

// InjectedStart is a StartFault in effect.
type InjectedStart struct {
	f       StartFault
	owner   *startFaults
	fired   int
	removed bool
}

// Fired returns how many tasks the fault applied to.
func (i *InjectedStart) Fired() int {
	i.owner.mu.Lock()
	defer i.owner.mu.Unlock()
	return i.fired
}

// Remove ends the fault for the tasks started from now on; a task it kept PENDING stays so until
// the test changes it (Runtime.RunAll).
func (i *InjectedStart) Remove() {
	i.owner.mu.Lock()
	defer i.owner.mu.Unlock()
	i.removed = true
}

// InjectStart puts f in effect for the tasks started from now on, after those injected before it
// (the first that matches a task applies), and returns its handle.
func (e *ECS) InjectStart(f StartFault) *InjectedStart {
	e.t.Helper()
	if f.Times < 0 {
		e.t.Fatalf("ecsmem: invalid start fault %+v: Times is negative", f)
	}
	e.starts.mu.Lock()
	defer e.starts.mu.Unlock()
	i := &InjectedStart{f: f, owner: e.starts}
	e.starts.list = append(e.starts.list, i)
	return i
}

type startFaults struct {
	mu   sync.Mutex
	list []*InjectedStart
}

// onStart is the fake runtime's OnStart: the first fault in effect that matches decides the first
// state the task reports; otherwise every container runs (HEALTHY when checked).
func (s *startFaults) onStart(spec runtime.TaskSpec) runtime.TaskState {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range s.list {
		if i.removed || (i.f.Times > 0 && i.fired >= i.f.Times) || (i.f.Match != nil && !i.f.Match(spec)) {
			continue
		}
		i.fired++
		if i.f.FailReason == "" {
			return fakeruntime.PendingState(spec)
		}
		st := fakeruntime.PendingState(spec)
		st.StartFailure = i.f.FailReason
		for c := range st.Containers {
			st.Containers[c].Status = model.TaskStatusStopped
			st.Containers[c].Reason = i.f.FailReason
			st.Containers[c].RuntimeID = spec.TaskID + "-" + st.Containers[c].Name
		}
		return st
	}
	return fakeruntime.DefaultState(spec)
}
