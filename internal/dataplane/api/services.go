package api

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

type createServiceInput struct {
	Cluster                       *string                        `json:"cluster"`
	ServiceName                   string                         `json:"serviceName"`
	TaskDefinition                *string                        `json:"taskDefinition"`
	DesiredCount                  *int32                         `json:"desiredCount"`
	ClientToken                   *string                        `json:"clientToken"`
	LaunchType                    *string                        `json:"launchType"`
	PlatformVersion               *string                        `json:"platformVersion"`
	DeploymentConfiguration       *model.DeploymentConfiguration `json:"deploymentConfiguration"`
	DeploymentController          *model.DeploymentController    `json:"deploymentController"`
	NetworkConfiguration          *model.NetworkConfiguration    `json:"networkConfiguration"`
	LoadBalancers                 []model.LoadBalancer           `json:"loadBalancers"`
	ServiceRegistries             []model.ServiceRegistry        `json:"serviceRegistries"` // cloudmap_ecs.go
	HealthCheckGracePeriodSeconds *int32                         `json:"healthCheckGracePeriodSeconds"`
	SchedulingStrategy            *string                        `json:"schedulingStrategy"`
	Tags                          []model.Tag                    `json:"tags"`
	EnableECSManagedTags          *bool                          `json:"enableECSManagedTags"`
	PropagateTags                 *string                        `json:"propagateTags"`
	EnableExecuteCommand          *bool                          `json:"enableExecuteCommand"`
	// CapacityProviderStrategy: see capacity.go.
	CapacityProviderStrategy []model.CapacityProviderStrategyItem `json:"capacityProviderStrategy"`

	// ServiceConnectConfiguration: servicesconnect.go.
	ServiceConnectConfiguration *model.ServiceConnectConfiguration `json:"serviceConnectConfiguration"`
}

type serviceOutput struct {
	Service *model.Service `json:"service"`
}

type updateServiceInput struct {
	Cluster                       *string                        `json:"cluster"`
	Service                       string                         `json:"service"`
	DesiredCount                  *int32                         `json:"desiredCount"`
	TaskDefinition                *string                        `json:"taskDefinition"`
	DeploymentConfiguration       *model.DeploymentConfiguration `json:"deploymentConfiguration"`
	ForceNewDeployment            bool                           `json:"forceNewDeployment"`
	NetworkConfiguration          *model.NetworkConfiguration    `json:"networkConfiguration"`
	LoadBalancers                 []model.LoadBalancer           `json:"loadBalancers"`
	ServiceRegistries             []model.ServiceRegistry        `json:"serviceRegistries"` // cloudmap_ecs.go
	PlatformVersion               *string                        `json:"platformVersion"`
	HealthCheckGracePeriodSeconds *int32                         `json:"healthCheckGracePeriodSeconds"`
	EnableECSManagedTags          *bool                          `json:"enableECSManagedTags"`
	PropagateTags                 *string                        `json:"propagateTags"`
	EnableExecuteCommand          *bool                          `json:"enableExecuteCommand"`
	// CapacityProviderStrategy changes in place (see capacity.go).
	CapacityProviderStrategy []model.CapacityProviderStrategyItem `json:"capacityProviderStrategy"`

	// ServiceConnectConfiguration: servicesconnect.go.
	ServiceConnectConfiguration *model.ServiceConnectConfiguration `json:"serviceConnectConfiguration"`
}

type deleteServiceInput struct {
	Cluster *string `json:"cluster"`
	Service string  `json:"service"`
	Force   *bool   `json:"force"`
}

type describeServicesInput struct {
	Cluster  *string  `json:"cluster"`
	Services []string `json:"services"`
	Include  []string `json:"include"`
}

type describeServicesOutput struct {
	Services []model.Service `json:"services"`
	Failures []failure       `json:"failures"`
}

type listServicesInput struct {
	Cluster            *string `json:"cluster"`
	LaunchType         *string `json:"launchType"`
	SchedulingStrategy *string `json:"schedulingStrategy"`
	MaxResults         *int32  `json:"maxResults"`
	NextToken          *string `json:"nextToken"`
}

