package v1alpha1

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestServiceStatusWritesZeroCounts: `kubectl get ecss` prints DESIRED, RUNNING and PENDING from
// status.desiredCount, runningCount and pendingCount; a count of 0 must be written, or the
// column is blank (a Service scaled to 0, or with no task pending, showed nothing there).
func TestServiceStatusWritesZeroCounts(t *testing.T) {
	b, err := json.Marshal(ServiceStatus{Status: "ACTIVE"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"status": "ACTIVE", "desiredCount": 0.0, "runningCount": 0.0, "pendingCount": 0.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ServiceStatus as JSON (-want +got):\n%s", diff)
	}
}
