package scheduler

import (
	"math"
	"testing"
	"time"
)

func TestMinHealthyTasks(t *testing.T) {
	tests := []struct {
		name             string
		desired, percent int32
		want             int32
	}{
		{"desired 0", 0, 100, 0},
		{"desired 1 default", 1, 100, 1},
		{"desired 1 half rounds up", 1, 50, 1},
		{"desired 4 half", 4, 50, 2},
		{"desired 3 half rounds up", 3, 50, 2},
		{"desired 3 34 percent rounds up", 3, 34, 2},
		{"desired 3 33 percent rounds up", 3, 33, 1},
		{"min 0", 4, 0, 0},
		{"desired 10 75", 10, 75, 8},
		{"exact multiple stays", 10, 70, 7},
		{"negative percent is 0", 4, -10, 0},
		{"negative desired is 0", -1, 100, 0},
		{"above 100 is capped at desired", 4, 150, 4},
		{"large values do not overflow", 2000000000, 100, 2000000000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := minHealthyTasks(tt.desired, tt.percent); got != tt.want {
				t.Errorf("minHealthyTasks(%d, %d) = %d, want %d", tt.desired, tt.percent, got, tt.want)
			}
		})
	}
}

func TestMaxTasks(t *testing.T) {
	tests := []struct {
		name             string
		desired, percent int32
		want             int32
	}{
		{"desired 0", 0, 200, 0},
		{"desired 1 default", 1, 200, 2},
		{"desired 1 150 rounds down", 1, 150, 1},
		{"desired 4 150", 4, 150, 6},
		{"desired 3 150 rounds down", 3, 150, 4},
		{"max 100", 4, 100, 4},
		{"desired 3 133 rounds down", 3, 133, 3},
		{"desired 3 134 rounds down", 3, 134, 4},
		{"negative percent is 0", 4, -1, 0},
		{"large values saturate", 2000000000, 200, math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maxTasks(tt.desired, tt.percent); got != tt.want {
				t.Errorf("maxTasks(%d, %d) = %d, want %d", tt.desired, tt.percent, got, tt.want)
			}
		})
	}
}

func TestBreakerThreshold(t *testing.T) {
	tests := []struct {
		desired, want int32
	}{
		{0, 3}, {1, 3}, {4, 3}, {6, 3}, {7, 4}, {8, 4}, {9, 5}, {100, 50}, {399, 200}, {400, 200}, {1000, 200},
	}
	for _, tt := range tests {
		if got := breakerThreshold(tt.desired); got != tt.want {
			t.Errorf("breakerThreshold(%d) = %d, want %d", tt.desired, got, tt.want)
		}
	}
}

func TestTasksToStart(t *testing.T) {
	tests := []struct {
		name string
		c    rollCounts
		want int32
	}{
		{"fresh service defaults", rollCounts{Desired: 4, MinHealthyPercent: 100, MaximumPercent: 200}, 4},
		{"steady", rollCounts{Desired: 4, MinHealthyPercent: 100, MaximumPercent: 200, Total: 4, PrimaryLive: 4, Healthy: 4}, 0},
		{"rolling 4 at 150: two new", rollCounts{Desired: 4, MinHealthyPercent: 50, MaximumPercent: 150, Total: 4, Healthy: 4}, 2},
		{"rolling 4 at 150: full", rollCounts{Desired: 4, MinHealthyPercent: 50, MaximumPercent: 150, Total: 6, PrimaryLive: 2, Healthy: 4}, 0},
		{"stopping tasks count against the maximum", rollCounts{Desired: 4, MinHealthyPercent: 50, MaximumPercent: 150, Total: 6, PrimaryLive: 2, Healthy: 2}, 0},
		{"max 100 min 0 desired 1 waits for the old task to stop", rollCounts{Desired: 1, MaximumPercent: 100, Total: 1, Healthy: 1}, 0},
		{"max 100 min 0 desired 1 old task gone", rollCounts{Desired: 1, MaximumPercent: 100}, 1},
		{"desired 0", rollCounts{Desired: 0, MinHealthyPercent: 100, MaximumPercent: 200, Total: 2, PrimaryLive: 2}, 0},
		{"replacement of a stopped task", rollCounts{Desired: 3, MinHealthyPercent: 100, MaximumPercent: 200, Total: 2, PrimaryLive: 2, Healthy: 2}, 1},
		{"more primary than desired never starts", rollCounts{Desired: 2, MinHealthyPercent: 100, MaximumPercent: 200, Total: 3, PrimaryLive: 3}, 0},
		{"over the maximum never starts", rollCounts{Desired: 2, MinHealthyPercent: 100, MaximumPercent: 200, Total: 5, PrimaryLive: 0}, 0},
		{"desired 1 at 150 is 1", rollCounts{Desired: 1, MinHealthyPercent: 0, MaximumPercent: 150, Total: 1, Healthy: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tasksToStart(tt.c); got != tt.want {
				t.Errorf("tasksToStart(%+v) = %d, want %d", tt.c, got, tt.want)
			}
		})
	}
}

func TestHealthyStopBudget(t *testing.T) {
	tests := []struct {
		name string
		c    rollCounts
		want int32
	}{
		{"defaults keep all", rollCounts{Desired: 4, MinHealthyPercent: 100, MaximumPercent: 200, Healthy: 4}, 0},
		{"defaults with surplus", rollCounts{Desired: 4, MinHealthyPercent: 100, MaximumPercent: 200, Healthy: 7}, 3},
		{"rolling 4 at 50", rollCounts{Desired: 4, MinHealthyPercent: 50, MaximumPercent: 150, Healthy: 4}, 2},
		{"rolling 4 at 50 at the bound", rollCounts{Desired: 4, MinHealthyPercent: 50, MaximumPercent: 150, Healthy: 2}, 0},
		{"below the bound never negative", rollCounts{Desired: 4, MinHealthyPercent: 50, MaximumPercent: 150, Healthy: 1}, 0},
		{"min 0 stops all", rollCounts{Desired: 1, MaximumPercent: 100, Healthy: 1}, 1},
		{"desired 0 stops all", rollCounts{Desired: 0, MinHealthyPercent: 100, MaximumPercent: 200, Healthy: 3}, 3},
		{"desired 3 at 50 keeps 2", rollCounts{Desired: 3, MinHealthyPercent: 50, MaximumPercent: 200, Healthy: 3}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := healthyStopBudget(tt.c); got != tt.want {
				t.Errorf("healthyStopBudget(%+v) = %d, want %d", tt.c, got, tt.want)
			}
		})
	}
}

func TestLaunchDelay(t *testing.T) {
	tests := []struct {
		failures int32
		want     time.Duration
	}{
		{0, 0}, {-1, 0}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second},
		{10, 5 * time.Minute}, {40, 5 * time.Minute}, {math.MaxInt32, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := launchDelay(tt.failures); got != tt.want {
			t.Errorf("launchDelay(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}
