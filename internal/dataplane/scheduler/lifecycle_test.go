package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/fakeruntime"
)

func TestTaskHealth(t *testing.T) {
	def := taskDef("web", 1, true)
	tests := []struct {
		name      string
		app, side string
		want      string
	}{
		{"essential healthy", model.HealthHealthy, model.HealthUnknown, model.HealthHealthy},
		{"essential unhealthy", model.HealthUnhealthy, model.HealthHealthy, model.HealthUnhealthy},
		{"essential unknown", model.HealthUnknown, model.HealthHealthy, model.HealthUnknown},
		{"non-essential unhealthy is ignored", model.HealthHealthy, model.HealthUnhealthy, model.HealthHealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &model.Task{Containers: []model.Container{{Name: "app", HealthStatus: tt.app}, {Name: "sidecar", HealthStatus: tt.side}}}
			if got := taskHealth(task, def); got != tt.want {
				t.Errorf("taskHealth = %s, want %s", got, tt.want)
			}
		})
	}
	noChecks := taskDef("plain", 1, false)
	task := &model.Task{Containers: []model.Container{{Name: "app", HealthStatus: model.HealthHealthy}}}
	if got := taskHealth(task, noChecks); got != model.HealthUnknown {
		t.Errorf("taskHealth without health checks = %s, want UNKNOWN", got)
	}
}