type listServicesOutput struct {
	ServiceArns []string `json:"serviceArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

const (
	opCreateService     = "CreateService"
	opCreateServiceName = "CreateService/name"
)

func validateCreateService(in *createServiceInput) error {
	if err := checkName("serviceName", in.ServiceName); err != nil {
		return err
	}
	if in.TaskDefinition == nil {
		return invalidParameter("taskDefinition: required with the ECS deployment controller; name the task definition the service runs")
	}
	if in.DesiredCount == nil {
		return invalidParameter("desiredCount: required for a REPLICA service; give the number of tasks to keep running")
	}
	if *in.DesiredCount < 0 {
		return invalidParameter("desiredCount: %d is negative", *in.DesiredCount)
	}
	if ss := in.SchedulingStrategy; ss != nil && *ss != "REPLICA" {
		return invalidParameter("schedulingStrategy: %s needs nodes, which nodeless does not have; use REPLICA", *ss)
	}
	if dc := in.DeploymentController; dc != nil && dc.Type != "ECS" {
		return invalidParameter("deploymentController.type: %s is not available on the nodeless local data plane; use ECS", dc.Type)
	}
	for _, check := range []error{
		checkLaunchType(in.LaunchType), checkDeploymentConfiguration(in.DeploymentConfiguration),
		checkClientToken(in.ClientToken, 36), checkExecuteCommand(in.EnableExecuteCommand), checkTags("tags", in.Tags),
		checkGracePeriod(in.HealthCheckGracePeriodSeconds),
	} {
		if check != nil {
			return check
		}
	}
	return nil
}

func checkExecuteCommand(v *bool) error {
	if v != nil && *v {
		return invalidParameter("enableExecuteCommand: ECS Exec is not available on the nodeless local data plane; remove it")
	}
	return nil
}

func checkGracePeriod(v *int32) error {
	if v != nil && *v < 0 {
		return invalidParameter("healthCheckGracePeriodSeconds: %d is negative", *v)
	}
	return nil
}

func checkDeploymentConfiguration(dc *model.DeploymentConfiguration) error {
	if dc == nil {
		return nil
	}
	if v := dc.MinimumHealthyPercent; v != nil && (*v < 0 || *v > 100) {
		return invalidParameter("deploymentConfiguration.minimumHealthyPercent: %d is out of range; use 0 to 100", *v)
	}
	if v := dc.MaximumPercent; v != nil && *v < 100 {
		return invalidParameter("deploymentConfiguration.maximumPercent: %d is below 100; a REPLICA service needs at least 100", *v)
	}
	return checkAlarms(dc.Alarms)
}

// mergeDeploymentConfiguration lays update over base; unset members keep base's values.
func mergeDeploymentConfiguration(base, update *model.DeploymentConfiguration) *model.DeploymentConfiguration {
	out := model.DeploymentConfiguration{
		MaximumPercent: ptr(int32(200)), MinimumHealthyPercent: ptr(int32(100)),
		DeploymentCircuitBreaker: &model.DeploymentCircuitBreaker{},
	}
	for _, dc := range []*model.DeploymentConfiguration{base, update} {
		if dc == nil {
			continue
		}
		out.MaximumPercent = firstNonNil(dc.MaximumPercent, out.MaximumPercent)
		out.MinimumHealthyPercent = firstNonNil(dc.MinimumHealthyPercent, out.MinimumHealthyPercent)
		out.DeploymentCircuitBreaker = firstNonNil(dc.DeploymentCircuitBreaker, out.DeploymentCircuitBreaker)
		out.Alarms = firstNonNil(dc.Alarms, out.Alarms)
	}
	return &out
}

func (s *Server) createService(_ context.Context, in *createServiceInput) (*serviceOutput, error) {
	if err := validateCreateService(in); err != nil {
		return nil, err
	}
	cluster, err := s.cluster("cluster", in.Cluster)
	if err != nil {
		return nil, err
	}
	hashed := *in
	hashed.ClientToken = nil
	hash, err := requestHash(hashed)
	if err != nil {
		return nil, err
	}
	var out model.Service
	var created bool
	err = s.store.Update(func(tx *store.Tx) error {
		var err error
		out, created, err = s.createServiceTx(tx, cluster, in, hash)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating service %s: %w", in.ServiceName, err)
	}
	if created {
		s.engine.ServiceChanged(cluster, in.ServiceName)
	}
	return &serviceOutput{Service: &out}, nil
}

func (s *Server) createServiceTx(tx *store.Tx, cluster string, in *createServiceInput, hash string) (model.Service, bool, error) {
	c, err := activeCluster(tx, cluster)
	if err != nil {
		return model.Service{}, false, err
	}
	strategy, err := launchStrategy("capacityProviderStrategy", in.CapacityProviderStrategy, in.LaunchType, &c.Cluster)
	if err != nil {
		return model.Service{}, false, err
	}
	if svc, found, err := replayCreateService(tx, cluster, in, hash); found || err != nil {
		return svc, false, err
	}
	td, err := usableTaskDefinition(tx, "taskDefinition", *in.TaskDefinition)
	if err != nil {
		return model.Service{}, false, err
	}
	if err := s.checkLaunch(&td.TaskDefinition, in.LaunchType, in.PlatformVersion, in.NetworkConfiguration, false); err != nil {
		return model.Service{}, false, err
	}
	if err := checkLoadBalancers(tx, in.LoadBalancers, &td.TaskDefinition); err != nil {
		return model.Service{}, false, err
	}
	if err := checkServiceRegistries(tx, in.ServiceRegistries, &td.TaskDefinition); err != nil {
		return model.Service{}, false, err
	}
	scc, scr, err := s.applyServiceConnect(tx, s.arns.Service(cluster, in.ServiceName), in.ServiceConnectConfiguration, &td.TaskDefinition)
	if err != nil {
		return model.Service{}, false, err
	}
	svc := s.newService(cluster, in, td.TaskDefinition.TaskDefinitionArn)
	svc.Deployments[0].ServiceConnectConfiguration, svc.Deployments[0].ServiceConnectResources = scc, scr
	svc.CapacityProviderStrategy, svc.LaunchType = strategy, launchTypeFor(strategy)
	svc.Deployments[0].CapacityProviderStrategy, svc.Deployments[0].LaunchType = strategy, svc.LaunchType
	if err := tx.PutService(cluster, &store.ServiceRecord{Service: svc}); err != nil {
		return model.Service{}, false, err
	}
	rec := &store.TokenRecord{RequestHash: hash, ResultARNs: []string{svc.ServiceArn}, CreatedAt: s.now()}
	if err := tx.PutToken(opCreateServiceName, cluster+"/"+in.ServiceName, rec); err != nil {
		return model.Service{}, false, err
	}
	if in.ClientToken != nil {
		if err := tx.PutToken(opCreateService, cluster+"/"+*in.ClientToken, rec); err != nil {
			return model.Service{}, false, err
		}
	}
	return svc, true, nil
}

// replayCreateService makes CreateService idempotent as ECS does: the same clientToken, or the
// same name of a service that still exists, with the same parameters returns the service; with
// different parameters it is refused.
func replayCreateService(tx *store.Tx, cluster string, in *createServiceInput, hash string) (model.Service, bool, error) {
	if in.ClientToken != nil {
		rec, err := tx.GetToken(opCreateService, cluster+"/"+*in.ClientToken)
		if err == nil && rec.RequestHash != hash {
			return model.Service{}, true, invalidParameter("clientToken: %q was already used to create a service with different parameters; use a new token", *in.ClientToken)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return model.Service{}, true, err
		}
	}
	existing, err := tx.GetService(cluster, in.ServiceName)
	if errors.Is(err, store.ErrNotFound) || (err == nil && existing.Service.Status == model.StatusInactive) {
		return model.Service{}, false, nil
	}
	if err != nil {
		return model.Service{}, true, err
	}
	if existing.Service.Status == model.StatusDraining {
		return model.Service{}, true, invalidParameter("serviceName: Unable to Start a service that is still Draining: wait until %s is INACTIVE, or use another name", in.ServiceName)
	}
	rec, err := tx.GetToken(opCreateServiceName, cluster+"/"+in.ServiceName)
	if err != nil || rec.RequestHash != hash {
		return model.Service{}, true, invalidParameter("serviceName: Creation of service was not idempotent: service %s exists with other parameters; change it with UpdateService", in.ServiceName)
	}
	return existing.Service, true, nil
}

// checkLoadBalancers checks that each load balancer names a container port of the task definition
// and a target group of the local ELBv2 API that a listener uses (load_balancers.go).
func checkLoadBalancers(tx *store.Tx, lbs []model.LoadBalancer, td *model.TaskDefinition) error {
	for i, lb := range lbs {
		ok := lb.ContainerName != nil && lb.ContainerPort != nil && slices.ContainsFunc(td.ContainerDefinitions, func(d model.ContainerDefinition) bool {
			return *d.Name == *lb.ContainerName && slices.ContainsFunc(d.PortMappings, func(p model.PortMapping) bool {
				return p.ContainerPort != nil && *p.ContainerPort == *lb.ContainerPort
			})
		})
		if !ok {
			return invalidParameter("loadBalancers[%d]: containerName and containerPort must name a container of %s and one of its portMappings", i, td.TaskDefinitionArn)
		}
		if err := checkTargetGroup(tx, i, lb); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) newService(cluster string, in *createServiceInput, tdArn string) model.Service {
	now := s.now()
	return model.Service{
		ServiceArn: s.arns.Service(cluster, in.ServiceName), ServiceName: in.ServiceName,
		ClusterArn: s.arns.Cluster(cluster), Status: model.StatusActive, DesiredCount: *in.DesiredCount,
		LaunchType: model.LaunchTypeFargate, PlatformVersion: ptr(deref(in.PlatformVersion, "LATEST")),
		TaskDefinition:          tdArn,
		DeploymentConfiguration: mergeDeploymentConfiguration(nil, in.DeploymentConfiguration),
		Deployments:             []model.Deployment{s.newDeployment(tdArn, *in.DesiredCount, in.PlatformVersion, in.NetworkConfiguration)},
		Events:                  []model.ServiceEvent{}, CreatedAt: now, LoadBalancers: nonNil(in.LoadBalancers),
		ServiceRegistries: nonNil(in.ServiceRegistries), NetworkConfiguration: in.NetworkConfiguration, SchedulingStrategy: "REPLICA",
		DeploymentController:          &model.DeploymentController{Type: "ECS"},
		HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
		EnableECSManagedTags:          deref(in.EnableECSManagedTags, false),
		PropagateTags:                 ptr(deref(in.PropagateTags, "NONE")), Tags: in.Tags,
	}
}

// newDeployment is the PRIMARY deployment CreateService and UpdateService start.
func (s *Server) newDeployment(tdArn string, desired int32, platformVersion *string, nc *model.NetworkConfiguration) model.Deployment {
	d := model.NewDeployment(tdArn, desired, platformVersion, nc, s.clock.Now())
	d.RolloutStateReason = ptr("ECS deployment " + d.ID + " in progress.")
	return d
}

// service reads a service of an ACTIVE cluster; ServiceNotFoundException when there is none.
func getService(tx *store.Tx, cluster, name string) (*store.ServiceRecord, error) {
	if _, err := activeCluster(tx, cluster); err != nil {
		return nil, err
	}
	rec, err := tx.GetService(cluster, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, serviceNotFound(name)
	}
	return rec, err
}

func (s *Server) updateService(_ context.Context, in *updateServiceInput) (*serviceOutput, error) {
	name, err := serviceName("service", in.Service)
	if err != nil {
		return nil, err
	}
	if err := validateUpdateService(in); err != nil {
		return nil, err
	}
	cluster, err := s.cluster("cluster", in.Cluster)
	if err != nil {
		return nil, err
	}
	var out model.Service
	err = s.store.Update(func(tx *store.Tx) error {
		rec, err := getService(tx, cluster, name)
		if err != nil {
			return err
		}
		if rec.Service.Status != model.StatusActive {
			return newError(errServiceNotActive, "Service was not ACTIVE: %s is %s; create it again with CreateService", name, rec.Service.Status)
		}
		if err := s.applyUpdate(tx, &rec.Service, in); err != nil {
			return err
		}
		if err := updateStrategy(tx, cluster, &rec.Service, in.CapacityProviderStrategy); err != nil {
			return err
		}
		out = rec.Service
		return tx.PutService(cluster, rec)
	})
	if err != nil {
		return nil, fmt.Errorf("updating service %s: %w", name, err)
	}
	s.engine.ServiceChanged(cluster, name)
	return &serviceOutput{Service: &out}, nil
}

func validateUpdateService(in *updateServiceInput) error {
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return invalidParameter("desiredCount: %d is negative", *in.DesiredCount)
	}
	for _, err := range []error{
		checkDeploymentConfiguration(in.DeploymentConfiguration), checkExecuteCommand(in.EnableExecuteCommand),
		checkGracePeriod(in.HealthCheckGracePeriodSeconds),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// applyUpdate changes svc as UpdateService asks; a new deployment starts when the task definition,
// the network configuration, the load balancers or the platform version change (the members the
// ECS model documents as triggering one), or when forceNewDeployment is set. Every other member
// changes in place.
func (s *Server) applyUpdate(tx *store.Tx, svc *model.Service, in *updateServiceInput) error {
	tdArn, lbs, err := s.updatedTaskDefinition(tx, svc, in)
	if err != nil {
		return err
	}
	nc := firstNonNil(in.NetworkConfiguration, svc.NetworkConfiguration)
	pv := firstNonNil(in.PlatformVersion, svc.PlatformVersion)
	redeploy := in.ForceNewDeployment || tdArn != svc.TaskDefinition || !reflect.DeepEqual(nc, svc.NetworkConfiguration) ||
		!reflect.DeepEqual(lbs, svc.LoadBalancers) || deref(pv, "") != deref(svc.PlatformVersion, "")
	svc.LoadBalancers = lbs
	if redeploy, err = s.updateRegistries(tx, svc, in, tdArn, redeploy); err != nil {
		return err
	}
	connect, err := s.updateServiceConnect(tx, svc, in, tdArn)
	if err != nil {
		return err
	}
	redeploy = redeploy || connect.changed
	if in.DesiredCount != nil {
		svc.DesiredCount = *in.DesiredCount
	}
	svc.DeploymentConfiguration = mergeDeploymentConfiguration(svc.DeploymentConfiguration, in.DeploymentConfiguration)
	svc.HealthCheckGracePeriodSeconds = firstNonNil(in.HealthCheckGracePeriodSeconds, svc.HealthCheckGracePeriodSeconds)
	svc.PropagateTags = firstNonNil(in.PropagateTags, svc.PropagateTags)
	svc.PlatformVersion = pv
	svc.EnableECSManagedTags = deref(in.EnableECSManagedTags, svc.EnableECSManagedTags)
	svc.TaskDefinition, svc.NetworkConfiguration = tdArn, nc
	if redeploy {
		for i := range svc.Deployments {
			if svc.Deployments[i].Status == model.DeploymentPrimary {
				svc.Deployments[i].Status = model.DeploymentActive
				svc.Deployments[i].UpdatedAt = s.now()
			}
		}
		svc.Deployments = append([]model.Deployment{s.newDeployment(tdArn, svc.DesiredCount, svc.PlatformVersion, nc)}, svc.Deployments...)
		svc.Deployments[0].ServiceConnectConfiguration, svc.Deployments[0].ServiceConnectResources = connect.config, connect.resources
		return nil
	}
	for i := range svc.Deployments {
		if svc.Deployments[i].Status == model.DeploymentPrimary && in.DesiredCount != nil {
			svc.Deployments[i].DesiredCount = svc.DesiredCount
			svc.Deployments[i].UpdatedAt = s.now()
		}
	}
	return nil
}

// updatedTaskDefinition resolves the task definition and load balancers an update asks for (or
// keeps) and checks that they fit each other.
func (s *Server) updatedTaskDefinition(tx *store.Tx, svc *model.Service, in *updateServiceInput) (string, []model.LoadBalancer, error) {
	lbs := svc.LoadBalancers
	if in.LoadBalancers != nil {
		lbs = in.LoadBalancers
	}
	ref, member := svc.TaskDefinition, "service.taskDefinition"
	if in.TaskDefinition != nil {
		ref, member = *in.TaskDefinition, "taskDefinition"
	}
	r, err := parseTaskDefRef(member, ref)
	if err != nil {
		return "", nil, err
	}
	td, err := findTaskDefinition(tx, r)
	if err != nil {
		return "", nil, err
	}
	if in.TaskDefinition != nil {
		if td, err = usableTaskDefinition(tx, member, ref); err != nil {
			return "", nil, err
		}
	}
	if err := s.checkLaunch(&td.TaskDefinition, ptr(svc.LaunchType), in.PlatformVersion, in.NetworkConfiguration, true); err != nil {
		return "", nil, err
	}
	if err := checkLoadBalancers(tx, lbs, &td.TaskDefinition); err != nil {
		return "", nil, err
	}
	return td.TaskDefinition.TaskDefinitionArn, lbs, nil
}

func (s *Server) deleteService(_ context.Context, in *deleteServiceInput) (*serviceOutput, error) {
	name, err := serviceName("service", in.Service)
	if err != nil {
		return nil, err
	}
	cluster, err := s.cluster("cluster", in.Cluster)
	if err != nil {
		return nil, err
	}
	var out model.Service
	var changed bool
	err = s.store.Update(func(tx *store.Tx) error {
		rec, err := getService(tx, cluster, name)
		if err != nil {
			return err
		}
		switch rec.Service.Status {
		case model.StatusInactive:
			return newError(errServiceNotActive, "Service was not ACTIVE: %s is already INACTIVE (deleted)", name)
		case model.StatusDraining:
			out = rec.Service
			return nil
		}
		if rec.Service.DesiredCount > 0 && !deref(in.Force, false) {
			return invalidParameter("desiredCount: The service cannot be stopped while it is scaled above 0: set desiredCount to 0 with UpdateService first, or pass force to delete it now")
		}
		markDraining(&rec.Service)
		if err := cloudmap.SetAliases(tx, rec.Service.ServiceArn, nil); err != nil { // servicesconnect.go
			return err
		}
		changed = true
		out = rec.Service
		return tx.PutService(cluster, rec)
	})
	if err != nil {
		return nil, fmt.Errorf("deleting service %s: %w", name, err)
	}
	if changed {
		s.engine.ServiceChanged(cluster, name)
	}
	return &serviceOutput{Service: &out}, nil
}

func markDraining(svc *model.Service) {
	svc.Status = model.StatusDraining
	svc.DesiredCount = 0
	for i := range svc.Deployments {
		svc.Deployments[i].DesiredCount = 0
	}
}

func (s *Server) describeServices(_ context.Context, in *describeServicesInput) (*describeServicesOutput, error) {
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, invalidParameter("services: %d services named; describe 1 to 10 per call", len(in.Services))
	}
	cluster, err := s.cluster("cluster", in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &describeServicesOutput{Services: []model.Service{}, Failures: []failure{}}
	err = s.store.View(func(tx *store.Tx) error {
		if _, err := activeCluster(tx, cluster); err != nil {
			return err
		}
		for i, ref := range in.Services {
			name, err := serviceName(fmt.Sprintf("services[%d]", i), ref)
			if err != nil {
				return err
			}
			rec, err := tx.GetService(cluster, name)
			if errors.Is(err, store.ErrNotFound) {
				out.Failures = append(out.Failures, failure{Arn: s.arns.Service(cluster, name), Reason: "MISSING"})
				continue
			}
			if err != nil {
				return err
			}
			svc := rec.Service
			if !slices.Contains(in.Include, "TAGS") {
				svc.Tags = nil
			}
			out.Services = append(out.Services, svc)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("describing services: %w", err)
	}
	return out, nil
}

func (s *Server) listServices(_ context.Context, in *listServicesInput) (*listServicesOutput, error) {
	if err := checkLaunchType(in.LaunchType); err != nil {
		return nil, err
	}
	cluster, err := s.cluster("cluster", in.Cluster)
	if err != nil {
		return nil, err
	}
	var arns []string
	err = s.store.View(func(tx *store.Tx) error {
		if _, err := activeCluster(tx, cluster); err != nil {
			return err
		}
		all, err := tx.Services(cluster)
		for _, r := range all {
			if r.Service.Status != model.StatusActive {
				continue // ECS no longer lists DRAINING or INACTIVE services
			}
			if in.SchedulingStrategy != nil && r.Service.SchedulingStrategy != *in.SchedulingStrategy {
				continue
			}
			arns = append(arns, r.Service.ServiceArn)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	slices.Sort(arns)
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, false, defaultServicesPageSize)
	if err != nil {
		return nil, err
	}
	return &listServicesOutput{ServiceArns: nonNil(page), NextToken: next}, nil
}
