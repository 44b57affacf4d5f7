package model

// The Fargate capacity providers the local data plane has: FARGATE and FARGATE_SPOT. A task placed
// by a capacity provider strategy reports the provider it was placed on (capacityProviderName);
// FARGATE_SPOT tasks are never interrupted locally (there is no spare capacity to reclaim).
const (
	CapacityProviderFargate     = "FARGATE"
	CapacityProviderFargateSpot = "FARGATE_SPOT"
)

// CapacityProviderStrategyItem is one provider of a capacity provider strategy (ECS API
// reference, CapacityProviderStrategyItem): base tasks at least on it, then weight-proportional.
type CapacityProviderStrategyItem struct {
	CapacityProvider *string `json:"capacityProvider,omitempty"`
	Weight           int32   `json:"weight"`
	Base             int32   `json:"base"`
}

// PickCapacityProvider is the provider of strategy the next task goes to, given how many tasks each
// provider runs already (counts, by provider name): first the provider whose base is not met, then
// the one furthest below its share by weight (the lowest count/weight; ties go to the earlier
// provider). "" when the strategy is empty or no provider can take a task (every weight 0 and
// base met).
func PickCapacityProvider(strategy []CapacityProviderStrategyItem, counts map[string]int) string {
	for _, it := range strategy {
		if name := deref(it.CapacityProvider); it.Base > 0 && counts[name] < int(it.Base) {
			return name
		}
	}
	best, bestCount, bestWeight := "", 0, int32(0)
	for _, it := range strategy {
		if it.Weight <= 0 {
			continue
		}
		name := deref(it.CapacityProvider)
		// Tasks beyond base count against the weighted share.
		n := max(counts[name]-int(it.Base), 0)
		// n/weight < bestCount/bestWeight without division.
		if best == "" || int64(n)*int64(bestWeight) < int64(bestCount)*int64(it.Weight) {
			best, bestCount, bestWeight = name, n, it.Weight
		}
	}
	return best
}