func TestApplyObservation(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	def := taskDef("web", 1, true)
	exit1 := int32(1)
	pending := func() *model.Task {
		return &model.Task{
			LastStatus: model.TaskStatusPending, DesiredStatus: model.TaskStatusRunning, PullStartedAt: timeOf(now),
			Containers: []model.Container{{Name: "app", LastStatus: model.TaskStatusPending}, {Name: "sidecar", LastStatus: model.TaskStatusPending}},
		}
	}
	state := func(app, side string) runtime.TaskState {
		return runtime.TaskState{Containers: []runtime.ContainerState{{Name: "app", Status: app}, {Name: "sidecar", Status: side}}}
	}
	tests := []struct {
		name                     string
		st                       runtime.TaskState
		wantLast, wantDesired    string
		wantStopCode, wantReason string
	}{
		{"all pending", state("PENDING", "PENDING"), "PENDING", "RUNNING", "", ""},
		{"sidecar first", state("PENDING", "RUNNING"), "ACTIVATING", "RUNNING", "", ""},
		{"essential running, sidecar still pending", state("RUNNING", "PENDING"), "RUNNING", "RUNNING", "", ""},
		{"non-essential exit keeps running", state("RUNNING", "STOPPED"), "RUNNING", "RUNNING", "", ""},
		{"essential exit stops", runtime.TaskState{Containers: []runtime.ContainerState{{Name: "app", Status: "STOPPED", ExitCode: &exit1}}},
			"PENDING", "STOPPED", model.StopCodeEssentialContainerExited, "Essential container in task exited"},
		{"start failure", runtime.TaskState{StartFailure: "CannotPullContainerError: image web:1 not found"},
			"PENDING", "STOPPED", model.StopCodeTaskFailedToStart, "CannotPullContainerError: image web:1 not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := pending()
			applyObservation(task, def, tt.st, now)
			got := []string{task.LastStatus, task.DesiredStatus, deref(task.StopCode), deref(task.StoppedReason)}
			want := []string{tt.wantLast, tt.wantDesired, tt.wantStopCode, tt.wantReason}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("lastStatus, desiredStatus, stopCode, stoppedReason (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyObservationBindingsAndNoGoingBack(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	def := taskDef("web", 1, true)
	task := &model.Task{LastStatus: model.TaskStatusRunning, DesiredStatus: model.TaskStatusRunning,
		Containers: []model.Container{{Name: "app", LastStatus: model.TaskStatusRunning}}}
	applyObservation(task, def, runtime.TaskState{
		Containers: []runtime.ContainerState{{Name: "app", Status: model.TaskStatusPending, Health: model.HealthHealthy}},
		HostPorts:  map[string]int32{"8080/tcp": 32768},
	}, now)
	if task.LastStatus != model.TaskStatusRunning {
		t.Errorf("lastStatus went back to %s", task.LastStatus)
	}
	want := []model.NetworkBinding{{BindIP: ptr("127.0.0.1"), ContainerPort: ptr(int32(8080)), HostPort: ptr(int32(32768)), Protocol: ptr("tcp")}}
	if diff := cmp.Diff(want, task.Containers[0].NetworkBindings); diff != "" {
		t.Errorf("networkBindings (-want +got):\n%s", diff)
	}
	if task.HealthStatus != model.HealthHealthy {
		t.Errorf("healthStatus = %s, want HEALTHY", task.HealthStatus)
	}
}

func TestApplyObservationKeepsHealthVerdictOnUnknown(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	def := taskDef("web", 1, true)
	task := &model.Task{LastStatus: model.TaskStatusRunning, DesiredStatus: model.TaskStatusRunning, HealthStatus: model.HealthHealthy,
		Containers: []model.Container{{Name: "app", LastStatus: model.TaskStatusRunning, HealthStatus: model.HealthHealthy}}}
	running := func(health string) runtime.TaskState {
		return runtime.TaskState{Containers: []runtime.ContainerState{{Name: "app", Status: model.TaskStatusRunning, Health: health}}}
	}
	reattached := running(model.HealthUnknown)
	reattached.Containers[0].Status = model.TaskStatusPending // what the runtime says before it finds the container
	applyObservation(task, def, reattached, now)
	applyObservation(task, def, running(model.HealthUnknown), now) // found, not probed yet
	if task.HealthStatus != model.HealthHealthy || task.Containers[0].LastStatus != model.TaskStatusRunning {
		t.Fatalf("after a re-attach: task health %s, container %s; want HEALTHY and RUNNING kept", task.HealthStatus, task.Containers[0].LastStatus)
	}
	applyObservation(task, def, running(model.HealthUnhealthy), now)
	if task.HealthStatus != model.HealthUnhealthy {
		t.Errorf("after UNHEALTHY: %s", task.HealthStatus)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestTaskLifecycle drives one standalone task through the whole lifecycle and checks that every
// change is a new version and the timestamps are set.
func TestTaskLifecycle(t *testing.T) {
	h := newHarness(t)
	h.rt.OnStart = fakeruntime.PendingState
	h.start()
	id := h.runTask("web", 1)
	h.settle()
	r := h.task(id)
	if r.Task.LastStatus != model.TaskStatusPending || r.Task.Version != 2 || r.Task.PullStartedAt == nil || !r.Scheduler.RuntimeStarted {
		t.Fatalf("after Start: lastStatus %s version %d pullStartedAt %v started %v; want PENDING, 2, set, true",
			r.Task.LastStatus, r.Task.Version, r.Task.PullStartedAt, r.Scheduler.RuntimeStarted)
	}
	if deref(r.Task.Connectivity) != "CONNECTED" || r.Task.ConnectivityAt == nil {
		t.Errorf("connectivity = %s at %v, want CONNECTED with a time", deref(r.Task.Connectivity), r.Task.ConnectivityAt)
	}
	h.rt.Update(id, func(st *runtime.TaskState) {
		st.Containers[0].Status = model.TaskStatusRunning
		st.Containers[0].Health = model.HealthHealthy
		st.HostPorts = map[string]int32{"8080/tcp": 8080}
	})
	h.settle()
	r = h.task(id)
	if r.Task.LastStatus != model.TaskStatusRunning || r.Task.Version != 3 || r.Task.StartedAt == nil || r.Task.PullStoppedAt == nil {
		t.Fatalf("after containers run: lastStatus %s version %d startedAt %v pullStoppedAt %v",
			r.Task.LastStatus, r.Task.Version, r.Task.StartedAt, r.Task.PullStoppedAt)
	}
	if r.Task.HealthStatus != model.HealthHealthy || len(r.Task.Containers[0].NetworkBindings) != 1 {
		t.Errorf("health %s bindings %v, want HEALTHY and one binding", r.Task.HealthStatus, r.Task.Containers[0].NetworkBindings)
	}
	h.rt.Exit(id, "app", 3)
	h.settle()
	r = h.task(id)
	if r.Task.LastStatus != model.TaskStatusStopped || deref(r.Task.StopCode) != model.StopCodeEssentialContainerExited ||
		deref(r.Task.StoppedReason) != reasonEssentialExited {
		t.Fatalf("after exit: %s %s %q", r.Task.LastStatus, deref(r.Task.StopCode), deref(r.Task.StoppedReason))
	}
	// RUNNING(3) → desired STOPPED(4) → DEACTIVATING(5) → STOPPING(6) → DEPROVISIONING(7) → STOPPED(8).
	if r.Task.Version != 8 {
		t.Errorf("version after stop = %d, want 8 (one per change)", r.Task.Version)
	}
	if r.Task.StoppedAt == nil || r.Task.ExecutionStoppedAt == nil || r.Task.StoppingAt == nil {
		t.Errorf("stop timestamps missing: stoppingAt %v executionStoppedAt %v stoppedAt %v", r.Task.StoppingAt, r.Task.ExecutionStoppedAt, r.Task.StoppedAt)
	}
	if c := r.Task.Containers[0]; c.ExitCode == nil || *c.ExitCode != 3 {
		t.Errorf("app exitCode = %v, want 3", c.ExitCode)
	}
	if !r.Scheduler.RuntimeRemoved || len(h.rt.Live()) != 0 {
		t.Errorf("runtime not cleaned up: removed %v, live %v", r.Scheduler.RuntimeRemoved, h.rt.Live())
	}
	// Describable for an hour, then forgotten.
	h.clock.Step(59 * time.Minute)
	h.settle()
	_ = h.task(id)
	h.clock.Step(2 * time.Minute)
	h.eventually("the stopped task is deleted after an hour", func() bool {
		h.clock.Step(time.Second)
		return len(h.tasks()) == 0
	})
}

func TestTaskStartFailureAndUserStop(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.rt.OnStart = func(runtime.TaskSpec) runtime.TaskState {
		return runtime.TaskState{StartFailure: "CannotPullContainerError: pull access denied for web"}
	}
	failed := h.runTask("web", 1)
	h.settle()
	r := h.task(failed)
	if r.Task.LastStatus != model.TaskStatusStopped || deref(r.Task.StopCode) != model.StopCodeTaskFailedToStart ||
		deref(r.Task.StoppedReason) != "CannotPullContainerError: pull access denied for web" {
		t.Errorf("failed start: %s %s %q", r.Task.LastStatus, deref(r.Task.StopCode), deref(r.Task.StoppedReason))
	}

	h.rt.OnStart = nil
	h.rt.NextStartErr = errTest("netns: permission denied")
	refused := h.runTask("web", 1)
	h.settle()
	if r := h.task(refused); r.Task.LastStatus != model.TaskStatusStopped || deref(r.Task.StopCode) != model.StopCodeTaskFailedToStart {
		t.Errorf("Start error: %s %s", r.Task.LastStatus, deref(r.Task.StopCode))
	}

	running := h.runTask("web", 1)
	h.settle()
	h.stopTaskAPI(running)
	h.settle()
	r = h.task(running)
	if r.Task.LastStatus != model.TaskStatusStopped || deref(r.Task.StopCode) != model.StopCodeUserInitiated ||
		deref(r.Task.StoppedReason) != "Task stopped by user" {
		t.Errorf("user stop: %s %s %q", r.Task.LastStatus, deref(r.Task.StopCode), deref(r.Task.StoppedReason))
	}
	if c := h.rt.Calls(); len(c.Stop) == 0 || len(c.Remove) != 3 {
		t.Errorf("runtime calls: %+v, want Stop calls and one Remove per task", c)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
