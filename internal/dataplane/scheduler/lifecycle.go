package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
)

// Stop reasons as ECS writes them.
const (
	reasonEssentialExited = "Essential container in task exited"
	reasonUnhealthy       = "Task failed container health checks"
	// reasonUnhealthyTarget is ECS's stop reason for a task whose load balancer target failed its
	// health checks (with the target group's ARN).
	reasonUnhealthyTarget = "Task failed ELB health checks in (target-group %s)"
	reasonLost            = "Task stopped: its containers could not be re-attached after a restart"
	localhost             = "127.0.0.1"
	connectivityConnected = "CONNECTED"
	defaultProtocol       = "tcp"
)

// statusOrder orders the task lifecycle; lastStatus only ever moves forward.
var statusOrder = map[string]int{
	model.TaskStatusProvisioning:   0,
	model.TaskStatusPending:        1,
	model.TaskStatusActivating:     2,
	model.TaskStatusRunning:        3,
	model.TaskStatusDeactivating:   4,
	model.TaskStatusStopping:       5,
	model.TaskStatusDeprovisioning: 6,
	model.TaskStatusStopped:        7,
}

// advance moves t's lastStatus to status unless t is already there or beyond.
func advance(t *model.Task, status string) {
	if statusOrder[status] > statusOrder[t.LastStatus] {
		t.LastStatus = status
	}
}

// before reports whether t has not reached status yet.
func before(t *model.Task, status string) bool {
	return statusOrder[t.LastStatus] < statusOrder[status]
}

func timeOf(now time.Time) *model.Time {
	return &model.Time{Time: now.UTC().Truncate(time.Millisecond)}
}

func ptr[T any](v T) *T { return &v }

// requestStop asks for t to stop (desiredStatus STOPPED) with a stop code and reason, unless a stop
// was already asked for: the first reason wins, as on ECS.
func requestStop(t *model.Task, code, reason string) {
	if t.DesiredStatus == model.TaskStatusStopped {
		return
	}
	t.DesiredStatus = model.TaskStatusStopped
	t.StopCode = ptr(code)
	t.StoppedReason = ptr(reason)
}

// essential reports whether the container definition is essential (the ECS default is true).
func essential(c *model.ContainerDefinition) bool {
	return c.Essential == nil || *c.Essential
}

// definitionOf returns the container definition named name, or nil.
func definitionOf(def *model.TaskDefinition, name string) *model.ContainerDefinition {
	if def == nil {
		return nil
	}
	for i := range def.ContainerDefinitions {
		c := &def.ContainerDefinitions[i]
		if c.Name != nil && *c.Name == name {
			return c
		}
	}
	return nil
}

// healthChecked reports whether any essential container of def has a health check: such a task is
// healthy only once its healthStatus is HEALTHY.
func healthChecked(def *model.TaskDefinition) bool {
	if def == nil {
		return false
	}
	for i := range def.ContainerDefinitions {
		c := &def.ContainerDefinitions[i]
		if essential(c) && c.HealthCheck != nil {
			return true
		}
	}
	return false
}

