package api

import (
	"context"
	"fmt"
	"slices"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

type createClusterInput struct {
	ClusterName       *string                `json:"clusterName"`
	Tags              []model.Tag            `json:"tags"`
	Settings          []model.ClusterSetting `json:"settings"`
	CapacityProviders []string               `json:"capacityProviders"`
	// DefaultCapacityProviderStrategy: see capacity.go.
	DefaultCapacityProviderStrategy []model.CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	// ServiceConnectDefaults: see servicesconnect.go.
	ServiceConnectDefaults *model.ClusterServiceConnectDefaults `json:"serviceConnectDefaults"`
}

type clusterOutput struct {
	Cluster *model.Cluster `json:"cluster"`
}

type describeClustersInput struct {
	Clusters []string `json:"clusters"`
	Include  []string `json:"include"`
}

type describeClustersOutput struct {
	Clusters []model.Cluster `json:"clusters"`
	Failures []failure       `json:"failures"`
}

// failure is an entry of a Describe* call's failures.
type failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

type listInput struct {
	MaxResults *int32  `json:"maxResults"`
	NextToken  *string `json:"nextToken"`
}

type listClustersOutput struct {
	ClusterArns []string `json:"clusterArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

type deleteClusterInput struct {
	Cluster string `json:"cluster"`
}

// updateClusterSettingsInput is UpdateClusterSettings' request; updateClusterInput UpdateCluster's,
// without configuration (refused by name: the local data plane has no execute-command logging or
// managed storage to configure).
type updateClusterSettingsInput struct {
	Cluster  string                 `json:"cluster"`
	Settings []model.ClusterSetting `json:"settings"`
}

type updateClusterInput struct {
	Cluster                string                               `json:"cluster"`
	Settings               []model.ClusterSetting               `json:"settings"`
	ServiceConnectDefaults *model.ClusterServiceConnectDefaults `json:"serviceConnectDefaults"`
}

func (s *Server) newCluster(name string) model.Cluster {
	return model.Cluster{
		ClusterArn: s.arns.Cluster(name), ClusterName: name, Status: model.StatusActive,
		Settings:          []model.ClusterSetting{{Name: "containerInsights", Value: "disabled"}},
		CapacityProviders: []string{},
	}
}

func (s *Server) createCluster(_ context.Context, in *createClusterInput) (*clusterOutput, error) {
	name, err := s.clusterName("clusterName", in.ClusterName)
	if err != nil {
		return nil, err
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	if err := checkSettings(in.Settings); err != nil {
		return nil, err
	}
	if err := checkCapacityProviders("capacityProviders", in.CapacityProviders); err != nil {
		return nil, err
	}
	if err := checkStrategy("defaultCapacityProviderStrategy", in.DefaultCapacityProviderStrategy, in.CapacityProviders); err != nil {
		return nil, err
	}
	var out model.Cluster
	err = s.store.Update(func(tx *store.Tx) error {
		if c, err := tx.GetCluster(name); err == nil && c.Cluster.Status == model.StatusActive {
			out = c.Cluster // CreateCluster of an existing cluster returns it, as ECS does
			return nil
		}
		c := s.newCluster(name)
		c.Tags = in.Tags
		if len(in.Settings) > 0 {
			c.Settings = in.Settings
		}
		if in.CapacityProviders != nil {
			c.CapacityProviders = in.CapacityProviders
		}
		if len(in.DefaultCapacityProviderStrategy) > 0 {
			c.DefaultCapacityProviderStrategy = in.DefaultCapacityProviderStrategy
		}
		if in.ServiceConnectDefaults != nil {
			d, err := s.serviceConnectDefaults(tx, in.ServiceConnectDefaults, false)
			if err != nil {
				return err
			}
			c.ServiceConnectDefaults = d
		}
		out = c
		return tx.PutCluster(&store.ClusterRecord{Cluster: c})
	})
	if err != nil {
		return nil, fmt.Errorf("creating cluster %s: %w", name, err)
	}
	return &clusterOutput{Cluster: &out}, nil
}

func (s *Server) describeClusters(_ context.Context, in *describeClustersInput) (*describeClustersOutput, error) {
	refs := in.Clusters
	if len(refs) == 0 {
		if err := s.ensureDefaultCluster(); err != nil {
			return nil, err
		}
		refs = []string{defaultCluster}
	}
	if len(refs) > 100 {
		return nil, invalidParameter("clusters: %d clusters named; describe at most 100 per call", len(refs))
	}
	out := &describeClustersOutput{Clusters: []model.Cluster{}, Failures: []failure{}}
	err := s.store.View(func(tx *store.Tx) error {
		for i, ref := range refs {
			name, err := s.clusterName(fmt.Sprintf("clusters[%d]", i), &ref)
			if err != nil {
				return err
			}
			c, err := tx.GetCluster(name)
			if err != nil {
				if ignoreNotFound(err) != nil {
					return err
				}
				out.Failures = append(out.Failures, failure{Arn: s.arns.Cluster(name), Reason: "MISSING"})
				continue
			}
			cl, err := s.clusterWithCounts(tx, c.Cluster)
			if err != nil {
				return err
			}
			out.Clusters = append(out.Clusters, filterCluster(cl, in.Include))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("describing clusters: %w", err)
	}
	return out, nil
}

func filterCluster(c model.Cluster, include []string) model.Cluster {
	if !slices.Contains(include, "TAGS") {
		c.Tags = nil
	}
	if !slices.Contains(include, "SETTINGS") {
		c.Settings = nil
	}
	return c
}

// clusterWithCounts fills the cluster's task and service counts from the store.
func (s *Server) clusterWithCounts(tx *store.Tx, c model.Cluster) (model.Cluster, error) {
	tasks, err := tx.Tasks(c.ClusterName)
	if err != nil {
		return c, err
	}
	c.RunningTasksCount, c.PendingTasksCount = 0, 0
	for _, t := range tasks {
		switch t.Task.LastStatus {
		case model.TaskStatusRunning:
			c.RunningTasksCount++
		case model.TaskStatusProvisioning, model.TaskStatusPending, model.TaskStatusActivating:
			c.PendingTasksCount++
		}
	}
	services, err := tx.Services(c.ClusterName)
	if err != nil {
		return c, err
	}
	c.ActiveServicesCount = 0
	for _, sv := range services {
		if sv.Service.Status == model.StatusActive {
			c.ActiveServicesCount++
		}
	}
	return c, nil
}

func (s *Server) listClusters(_ context.Context, in *listInput) (*listClustersOutput, error) {
	var arns []string
	err := s.store.View(func(tx *store.Tx) error {
		all, err := tx.Clusters()
		for _, c := range all {
			if c.Cluster.Status == model.StatusActive {
				arns = append(arns, c.Cluster.ClusterArn)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing clusters: %w", err)
	}
	slices.Sort(arns)
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, false, defaultPageSize)
	if err != nil {
		return nil, err
	}
	return &listClustersOutput{ClusterArns: nonNil(page), NextToken: next}, nil
}

func (s *Server) deleteCluster(_ context.Context, in *deleteClusterInput) (*clusterOutput, error) {
	name, err := s.clusterName("cluster", &in.Cluster)
	if err != nil {
		return nil, err
	}
	var out model.Cluster
	err = s.store.Update(func(tx *store.Tx) error {
		c, err := activeCluster(tx, name)
		if err != nil {
			return err
		}
		if err := clusterIsEmpty(tx, name); err != nil {
			return err
		}
		c.Cluster.Status = model.StatusInactive
		out = c.Cluster
		return tx.PutCluster(c)
	})
	if err != nil {
		return nil, fmt.Errorf("deleting cluster %s: %w", name, err)
	}
	return &clusterOutput{Cluster: &out}, nil
}

// checkSettings validates cluster settings: containerInsights (the only name the model allows) is
// enhanced, enabled or disabled (ECS reference, ClusterSetting), given once.
func checkSettings(settings []model.ClusterSetting) error {
	seen := map[string]bool{}
	for i, st := range settings {
		switch st.Value {
		case "enhanced", "enabled", "disabled":
		default:
			return invalidParameter("settings[%d].value: %q is not a value of %s; use enhanced, enabled or disabled", i, st.Value, st.Name)
		}
		if seen[st.Name] {
			return invalidParameter("settings[%d].name: %s is given twice; give each setting once", i, st.Name)
		}
		seen[st.Name] = true
	}
	return nil
}

// mergeSettings sets each of update's settings on have by name and keeps the others.
func mergeSettings(have, update []model.ClusterSetting) []model.ClusterSetting {
	out := slices.Clone(have)
	for _, u := range update {
		i := slices.IndexFunc(out, func(h model.ClusterSetting) bool { return h.Name == u.Name })
		if i < 0 {
			out = append(out, u)
			continue
		}
		out[i] = u
	}
	return out
}

func (s *Server) updateClusterSettings(ctx context.Context, in *updateClusterSettingsInput) (*clusterOutput, error) {
	return s.updateCluster(ctx, &updateClusterInput{Cluster: in.Cluster, Settings: in.Settings})
}

// updateCluster changes the cluster's settings in place; it answers with the cluster and its
// settings, as ECS does.
func (s *Server) updateCluster(_ context.Context, in *updateClusterInput) (*clusterOutput, error) {
	name, err := s.clusterName("cluster", &in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := checkSettings(in.Settings); err != nil {
		return nil, err
	}
	var out model.Cluster
	err = s.store.Update(func(tx *store.Tx) error {
		c, err := activeCluster(tx, name)
		if err != nil {
			return err
		}
		c.Cluster.Settings = mergeSettings(c.Cluster.Settings, in.Settings)
		if in.ServiceConnectDefaults != nil {
			d, err := s.serviceConnectDefaults(tx, in.ServiceConnectDefaults, true)
			if err != nil {
				return err
			}
			c.Cluster.ServiceConnectDefaults = d
		}
		if err := tx.PutCluster(c); err != nil {
			return err
		}
		cl, err := s.clusterWithCounts(tx, c.Cluster)
		out = filterCluster(cl, []string{"SETTINGS"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("updating cluster %s: %w", name, err)
	}
	return &clusterOutput{Cluster: &out}, nil
}

// clusterIsEmpty refuses to delete a cluster that still has services or tasks, as ECS does.
func clusterIsEmpty(tx *store.Tx, name string) error {
	services, err := tx.Services(name)
	if err != nil {
		return err
	}
	for _, sv := range services {
		if sv.Service.Status == model.StatusActive || sv.Service.Status == model.StatusDraining {
			return newError(errClusterHasServices,
				"The Cluster cannot be deleted while Services are active: delete service %s first (DeleteService, force or scaled to 0) and wait until it is INACTIVE", sv.Service.ServiceName)
		}
	}
	tasks, err := tx.Tasks(name)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.Task.LastStatus != model.TaskStatusStopped {
			return newError(errClusterHasTasks,
				"The Cluster cannot be deleted while Tasks are active: stop task %s first (StopTask) and wait until it is STOPPED", t.Task.TaskArn)
		}
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
