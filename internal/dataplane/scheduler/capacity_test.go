package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// TestCapacityProviderStrategyTasks: the scheduler places a service's tasks by its deployment's
// capacityProviderStrategy (base first, then weight) and each task reports its
// capacityProviderName; a replacement keeps the split.
func TestCapacityProviderStrategyTasks(t *testing.T) {
	h := newHarness(t)
	h.start()
	strategy := []model.CapacityProviderStrategyItem{
		{CapacityProvider: ptr(model.CapacityProviderFargate), Base: 1},
		{CapacityProvider: ptr(model.CapacityProviderFargateSpot), Weight: 1},
	}
	h.createService("web", "web", 1, serviceOpts{desired: 4, min: 100, max: 200, strategy: strategy})
	h.waitSteady("web", 4)
	placed := func() map[string]int {
		out := map[string]int{}
		for _, tr := range h.tasks() {
			if tr.Task.LastStatus != model.TaskStatusStopped {
				out[deref(tr.Task.CapacityProviderName)]++
			}
		}
		return out
	}
	want := map[string]int{model.CapacityProviderFargate: 1, model.CapacityProviderFargateSpot: 3}
	if diff := cmp.Diff(want, placed()); diff != "" {
		t.Fatalf("capacityProviderName of the service's tasks (-want +got):\n%s", diff)
	}
	for _, tr := range h.tasks() {
		if deref(tr.Task.CapacityProviderName) == model.CapacityProviderFargate {
			h.rt.Exit(taskID(tr.Task.TaskArn), "app", 1)
		}
	}
	h.eventually("the FARGATE task is replaced on FARGATE (its base)", func() bool {
		return cmp.Equal(want, placed()) && h.census("web").running == 4
	})
}
