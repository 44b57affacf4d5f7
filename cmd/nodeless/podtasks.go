package main

import (
	"context"
	"errors"

	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/virtualnode"
)

// podTasks is the Pod controller seen from the kubelet API: its errors become the kubelet API's
// (a Pod without a task: 400; a Pod not on the node: 404).
type podTasks struct{ c *pod.Controller }

var _ virtualnode.PodTasks = podTasks{}

func (p podTasks) Task(ctx context.Context, namespace, name string, previous bool) (taskhost.Task, error) {
	if p.c == nil {
		return taskhost.Task{}, &virtualnode.NoTaskError{Namespace: namespace, Pod: name, Previous: previous,
			Reason: "no Pod controller runs Pods on this node"}
	}
	t, err := p.c.Task(ctx, namespace, name, previous)
	var none *pod.NoTaskError
	switch {
	case errors.As(err, &none) && none.NotOnNode:
		return t, &virtualnode.PodNotFoundError{Namespace: namespace, Pod: name}
	case errors.As(err, &none):
		return t, &virtualnode.NoTaskError{Namespace: namespace, Pod: name, Previous: previous, Reason: none.Reason}
	}
	return t, err
}
