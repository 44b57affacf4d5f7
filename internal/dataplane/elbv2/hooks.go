package elbv2

import (
	"errors"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// The service scheduler's side (scheduler.TargetHealth and scheduler.Targets): ECS registers a
// service's task in each target group of the service's loadBalancers once it is RUNNING, at
// privateIPv4Address:containerPort, and deregisters it before it stops it.

// targetsOf returns, per load balancer of svc with a target group, the state key of task's target.
func targetsOf(svc *model.Service, task *model.Task) []struct{ group, key string } {
	ip := task.PrivateIPv4()
	var out []struct{ group, key string }
	if ip == "" {
		return out
	}
	for _, lb := range svc.LoadBalancers {
		if lb.TargetGroupArn == nil || lb.ContainerPort == nil {
			continue
		}
		out = append(out, struct{ group, key string }{*lb.TargetGroupArn, ip + ":" + itoa(*lb.ContainerPort)})
	}
	return out
}

// TargetHealthy reports whether the task's target is healthy in every target group of
// svc.loadBalancers (scheduler.TargetHealth). It reads memory only.
func (b *Balancer) TargetHealthy(svc *model.Service, task *model.Task) bool {
	ts := targetsOf(svc, task)
	if len(ts) == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range ts {
		if b.states[t.group+"|"+t.key] != StateHealthy {
			return false
		}
	}
	return true
}

// TargetUnhealthy reports whether the task's target is unhealthy in any target group of
// svc.loadBalancers: ECS replaces such a task once the service's health check grace period is
// over.
func (b *Balancer) TargetUnhealthy(svc *model.Service, task *model.Task) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range targetsOf(svc, task) {
		if b.states[t.group+"|"+t.key] == StateUnhealthy {
			return true
		}
	}
	return false
}

// RegisterTask registers the RUNNING task in every target group of svc.loadBalancers
// (idempotent: a registered target is left alone). A target group that is gone is skipped.
func (b *Balancer) RegisterTask(cluster string, svc *model.Service, task *model.Task) error {
	ts := targetsOf(svc, task)
	b.mu.Lock()
	todo := false
	for _, t := range ts {
		if s, ok := b.states[t.group+"|"+t.key]; !ok || s == StateDraining {
			todo = true
		}
	}
	b.mu.Unlock()
	if !todo {
		return nil
	}
	now := b.clock.Now()
	id := taskIDOf(task.TaskArn)
	err := b.store.Update(func(tx *store.Tx) error {
		for _, lb := range svc.LoadBalancers {
			if lb.TargetGroupArn == nil || lb.ContainerPort == nil {
				continue
			}
			g, err := tx.GetTargetGroup(*lb.TargetGroupArn)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := registerTarget(tx, g, task.PrivateIPv4(), *lb.ContainerPort, cluster, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.Sync()
	return nil
}

// DeregisterTask deregisters the task from every target group it is registered in and returns how
// long the longest drain still lasts (0: the task may be stopped now). Repeated calls keep the
// first drain's start, so a restart does not start the delay again.
func (b *Balancer) DeregisterTask(task *model.Task) (time.Duration, error) {
	id := taskIDOf(task.TaskArn)
	now := b.clock.Now()
	var left time.Duration
	var found bool
	err := b.store.Update(func(tx *store.Tx) error {
		left, found = 0, false
		ts, err := tx.TaskTargets(id)
		if err != nil {
			return err
		}
		found = len(ts) > 0
		for _, t := range ts {
			g, err := tx.GetTargetGroup(t.TargetGroupARN)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := b.drain(tx, g, t, now); err != nil {
				return err
			}
			left = max(left, drainLeft(g, t, now))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if found {
		b.Sync() // the pools stop giving the task new connections now
	}
	return left, nil
}

// drain starts target t's drain: at once it takes no new connections; it is gone after the group's
// deregistration delay (at once with a delay of 0, or when no listener uses the group). A target
// already draining keeps its start.
func (b *Balancer) drain(tx *store.Tx, g *store.TargetGroupRecord, t *store.TargetRecord, now time.Time) error {
	if t.State == StateDraining {
		return nil
	}
	b.mu.Lock()
	inUse := len(b.inUse[g.ARN]) > 0
	b.mu.Unlock()
	if !inUse || g.DeregistrationDelaySeconds == 0 {
		t.DrainingAt = nil
		return tx.DeleteTarget(t)
	}
	t.State, t.Reason, t.Description = StateDraining, reasonDeregistering, ""
	t.DrainingAt = &model.Time{Time: now.UTC()}
	return tx.PutTarget(t)
}

// taskIDOf is the last part of a task ARN.
func taskIDOf(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}
