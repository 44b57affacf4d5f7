package ecsapi

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"
)

// Bucket is a token bucket: Burst tokens, refilled at PerSecond.
type Bucket struct {
	Burst     int
	PerSecond float64
}

// Limits maps a bucket name to its bucket, and each operation to the bucket it draws from.
type Limits struct {
	Buckets map[string]Bucket
	Ops     map[string]string
}

// DefaultLimits are ECS's documented per-account token buckets ("Request throttling for the
// Amazon ECS API"): the controllers stay within them so that AWS never has to throttle them.
//
// The tagging calls (TagResource, UntagResource, ListTagsForResource) draw from buckets of their
// own, sized like the cluster buckets (read 50 burst / 20 per s, write 20 / 1): the smallest
// buckets ECS documents for reads and writes, so that nodeless stays under whatever ECS applies to
// them. Tag writes happen only when spec.tags change, never at steady state. ExecuteCommand
// (kubectl exec and exec probes on AWS) draws from a bucket of its own sized like the smallest
// write buckets (ECS documents none for it): an exec probe every few seconds on many Pods
// waits here rather than being throttled by ECS.
func DefaultLimits() Limits {
	return Limits{
		Buckets: map[string]Bucket{
			"cluster-read":  {Burst: 50, PerSecond: 20},
			"cluster-write": {Burst: 20, PerSecond: 1},
			"taskdef-read":  {Burst: 100, PerSecond: 20},
			"taskdef-write": {Burst: 20, PerSecond: 1},
			"service-read":  {Burst: 100, PerSecond: 20},
			"service-write": {Burst: 50, PerSecond: 5},
			"task-read":     {Burst: 100, PerSecond: 20},
			"task-run":      {Burst: 100, PerSecond: 40},
			"task-stop":     {Burst: 100, PerSecond: 40},
			"tag-read":      {Burst: 50, PerSecond: 20},
			"tag-write":     {Burst: 20, PerSecond: 1},
			"exec":          {Burst: 20, PerSecond: 1},
		},
		Ops: map[string]string{
			OpDescribeClusters:            "cluster-read",
			OpCreateCluster:               "cluster-write",
			OpUpdateCluster:               "cluster-write",
			OpDeleteCluster:               "cluster-write",
			OpPutClusterCapacityProviders: "cluster-write",
			OpDescribeTaskDefinition:      "taskdef-read",
			OpRegisterTaskDefinition:      "taskdef-write",
			OpDeregisterTaskDefinition:    "taskdef-write",
			OpListTaskDefinitions:         "taskdef-read",
			OpDescribeServices:            "service-read",
			OpCreateService:               "service-write",
			OpUpdateService:               "service-write",
			OpDeleteService:               "service-write",
			OpDescribeTasks:               "task-read",
			OpRunTask:                     "task-run",
			OpStopTask:                    "task-stop",
			OpListTasks:                   "task-read",
			OpListTagsForResource:         "tag-read",
			OpTagResource:                 "tag-write",
			OpUntagResource:               "tag-write",
			OpExecuteCommand:              "exec",
		},
	}
}

// Scaled returns the limits with every burst and rate multiplied by f (f > 1 for a data plane
// that allows more, such as the local one).
func (l Limits) Scaled(f float64) Limits {
	out := Limits{Buckets: make(map[string]Bucket, len(l.Buckets)), Ops: l.Ops}
	for name, b := range l.Buckets {
		out.Buckets[name] = Bucket{Burst: int(float64(b.Burst) * f), PerSecond: b.PerSecond * f}
	}
	return out
}

type limiter struct {
	ops map[string]*rate.Limiter
}

func (l *limiter) before(ctx context.Context, op string) error {
	lim, ok := l.ops[op]
	if !ok {
		return nil
	}
	if err := lim.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for the %s rate limit: %w", op, err)
	}
	return nil
}

func (l *limiter) after(string, error) {}

// WithRateLimit returns api with every call first waiting for a token of its operation's bucket.
// Operations without a bucket are not limited.
func WithRateLimit(api API, limits Limits) API {
	buckets := make(map[string]*rate.Limiter, len(limits.Buckets))
	for name, b := range limits.Buckets {
		buckets[name] = rate.NewLimiter(rate.Limit(b.PerSecond), b.Burst)
	}
	l := &limiter{ops: make(map[string]*rate.Limiter, len(limits.Ops))}
	for op, name := range limits.Ops {
		if b, ok := buckets[name]; ok {
			l.ops[op] = b
		}
	}
	return &decorated{next: api, h: l}
}
