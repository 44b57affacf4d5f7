package model

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPickCapacityProvider places tasks one after the other as ECS documents base and weight:
// base first, then in proportion to weight.
func TestPickCapacityProvider(t *testing.T) {
	item := func(name string, weight, base int32) CapacityProviderStrategyItem {
		return CapacityProviderStrategyItem{CapacityProvider: ptr(name), Weight: weight, Base: base}
	}
	for _, tc := range []struct {
		name     string
		strategy []CapacityProviderStrategyItem
		n        int
		want     map[string]int
	}{
		{"none", nil, 3, map[string]int{"": 3}},
		{"one provider", []CapacityProviderStrategyItem{item("FARGATE_SPOT", 1, 0)}, 3, map[string]int{"FARGATE_SPOT": 3}},
		{"base then weight 1:3", []CapacityProviderStrategyItem{item("FARGATE", 1, 2), item("FARGATE_SPOT", 3, 0)}, 10,
			map[string]int{"FARGATE": 2 + 2, "FARGATE_SPOT": 6}},
		{"weight 0 gets only its base", []CapacityProviderStrategyItem{item("FARGATE", 0, 1), item("FARGATE_SPOT", 1, 0)}, 4,
			map[string]int{"FARGATE": 1, "FARGATE_SPOT": 3}},
		{"every weight 0", []CapacityProviderStrategyItem{item("FARGATE", 0, 0)}, 2, map[string]int{"": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts := map[string]int{}
			for range tc.n {
				counts[PickCapacityProvider(tc.strategy, counts)]++
			}
			if diff := cmp.Diff(tc.want, counts); diff != "" {
				t.Errorf("tasks per provider (-want +got):\n%s", diff)
			}
		})
	}
}
