package scheduler

import (
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// BenchmarkTaskToRunning measures the scheduler's own share of RunTask → RUNNING (store writes and
// queueing) with the fake runtime, whose containers run at once: what is left of the 150 ms budget
// for containerd and runc.
func BenchmarkTaskToRunning(b *testing.B) {
	h := newHarness(b)
	h.start()
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		begin := time.Now()
		id := h.runTask("web", 1)
		for h.task(id).Task.LastStatus != model.TaskStatusRunning {
			time.Sleep(100 * time.Microsecond)
		}
		total += time.Since(begin)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/task")
}
