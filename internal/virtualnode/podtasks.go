package virtualnode

import (
	"context"
	"errors"
	"fmt"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// PodTasks tells which ECS task runs a Pod bound to the virtual node. The Pod controller
// implements it from what it recorded for the Pod; the kubelet API calls it on every request.
type PodTasks interface {
	// Task returns the task of Pod namespace/pod: the current one, or with previous the one
	// before it (`kubectl logs --previous`: the task the node re-ran the Pod after).
	//
	// Errors: *NoTaskError when the Pod has no such task (not started yet, or no earlier run);
	// an error for which IsPodNotFound is true when there is no such Pod on the node; anything
	// else is a failure to find out.
	Task(ctx context.Context, namespace, pod string, previous bool) (taskhost.Task, error)
}

// NoTaskError says that a Pod has no task to serve a request from (yet). The kubelet API answers
// 400, as the kubelet does for a container that is waiting to start.
type NoTaskError struct {
	Namespace, Pod string
	// Previous is set when the request asked for the previous task.
	Previous bool
	// Reason says why, for the user: "the Pod has not started yet", "the Pod was never re-run".
	Reason string
}

func (e *NoTaskError) Error() string {
	which := "task"
	if e.Previous {
		which = "previous task"
	}
	msg := fmt.Sprintf("pod %s/%s has no %s", e.Namespace, e.Pod, which)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// PodNotFoundError says that no Pod namespace/pod is bound to the node. The kubelet API answers 404.
type PodNotFoundError struct {
	Namespace, Pod string
}

func (e *PodNotFoundError) Error() string {
	return fmt.Sprintf("pod %s/%s is not on this node", e.Namespace, e.Pod)
}

// IsPodNotFound reports whether err (or one it wraps) is a *PodNotFoundError.
func IsPodNotFound(err error) bool {
	var nf *PodNotFoundError
	return errors.As(err, &nf)
}

// noPodTasks is the PodTasks of a node without a Pod controller: every Pod is without a task.
type noPodTasks struct{}

func (noPodTasks) Task(_ context.Context, namespace, pod string, previous bool) (taskhost.Task, error) {
	return taskhost.Task{}, &NoTaskError{Namespace: namespace, Pod: pod, Previous: previous,
		Reason: "no Pod controller runs Pods on this node"}
}
