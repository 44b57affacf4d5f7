package api

import (
	"context"
	"fmt"
	"slices"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Capacity provider strategies (ECS API reference, CapacityProviderStrategyItem, CreateService,
// RunTask, PutClusterCapacityProviders). The local data plane has the two Fargate providers,
// FARGATE and FARGATE_SPOT; a strategy places each task on one of them by base and weight
// (model.PickCapacityProvider), and the task reports it as capacityProviderName. FARGATE_SPOT
// tasks are not interrupted locally. Without a strategy and without a launch type, the cluster's
// defaultCapacityProviderStrategy applies; without that either, the launch type FARGATE.

type putClusterCapacityProvidersInput struct {
	Cluster                         string                               `json:"cluster"`
	CapacityProviders               []string                             `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []model.CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
}

// checkCapacityProviders refuses providers the local data plane does not have.
func checkCapacityProviders(member string, providers []string) error {
	for i, p := range providers {
		if p != model.CapacityProviderFargate && p != model.CapacityProviderFargateSpot {
			return invalidParameter("%s[%d]: %q is not available locally; use FARGATE or FARGATE_SPOT", member, i, p)
		}
		if slices.Contains(providers[:i], p) {
			return invalidParameter("%s[%d]: %s is named twice", member, i, p)
		}
	}
	return nil
}

// checkStrategy checks a strategy as ECS does: known providers associated with the cluster
// (associated), each once, at most one with a base, at least one with a weight.
func checkStrategy(member string, strategy []model.CapacityProviderStrategyItem, associated []string) error {
	if len(strategy) == 0 {
		return nil
	}
	names := make([]string, 0, len(strategy))
	bases := 0
	weighted := false
	for i, it := range strategy {
		name := deref(it.CapacityProvider, "")
		if err := checkCapacityProviders(member, append(slices.Clone(names), name)); err != nil {
			return err
		}
		if !slices.Contains(associated, name) {
			return invalidParameter("%s[%d].capacityProvider: %s is not associated with the cluster; associate it (capacityProviders of CreateCluster or PutClusterCapacityProviders) or use another", member, i, name)
		}
		names = append(names, name)
		if it.Base > 0 {
			bases++
		}
		weighted = weighted || it.Weight > 0
	}
	if bases > 1 {
		return invalidParameter("%s: only one capacity provider in a strategy can have a base", member)
	}
	if !weighted {
		return invalidParameter("%s: at least one capacity provider must have a weight greater than 0", member)
	}
	return nil
}

// launchStrategy is the strategy a RunTask or CreateService places tasks by: the request's, or,
// when it names neither a strategy nor a launch type, the cluster's default. It refuses a request
// that names both, as ECS does.
func launchStrategy(member string, strategy []model.CapacityProviderStrategyItem, launchType *string, c *model.Cluster) ([]model.CapacityProviderStrategyItem, error) {
	if len(strategy) > 0 && launchType != nil {
		return nil, invalidParameter("%s: Specifying both a launch type and capacity provider strategy is not supported; remove launchType or %s", member, member)
	}
	if len(strategy) == 0 && launchType == nil {
		return c.DefaultCapacityProviderStrategy, nil
	}
	if err := checkStrategy(member, strategy, c.CapacityProviders); err != nil {
		return nil, err
	}
	return strategy, nil
}

// launchTypeFor is the launch type a service or deployment reports: none when a strategy places
// its tasks, FARGATE otherwise.
func launchTypeFor(strategy []model.CapacityProviderStrategyItem) string {
	if len(strategy) > 0 {
		return ""
	}
	return model.LaunchTypeFargate
}

// updateStrategy applies UpdateService's capacityProviderStrategy to svc in place (ECS: no new
// deployment; tasks launched afterwards follow it): a list replaces the strategy, an empty one
// returns the service to the launch type FARGATE. The PRIMARY deployment takes the service's
// strategy, whether or not the update started it.
func updateStrategy(tx *store.Tx, cluster string, svc *model.Service, strategy []model.CapacityProviderStrategyItem) error {
	if strategy != nil {
		c, err := activeCluster(tx, cluster)
		if err != nil {
			return err
		}
		if err := checkStrategy("capacityProviderStrategy", strategy, c.Cluster.CapacityProviders); err != nil {
			return err
		}
		svc.CapacityProviderStrategy = nil
		if len(strategy) > 0 {
			svc.CapacityProviderStrategy = strategy
		}
		svc.LaunchType = launchTypeFor(svc.CapacityProviderStrategy)
	}
	for i := range svc.Deployments {
		if d := &svc.Deployments[i]; d.Status == model.DeploymentPrimary {
			d.CapacityProviderStrategy, d.LaunchType = svc.CapacityProviderStrategy, svc.LaunchType
		}
	}
	return nil
}

// putClusterCapacityProviders replaces the cluster's capacity providers and default strategy.
func (s *Server) putClusterCapacityProviders(_ context.Context, in *putClusterCapacityProvidersInput) (*clusterOutput, error) {
	name, err := s.clusterName("cluster", &in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.CapacityProviders == nil || in.DefaultCapacityProviderStrategy == nil {
		return nil, invalidParameter("capacityProviders, defaultCapacityProviderStrategy: both are required (an empty list clears one)")
	}
	if err := checkCapacityProviders("capacityProviders", in.CapacityProviders); err != nil {
		return nil, err
	}
	if err := checkStrategy("defaultCapacityProviderStrategy", in.DefaultCapacityProviderStrategy, in.CapacityProviders); err != nil {
		return nil, err
	}
	var out model.Cluster
	err = s.store.Update(func(tx *store.Tx) error {
		c, err := activeCluster(tx, name)
		if err != nil {
			return err
		}
		if err := providersInUse(tx, name, in.CapacityProviders); err != nil {
			return err
		}
		c.Cluster.CapacityProviders = in.CapacityProviders
		c.Cluster.DefaultCapacityProviderStrategy = nil
		if len(in.DefaultCapacityProviderStrategy) > 0 {
			c.Cluster.DefaultCapacityProviderStrategy = in.DefaultCapacityProviderStrategy
		}
		if err := tx.PutCluster(c); err != nil {
			return err
		}
		cl, err := s.clusterWithCounts(tx, c.Cluster)
		out = filterCluster(cl, []string{"SETTINGS"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("putting the capacity providers of cluster %s: %w", name, err)
	}
	return &clusterOutput{Cluster: &out}, nil
}

// providersInUse refuses to remove a provider an ACTIVE service of the cluster places tasks on,
// as ECS does (ResourceInUseException).
func providersInUse(tx *store.Tx, cluster string, keep []string) error {
	services, err := tx.Services(cluster)
	if err != nil {
		return err
	}
	for _, sv := range services {
		if sv.Service.Status != model.StatusActive {
			continue
		}
		for _, it := range sv.Service.CapacityProviderStrategy {
			if p := deref(it.CapacityProvider, ""); !slices.Contains(keep, p) {
				return newError(errResourceInUse, "capacityProviders: %s is in use by service %s; update the service's capacityProviderStrategy first", p, sv.Service.ServiceName)
			}
		}
	}
	return nil
}