// taskHealth is HEALTHY when every essential container with a health check is HEALTHY, UNHEALTHY
// when any of them is UNHEALTHY, UNKNOWN otherwise (also when none has a health check).
func taskHealth(t *model.Task, def *model.TaskDefinition) string {
	checked, healthy := 0, 0
	for i := range t.Containers {
		c := &t.Containers[i]
		cd := definitionOf(def, c.Name)
		if cd == nil || !essential(cd) || cd.HealthCheck == nil {
			continue
		}
		checked++
		switch c.HealthStatus {
		case model.HealthUnhealthy:
			return model.HealthUnhealthy
		case model.HealthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return model.HealthHealthy
	}
	return model.HealthUnknown
}

// applyObservation folds the runtime's view of a task into the task: container states, health,
// network bindings, timestamps, and the lifecycle step they imply. lastStatus never moves backwards,
// and a STOPPED task is left alone.
func applyObservation(t *model.Task, def *model.TaskDefinition, st runtime.TaskState, now time.Time) {
	if t.LastStatus == model.TaskStatusStopped {
		return
	}
	for _, cs := range st.Containers {
		applyContainer(t, def, cs, st.HostPorts)
	}
	if t.PullStoppedAt == nil && t.PullStartedAt != nil && pulled(st) {
		t.PullStoppedAt = timeOf(now)
	}
	t.HealthStatus = taskHealth(t, def)
	if t.DesiredStatus == model.TaskStatusRunning {
		progress(t, def, st, now)
	}
	if t.DesiredStatus == model.TaskStatusStopped && t.ExecutionStoppedAt == nil && allStopped(t) &&
		!before(t, model.TaskStatusPending) {
		t.ExecutionStoppedAt = timeOf(now)
	}
}

// pulled reports whether the runtime is past pulling images: a container has a digest or left
// PENDING, or the task failed to start.
func pulled(st runtime.TaskState) bool {
	if st.StartFailure != "" {
		return true
	}
	for _, c := range st.Containers {
		if c.ImageDigest != "" || c.Status != model.TaskStatusPending {
			return true
		}
	}
	return false
}

// progress moves a wanted task along PENDING → ACTIVATING → RUNNING, or asks for it to stop when it
// failed to start or an essential container exited.
func progress(t *model.Task, def *model.TaskDefinition, st runtime.TaskState, now time.Time) {
	if st.StartFailure != "" {
		requestStop(t, model.StopCodeTaskFailedToStart, st.StartFailure)
		return
	}
	essentials, running, exited := 0, 0, false
	anyRunning := false
	for i := range t.Containers {
		c := &t.Containers[i]
		cd := definitionOf(def, c.Name)
		isEssential := cd == nil || essential(cd)
		if c.LastStatus == model.TaskStatusRunning {
			anyRunning = true
		}
		if !isEssential {
			continue
		}
		essentials++
		switch c.LastStatus {
		case model.TaskStatusRunning:
			running++
		case model.TaskStatusStopped:
			exited = true
		}
	}
	switch {
	case exited:
		requestStop(t, model.StopCodeEssentialContainerExited, reasonEssentialExited)
	case essentials > 0 && running == essentials:
		advance(t, model.TaskStatusActivating)
		advance(t, model.TaskStatusRunning)
		if t.StartedAt == nil {
			t.StartedAt = timeOf(now)
		}
	case anyRunning:
		advance(t, model.TaskStatusActivating)
	}
}

func allStopped(t *model.Task) bool {
	for i := range t.Containers {
		if t.Containers[i].LastStatus != model.TaskStatusStopped {
			return false
		}
	}
	return true
}

// applyContainer copies one container's runtime state into the task's container of that name.
func applyContainer(t *model.Task, def *model.TaskDefinition, cs runtime.ContainerState, hostPorts map[string]int32) {
	for i := range t.Containers {
		c := &t.Containers[i]
		if c.Name != cs.Name {
			continue
		}
		if containerOrder[cs.Status] > containerOrder[c.LastStatus] {
			c.LastStatus = cs.Status
		}
		if cs.ExitCode != nil {
			c.ExitCode = ptr(*cs.ExitCode)
		}
		if cs.Reason != "" {
			c.Reason = ptr(cs.Reason)
		}
		if cs.Health != "" && !keepHealth(c, cs) {
			c.HealthStatus = cs.Health
		}
		if cs.RuntimeID != "" {
			c.RuntimeID = ptr(cs.RuntimeID)
		}
		if cs.ImageDigest != "" {
			c.ImageDigest = ptr(cs.ImageDigest)
		}
		if b := bindings(definitionOf(def, c.Name), hostPorts); len(b) > 0 {
			c.NetworkBindings = b
		}
		return
	}
}

// keepHealth reports whether a known verdict (HEALTHY/UNHEALTHY) of a running container must survive
// an UNKNOWN from the runtime: UNKNOWN means "no verdict yet", as after a restart, when the runtime
// re-attaches to the container and has not probed it again. Without this a restart would make every
// healthy task look unproven, and the rolling update would stop old tasks as if they did not serve.
func keepHealth(c *model.Container, cs runtime.ContainerState) bool {
	verdict := c.HealthStatus == model.HealthHealthy || c.HealthStatus == model.HealthUnhealthy
	return cs.Health == model.HealthUnknown && verdict && c.LastStatus == model.TaskStatusRunning &&
		cs.Status != model.TaskStatusStopped
}

// containerOrder orders a container's lastStatus; it only moves forward (a re-attached container is
// reported PENDING until the runtime finds it running again).
var containerOrder = map[string]int{
	"":                      0,
	model.TaskStatusPending: 1,
	model.TaskStatusRunning: 2,
	model.TaskStatusStopped: 3,
}

// bindings lists where the container's port mappings are reachable on 127.0.0.1.
func bindings(cd *model.ContainerDefinition, hostPorts map[string]int32) []model.NetworkBinding {
	if cd == nil || len(hostPorts) == 0 {
		return nil
	}
	var out []model.NetworkBinding
	for _, pm := range cd.PortMappings {
		if pm.ContainerPort == nil {
			continue
		}
		proto := defaultProtocol
		if pm.Protocol != nil && *pm.Protocol != "" {
			proto = *pm.Protocol
		}
		hp, ok := hostPorts[fmt.Sprintf("%d/%s", *pm.ContainerPort, proto)]
		if !ok {
			continue
		}
		out = append(out, model.NetworkBinding{
			BindIP: ptr(localhost), ContainerPort: ptr(*pm.ContainerPort), HostPort: ptr(hp), Protocol: ptr(proto),
		})
	}
	return out
}

// markStopped finishes t: STOPPED, with stoppedAt and executionStoppedAt, every container STOPPED,
// and its ENI DELETED (as ECS shows a stopped task's; cleanUpTask then deletes the interface and
// releases the address).
func markStopped(t *model.Task, now time.Time) {
	advance(t, model.TaskStatusStopped)
	model.SetENIStatus(t, model.AttachmentDeleted)
	if t.StoppingAt == nil {
		t.StoppingAt = timeOf(now)
	}
	if t.ExecutionStoppedAt == nil {
		t.ExecutionStoppedAt = timeOf(now)
	}
	if t.StoppedAt == nil {
		t.StoppedAt = timeOf(now)
	}
	for i := range t.Containers {
		t.Containers[i].LastStatus = model.TaskStatusStopped
	}
}

// stoppedUnhealthy reports whether the task was stopped for failing its container or its load
// balancer health checks.
func stoppedUnhealthy(t *model.Task) bool {
	if t.StoppedReason == nil {
		return false
	}
	return *t.StoppedReason == reasonUnhealthy || strings.HasPrefix(*t.StoppedReason, "Task failed ELB health checks")
}
