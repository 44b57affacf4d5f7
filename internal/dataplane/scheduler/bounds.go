package scheduler

import (
	"math"
	"time"
)

// The rolling-update arithmetic of the ECS service scheduler, as pure functions.
//
// ECS documents minimumHealthyPercent as a lower bound on RUNNING tasks, rounded up, and
// maximumPercent as an upper bound on RUNNING or PENDING tasks, rounded down, both as percentages of
// the service's desiredCount. Locally the upper bound counts every task that is not STOPPED yet, of
// every deployment, including tasks that are being stopped (DEACTIVATING, STOPPING,
// DEPROVISIONING): their containers still run until SIGTERM/SIGKILL completes and still hold host
// ports and memory, and a sampler that counts "not STOPPED" must never see more than the bound. The
// lower bound counts only tasks that are RUNNING, still wanted (desiredStatus RUNNING) and healthy
// by the rules of health.go (HEALTHY with health checks, 40 s after RUNNING without): a task the
// scheduler has decided to stop no longer serves.

const (
	defaultMinimumHealthyPercent = 100
	defaultMaximumPercent        = 200

	breakerMinThreshold = 3
	breakerMaxThreshold = 200

	launchBackoffBase = time.Second
	launchBackoffMax  = 5 * time.Minute
)

// minHealthyTasks is ceil(desired × percent / 100), never more than desired, never negative.
func minHealthyTasks(desired, percent int32) int32 {
	if desired <= 0 || percent <= 0 {
		return 0
	}
	n := (int64(desired)*int64(percent) + 99) / 100
	return int32(min(n, int64(desired)))
}

// maxTasks is floor(desired × percent / 100), saturating at MaxInt32, never negative.
func maxTasks(desired, percent int32) int32 {
	if desired <= 0 || percent <= 0 {
		return 0
	}
	n := int64(desired) * int64(percent) / 100
	return int32(min(n, math.MaxInt32))
}

// breakerThreshold is the circuit breaker's failure threshold: ceil(0.5 × desired) clamped to 3..200.
func breakerThreshold(desired int32) int32 {
	n := (int64(max(desired, 0)) + 1) / 2
	return int32(min(max(n, breakerMinThreshold), breakerMaxThreshold))
}

// rollCounts is the snapshot of a service that the rolling-update decisions are made from.
type rollCounts struct {
	Desired           int32
	MinHealthyPercent int32
	MaximumPercent    int32
	// Total is every task of the service that is not STOPPED, of every deployment.
	Total int32
	// PrimaryLive is the PRIMARY deployment's tasks that are not STOPPED and still wanted.
	PrimaryLive int32
	// PrimaryUnhealthy is those of PrimaryLive that failed their health checks and are to be
	// replaced: they do not fill a slot.
	PrimaryUnhealthy int32
	// PrimaryHealthy is those of PrimaryLive that count as healthy (health.go's rules).
	PrimaryHealthy int32
	// Healthy is the tasks of every deployment that are RUNNING, wanted, and healthy if checked.
	Healthy int32
}

// tasksToStart is how many PRIMARY tasks may be started now: what the PRIMARY lacks (a task to be
// replaced for failing its health checks fills no slot), within the upper bound.
func tasksToStart(c rollCounts) int32 {
	want := c.Desired - (c.PrimaryLive - c.PrimaryUnhealthy)
	room := maxTasks(c.Desired, c.MaximumPercent) - c.Total
	return max(min(want, room), 0)
}

// unhealthyStopBudget is how many of the PRIMARY deployment's unhealthy tasks may be stopped now
// when maximumPercent left room for their replacements: one for each healthy task beyond
// desiredCount. ECS starts the replacements first and stops the unhealthy tasks "as the
// replacement tasks launch and become healthy" (Developer Guide, "Deploy Amazon ECS services by
// replacing tasks"); a replacement that turns out unhealthy too counts among the unhealthy, so the
// service is brought back to desiredCount by stopping one of them ("Amazon ECS services", task
// health).
func unhealthyStopBudget(c rollCounts) int32 {
	return max(c.PrimaryHealthy+c.PrimaryUnhealthy-c.Desired, 0)
}

// healthyStopBudget is how many healthy tasks may be stopped now without going below the lower
// bound.
func healthyStopBudget(c rollCounts) int32 {
	return max(c.Healthy-minHealthyTasks(c.Desired, c.MinHealthyPercent), 0)
}

// launchDelay is how long the scheduler waits after the latest failed launch of a deployment before
// it launches again, given its consecutive failures: 1 s, doubling, at most 5 minutes. ECS throttles
// a service whose tasks keep failing in the same way, so that a crash loop does not spin.
func launchDelay(failures int32) time.Duration {
	if failures <= 0 {
		return 0
	}
	shift := min(failures-1, 20)
	return min(launchBackoffBase<<shift, launchBackoffMax)
}
