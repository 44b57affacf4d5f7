package fakeruntime

import (
	"context"
	"sort"
	"sync"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Task is a task in the fake world.
type Task struct {
	Spec    runtime.TaskSpec
	State   runtime.TaskState
	Removed bool
}

// Calls records the task IDs each method was called with, in order.
type Calls struct {
	Start, Attach, Stop, Remove []string
}

type world struct {
	mu    sync.Mutex
	tasks map[string]*Task
}

// Runtime is the fake runtime. The zero value is not usable; call New.
type Runtime struct {
	w *world

	mu       sync.Mutex
	observer runtime.Observer
	calls    Calls

	// OnStart returns the state a newly started task reports first; nil: every container RUNNING.
	OnStart func(spec runtime.TaskSpec) runtime.TaskState
	// AfterStart, when set, runs at the end of a Start that created a task (after its first report),
	// e.g. to make a container exit right after it started.
	AfterStart func(r *Runtime, taskID string)
	// BeforeStart and BeforeStop, when set, run at the start of Start and Stop (to check invariants).
	BeforeStart func(taskID string)
	BeforeStop  func(taskID string)
	// NextStartErr, when set, is returned by the next Start (which then creates nothing).
	NextStartErr error
	// AttachErr, when set, is returned by every Attach.
	AttachErr error
	// AttachHealthUnknown makes Attach report running containers' health as UNKNOWN, as the real
	// runtime does until it probes them again.
	AttachHealthUnknown bool
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a fake runtime with an empty world.
func New() *Runtime {
	return &Runtime{w: &world{tasks: map[string]*Task{}}}
}

// Restart returns a new fake runtime over the same world, with no observer and no recorded calls,
// as a restarted nodeless process finds containerd's containers still there.
func (r *Runtime) Restart() *Runtime {
	return &Runtime{w: r.w}
}

// SetObserver sets the observer the runtime reports to.
func (r *Runtime) SetObserver(o runtime.Observer) {
	r.mu.Lock()
	r.observer = o
	r.mu.Unlock()
}

// Calls returns a copy of the recorded calls.
func (r *Runtime) Calls() Calls {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Calls{
		Start:  append([]string(nil), r.calls.Start...),
		Attach: append([]string(nil), r.calls.Attach...),
		Stop:   append([]string(nil), r.calls.Stop...),
		Remove: append([]string(nil), r.calls.Remove...),
	}
}

func (r *Runtime) record(list *[]string, id string) {
	r.mu.Lock()
	*list = append(*list, id)
	r.mu.Unlock()
}

// DefaultState is every container of spec RUNNING, HEALTHY when it has a health check.
func DefaultState(spec runtime.TaskSpec) runtime.TaskState {
	var st runtime.TaskState
	for _, cd := range spec.Definition.ContainerDefinitions {
		health := model.HealthUnknown
		if cd.HealthCheck != nil {
			health = model.HealthHealthy
		}
		st.Containers = append(st.Containers, runtime.ContainerState{
			Name: deref(cd.Name), Status: model.TaskStatusRunning, Health: health,
			RuntimeID: spec.TaskID + "-" + deref(cd.Name), ImageDigest: "sha256:fake",
		})
	}
	return st
}

// PendingState is every container of spec PENDING.
func PendingState(spec runtime.TaskSpec) runtime.TaskState {
	var st runtime.TaskState
	for _, cd := range spec.Definition.ContainerDefinitions {
		st.Containers = append(st.Containers, runtime.ContainerState{
			Name: deref(cd.Name), Status: model.TaskStatusPending, Health: model.HealthUnknown,
		})
	}
	return st
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func handle(spec runtime.TaskSpec) store.TaskRuntimeState {
	ids := map[string]string{}
	for _, cd := range spec.Definition.ContainerDefinitions {
		ids[deref(cd.Name)] = spec.TaskID + "-" + deref(cd.Name)
	}
	return store.TaskRuntimeState{Namespace: "fake", ContainerIDs: ids, NetNSPath: "/fake/netns/" + spec.TaskID}
}

// Start creates the task in the world and reports its first state. It is idempotent: for a task
// already there it creates nothing and reports the task's current state, as the real runtime resumes
// supervising containers a crashed process started.
func (r *Runtime) Start(_ context.Context, spec runtime.TaskSpec) (store.TaskRuntimeState, error) {
	r.record(&r.calls.Start, spec.TaskID)
	if r.BeforeStart != nil {
		r.BeforeStart(spec.TaskID)
	}
	r.mu.Lock()
	err := r.NextStartErr
	r.NextStartErr = nil
	r.mu.Unlock()
	if err != nil {
		return store.TaskRuntimeState{}, err
	}
	r.w.mu.Lock()
	t, ok := r.w.tasks[spec.TaskID]
	if ok && !t.Removed {
		// Already there (a Start repeated after a crash): resume reporting, create nothing.
		st := copyState(t.State)
		r.w.mu.Unlock()
		r.report(spec.TaskID, st)
		return handle(spec), nil
	}
	st := DefaultState(spec)
	if r.OnStart != nil {
		st = r.OnStart(spec)
	}
	r.w.tasks[spec.TaskID] = &Task{Spec: spec, State: st}
	r.w.mu.Unlock()
	r.report(spec.TaskID, st)
	if r.AfterStart != nil {
		r.AfterStart(r, spec.TaskID)
	}
	return handle(spec), nil
}

// Attach reports the current state of a task in the world, or of every container STOPPED when the
// task is not there.
func (r *Runtime) Attach(_ context.Context, spec runtime.TaskSpec, _ store.TaskRuntimeState) error {
	r.record(&r.calls.Attach, spec.TaskID)
	if r.AttachErr != nil {
		return r.AttachErr
	}
	r.w.mu.Lock()
	t, ok := r.w.tasks[spec.TaskID]
	var st runtime.TaskState
	if ok && !t.Removed {
		st = copyState(t.State)
		for i := range st.Containers {
			if r.AttachHealthUnknown && st.Containers[i].Status == model.TaskStatusRunning {
				st.Containers[i].Health = model.HealthUnknown
			}
		}
	} else {
		st = PendingState(spec)
		exit := int32(137)
		for i := range st.Containers {
			st.Containers[i].Status = model.TaskStatusStopped
			st.Containers[i].ExitCode = &exit
			st.Containers[i].Reason = "container not found"
		}
	}
	r.w.mu.Unlock()
	r.report(spec.TaskID, st)
	return nil
}

// Stop stops every container of the task that has not exited (exit code 143, SIGTERM) and reports.
func (r *Runtime) Stop(_ context.Context, taskID string) error {
	r.record(&r.calls.Stop, taskID)
	if r.BeforeStop != nil {
		r.BeforeStop(taskID)
	}
	r.w.mu.Lock()
	t, ok := r.w.tasks[taskID]
	if !ok || t.Removed {
		r.w.mu.Unlock()
		return nil
	}
	exit := int32(143)
	for i := range t.State.Containers {
		c := &t.State.Containers[i]
		if c.Status != model.TaskStatusStopped {
			c.Status = model.TaskStatusStopped
			c.ExitCode = &exit
		}
	}
	st := copyState(t.State)
	r.w.mu.Unlock()
	r.report(taskID, st)
	return nil
}

// Remove deletes the task from the world.
func (r *Runtime) Remove(_ context.Context, taskID string, _ store.TaskRuntimeState) error {
	r.record(&r.calls.Remove, taskID)
	r.w.mu.Lock()
	if t, ok := r.w.tasks[taskID]; ok {
		t.Removed = true
	}
	r.w.mu.Unlock()
	return nil
}

// Report sets a task's state in the world and reports it.
func (r *Runtime) Report(taskID string, st runtime.TaskState) {
	r.w.mu.Lock()
	if t, ok := r.w.tasks[taskID]; ok {
		t.State = copyState(st)
	}
	r.w.mu.Unlock()
	r.report(taskID, st)
}

// Update changes a task's state in the world with fn and reports the result.
func (r *Runtime) Update(taskID string, fn func(st *runtime.TaskState)) {
	r.w.mu.Lock()
	t, ok := r.w.tasks[taskID]
	if !ok {
		r.w.mu.Unlock()
		return
	}
	fn(&t.State)
	st := copyState(t.State)
	r.w.mu.Unlock()
	r.report(taskID, st)
}

// RunAll marks every container of the task RUNNING (HEALTHY when checked) and reports.
func (r *Runtime) RunAll(taskID string) {
	r.w.mu.Lock()
	t, ok := r.w.tasks[taskID]
	if !ok {
		r.w.mu.Unlock()
		return
	}
	t.State = DefaultState(t.Spec)
	st := copyState(t.State)
	r.w.mu.Unlock()
	r.report(taskID, st)
}

// Exit marks a container exited with code and reports.
func (r *Runtime) Exit(taskID, container string, code int32) {
	r.Update(taskID, func(st *runtime.TaskState) {
		for i := range st.Containers {
			if st.Containers[i].Name == container {
				st.Containers[i].Status = model.TaskStatusStopped
				st.Containers[i].ExitCode = &code
			}
		}
	})
}

// SetHealth sets a container's health and reports.
func (r *Runtime) SetHealth(taskID, container, health string) {
	r.Update(taskID, func(st *runtime.TaskState) {
		for i := range st.Containers {
			if st.Containers[i].Name == container {
				st.Containers[i].Health = health
			}
		}
	})
}

// Live lists the tasks in the world that were not removed, sorted.
func (r *Runtime) Live() []string {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	var out []string
	for id, t := range r.w.tasks {
		if !t.Removed {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Task returns a copy of a task in the world.
func (r *Runtime) Task(taskID string) (Task, bool) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	t, ok := r.w.tasks[taskID]
	if !ok {
		return Task{}, false
	}
	return Task{Spec: t.Spec, State: copyState(t.State), Removed: t.Removed}, true
}

func (r *Runtime) report(taskID string, st runtime.TaskState) {
	r.mu.Lock()
	o := r.observer
	r.mu.Unlock()
	if o != nil {
		o(taskID, st)
	}
}

func copyState(st runtime.TaskState) runtime.TaskState {
	out := runtime.TaskState{StartFailure: st.StartFailure}
	out.Containers = append([]runtime.ContainerState(nil), st.Containers...)
	if st.HostPorts != nil {
		out.HostPorts = map[string]int32{}
		for k, v := range st.HostPorts {
			out.HostPorts[k] = v
		}
	}
	return out
}
