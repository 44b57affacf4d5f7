package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// maxEvents is how many service events are kept (ECS returns the latest 100).
const maxEvents = 100

// Service event messages, as ECS writes them.
func msgStarted(service string, ids []string) string {
	return fmt.Sprintf("(service %s) has started %d tasks: %s.", service, len(ids), taskList(ids))
}

func msgStopped(service string, ids []string) string {
	return fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", service, len(ids), taskList(ids))
}

func msgSteady(service string) string {
	return fmt.Sprintf("(service %s) has reached a steady state.", service)
}

func msgDeploymentCompleted(service, deployment string) string {
	return fmt.Sprintf("(service %s) (deployment %s) deployment completed.", service, deployment)
}

func msgDeploymentFailed(service, deployment string) string {
	return fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", service, deployment)
}

func msgRollingBack(service, deployment string) string {
	return fmt.Sprintf("(service %s) rolling back to deployment %s.", service, deployment)
}

func msgUnhealthy(service, task string) string {
	return fmt.Sprintf("(service %s) (task %s) failed container health checks.", service, task)
}

func msgUnhealthyTarget(service, task, targetGroup string) string {
	return fmt.Sprintf("(service %s) (task %s) failed ELB health checks in (target-group %s).", service, task, targetGroup)
}

func msgThrottled(service string) string {
	return fmt.Sprintf("(service %s) is unable to consistently start tasks successfully.", service)
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// addEvent puts a message at the head of the service's events (newest first), keeping maxEvents.
func addEvent(svc *model.Service, msg string, now time.Time) {
	ev := model.ServiceEvent{ID: model.NewUUID(), CreatedAt: timeOf(now), Message: msg}
	svc.Events = append([]model.ServiceEvent{ev}, svc.Events...)
	if len(svc.Events) > maxEvents {
		svc.Events = svc.Events[:maxEvents]
	}
}
