package pod

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// NoTaskError says why a Pod has no task to show: it is not on this node (or does not exist),
// it has not started yet, or (Previous) it has not run before.
type NoTaskError struct {
	Pod      types.NamespacedName
	Previous bool
	// NotOnNode is set when there is no such Pod on this node (the kubelet API answers 404).
	NotOnNode bool
	Reason    string
}

func (e *NoTaskError) Error() string {
	which := "task"
	if e.Previous {
		which = "previous task"
	}
	return fmt.Sprintf("pod %s has no %s: %s", e.Pod, which, e.Reason)
}

// IsNoTask reports whether err (or one it wraps) is a *NoTaskError.
func IsNoTask(err error) bool {
	var e *NoTaskError
	return errors.As(err, &e)
}

// Task returns the task of the Pod namespace/name on this node: its current task, or with
// previous the task of its run before (`kubectl logs --previous`: the node runs a Pod again in a
// new task; a container ECS restarted inside its task has its previous run in the same task).
// It reads the controller's memory (ahead of the informer cache) and the Pod's status record;
// IP is the task's address as last described ("" for a previous task: its address was
// released). Errors: *NoTaskError (IsNoTask), or the API server's.
//
// The virtual node (internal/virtualnode) calls it for logs, exec, attach and port-forward.
func (c *Controller) Task(ctx context.Context, namespace, name string, previous bool) (taskhost.Task, error) {
	key := types.NamespacedName{Namespace: namespace, Name: name}
	var pod corev1.Pod
	if err := c.r.client.Get(ctx, key, &pod); err != nil {
		if apierrors.IsNotFound(err) {
			return taskhost.Task{}, &NoTaskError{Pod: key, Previous: previous, NotOnNode: true, Reason: "it is not bound to node " + c.r.opts.NodeName}
		}
		return taskhost.Task{}, fmt.Errorf("reading pod %s: %w", key, err)
	}
	if pod.Spec.NodeName != c.r.opts.NodeName {
		return taskhost.Task{}, &NoTaskError{Pod: key, Previous: previous, NotOnNode: true, Reason: "it is not bound to node " + c.r.opts.NodeName}
	}
	rec, ok, ip := Record{}, false, ""
	if st := c.r.pods.get(key); st != nil && st.uid == pod.UID {
		st.mu.Lock()
		rec, ok, ip = st.rec, st.hasRec, st.ip
		st.mu.Unlock()
	}
	if !ok {
		var err error
		if rec, ok, err = recordOf(&pod.Status); err != nil {
			return taskhost.Task{}, err
		}
		ip = pod.Status.PodIP
	}
	switch {
	case !ok:
		return taskhost.Task{}, &NoTaskError{Pod: key, Previous: previous, Reason: "its task has not been started yet"}
	case previous && rec.PreviousTaskArn == "":
		return taskhost.Task{}, &NoTaskError{Pod: key, Previous: true, Reason: "it has not run before"}
	case previous:
		arn := rec.PreviousTaskArn
		return taskhost.Task{Cluster: clusterOf(arn), TaskArn: arn, ID: taskID(arn)}, nil
	}
	return taskhost.Task{Cluster: clusterOf(rec.TaskArn), TaskArn: rec.TaskArn, ID: taskID(rec.TaskArn), IP: ip}, nil
}
