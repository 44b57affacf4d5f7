package controlplane

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/tools/cache"
	schedulerapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/kubernetes/pkg/scheduler"
)

// Scheduler is the real kube-scheduler, in-process, with its default profile (scheduler name
// default-scheduler), leader election off and no serving port. It binds Pods to the nodes the API
// knows, and records why it cannot (FailedScheduling events, the PodScheduled condition): with no
// node registered, every Pod waits with "no nodes available to schedule pods".
type Scheduler struct {
	opts  *scheduleroptions.Options
	ready chan struct{}
}

func newScheduler(opts *scheduleroptions.Options) *Scheduler {
	return &Scheduler{opts: opts, ready: make(chan struct{})}
}

// Name implements component.Component.
func (s *Scheduler) Name() string { return "kube-scheduler" }

// Ready implements component.Component. It is closed once the scheduler's informers have synced
// and their handlers have seen the initial lists: the point at which the upstream scheduler's
// /readyz turns ok (its sched-handler-sync check) and it starts scheduling. It needs no node.
func (s *Scheduler) Ready() <-chan struct{} { return s.ready }

// Run implements component.Component. It calls the upstream Setup and Run, as the kube-scheduler
// command does, without the command itself: the command sets up the process signal handler and
// re-applies the logging configuration, which the API server already applied (see
// newComponentOptions).
func (s *Scheduler) Run(ctx context.Context) error {
	name, err := cache.NewInformerName("kube-scheduler")
	if err != nil {
		return fmt.Errorf("kube-scheduler informers: %w", err)
	}
	defer name.Release()
	s.opts.InformerName = name
	cc, sched, err := schedulerapp.Setup(ctx, s.opts)
	if err != nil {
		return fmt.Errorf("kube-scheduler setup: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- schedulerapp.Run(ctx, cc, sched) }()

	if err := waitReady(ctx, done, handlersSynced(sched)); err != nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}
	close(s.ready)
	err = <-done
	if ctx.Err() != nil {
		// Without leader election, upstream Run always returns an error ("finished without
		// leader elect"), also after a clean stop.
		return nil
	}
	if err == nil {
		err = errors.New("stopped unexpectedly")
	}
	return fmt.Errorf("kube-scheduler: %w", err)
}

// handlersSynced reports whether every event handler of sched has seen its informer's initial
// list. Upstream Run waits for the same before it schedules.
func handlersSynced(sched *scheduler.Scheduler) func(context.Context) bool {
	return func(ctx context.Context) bool { return sched.WaitForHandlersSync(ctx) == nil }
}
