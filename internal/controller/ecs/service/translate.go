package service

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

// ECS's documented defaults of a REPLICA service's deployment configuration.
const (
	DefaultMaximumPercent        = 200
	DefaultMinimumHealthyPercent = 100
)

func valueOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// MaxClientToken is the longest clientToken CreateService accepts.
const MaxClientToken = 36

// CreateInput translates a Service into the CreateService request, for cluster and task
// definition already resolved.
func CreateInput(svc *ecsv1alpha1.Service, cluster, taskDefinition string) *ecs.CreateServiceInput {
	s := &svc.Spec
	in := &ecs.CreateServiceInput{
		ServiceName:                   aws.String(svc.ECSName()),
		Cluster:                       aws.String(cluster),
		TaskDefinition:                aws.String(taskDefinition),
		DesiredCount:                  s.DesiredCount,
		PlatformVersion:               ecscall.OptString(s.PlatformVersion),
		DeploymentConfiguration:       deploymentConfiguration(s.DeploymentConfiguration, nil),
		NetworkConfiguration:          networkConfiguration(s.NetworkConfiguration),
		LoadBalancers:                 loadBalancers(s.LoadBalancers),
		HealthCheckGracePeriodSeconds: s.HealthCheckGracePeriodSeconds,
		EnableExecuteCommand:          aws.ToBool(s.EnableExecuteCommand),
		EnableECSManagedTags:          aws.ToBool(s.EnableECSManagedTags),
		ClientToken:                   aws.String(ecscall.ClientToken(svc, MaxClientToken)),
		Tags:                          managed.Tags(s.Tags, ecscall.OwnerTag(svc)),
	}
	if s.LaunchType != "" {
		in.LaunchType = ecstypes.LaunchType(s.LaunchType)
	}
	if s.SchedulingStrategy != "" {
		in.SchedulingStrategy = ecstypes.SchedulingStrategy(s.SchedulingStrategy)
	}
	if in.SchedulingStrategy == ecstypes.SchedulingStrategyDaemon {
		in.DesiredCount = nil
	}
	if s.PropagateTags != "" {
		in.PropagateTags = ecstypes.PropagateTags(s.PropagateTags)
	}
	createMembers(s, in)
	return in
}

// deploymentConfiguration overlays the members the spec sets on observed (nil: ECS defaults).
func deploymentConfiguration(dc *ecsv1alpha1.DeploymentConfiguration, observed *ecstypes.DeploymentConfiguration) *ecstypes.DeploymentConfiguration {
	if dc == nil {
		return nil
	}
	out := &ecstypes.DeploymentConfiguration{}
	if observed != nil {
		cp := *observed
		out = &cp
	}
	if dc.MaximumPercent != nil {
		out.MaximumPercent = dc.MaximumPercent
	}
	if dc.MinimumHealthyPercent != nil {
		out.MinimumHealthyPercent = dc.MinimumHealthyPercent
	}
	if cb := dc.DeploymentCircuitBreaker; cb != nil {
		out.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: cb.Enable, Rollback: cb.Rollback}
	}
	if dc.Alarms != nil {
		out.Alarms = alarms(dc.Alarms)
	}
	return out
}

func networkConfiguration(nc *ecsv1alpha1.NetworkConfiguration) *ecstypes.NetworkConfiguration {
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return nil
	}
	a := nc.AwsvpcConfiguration
	out := &ecstypes.AwsVpcConfiguration{Subnets: a.Subnets, SecurityGroups: a.SecurityGroups}
	if a.AssignPublicIp != "" {
		out.AssignPublicIp = ecstypes.AssignPublicIp(a.AssignPublicIp)
	}
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: out}
}

func loadBalancers(lbs []ecsv1alpha1.LoadBalancer) []ecstypes.LoadBalancer {
	var out []ecstypes.LoadBalancer
	for _, lb := range lbs {
		out = append(out, ecstypes.LoadBalancer{
			TargetGroupArn:   ecscall.OptString(lb.TargetGroupArn),
			LoadBalancerName: ecscall.OptString(lb.LoadBalancerName),
			ContainerName:    aws.String(lb.ContainerName),
			ContainerPort:    aws.Int32(lb.ContainerPort),
		})
	}
	return out
}

// UpdateInput compares the spec with what ECS reports and returns the UpdateService request that
// converges them, with the names of the members that differ; nil when nothing differs. It carries
// every spec member UpdateService accepts; tags change through TagResource (TagChange) and the
// members ECS sets only at create are refused (CreateOnlyChange). Only members the spec sets are
// compared: what ECS defaults is left alone. The task definition is
// compared with the one the controller last applied, not with what ECS runs, so that a rollback
// by the deployment circuit breaker is not undone over and over.
func UpdateInput(svc *ecsv1alpha1.Service, desiredTD string, observed *ecstypes.Service) (*ecs.UpdateServiceInput, []string) {
	s := &svc.Spec
	in := &ecs.UpdateServiceInput{Service: observed.ServiceArn, Cluster: observed.ClusterArn}
	var changed []string
	if desiredTD != "" && desiredTD != svc.Status.AppliedTaskDefinition && !TaskDefinitionMatches(desiredTD, aws.ToString(observed.TaskDefinition)) {
		in.TaskDefinition = aws.String(desiredTD)
		changed = append(changed, "taskDefinition")
	}
	if s.DesiredCount != nil && observed.SchedulingStrategy != ecstypes.SchedulingStrategyDaemon && *s.DesiredCount != observed.DesiredCount {
		in.DesiredCount = s.DesiredCount
		changed = append(changed, "desiredCount")
	}
	if s.PlatformVersion != "" && s.PlatformVersion != aws.ToString(observed.PlatformVersion) {
		in.PlatformVersion = aws.String(s.PlatformVersion)
		changed = append(changed, "platformVersion")
	}
	if !deploymentConfigurationMatches(s.DeploymentConfiguration, observed.DeploymentConfiguration) {
		in.DeploymentConfiguration = deploymentConfiguration(s.DeploymentConfiguration, observed.DeploymentConfiguration)
		changed = append(changed, "deploymentConfiguration")
	}
	if !networkConfigurationMatches(s.NetworkConfiguration, observed.NetworkConfiguration) {
		in.NetworkConfiguration = networkConfiguration(s.NetworkConfiguration)
		changed = append(changed, "networkConfiguration")
	}
	if len(s.LoadBalancers) > 0 && !loadBalancersMatch(s.LoadBalancers, observed.LoadBalancers) {
		in.LoadBalancers = loadBalancers(s.LoadBalancers)
		changed = append(changed, "loadBalancers")
	}
	if s.HealthCheckGracePeriodSeconds != nil && *s.HealthCheckGracePeriodSeconds != aws.ToInt32(observed.HealthCheckGracePeriodSeconds) {
		in.HealthCheckGracePeriodSeconds = s.HealthCheckGracePeriodSeconds
		changed = append(changed, "healthCheckGracePeriodSeconds")
	}
	if s.EnableExecuteCommand != nil && *s.EnableExecuteCommand != observed.EnableExecuteCommand {
		in.EnableExecuteCommand = s.EnableExecuteCommand
		changed = append(changed, "enableExecuteCommand")
	}
	if s.EnableECSManagedTags != nil && *s.EnableECSManagedTags != observed.EnableECSManagedTags {
		in.EnableECSManagedTags = s.EnableECSManagedTags
		changed = append(changed, "enableECSManagedTags")
	}
	if s.PropagateTags != "" && s.PropagateTags != string(observed.PropagateTags) {
		in.PropagateTags = ecstypes.PropagateTags(s.PropagateTags)
		changed = append(changed, "propagateTags")
	}
	changed = append(changed, updateMembers(s, observed, in)...)
	if len(changed) == 0 {
		return nil, nil
	}
	return in, changed
}

// CreateOnlyChange returns the first member ECS sets only when it creates the service (serviceName,
// cluster / clusterRef, launchType, schedulingStrategy) that the spec changed, nil when none did.
// cluster is the cluster the spec resolves to; observed is the ECS service, nil when none exists
// (then only a cluster change is detectable, from the status). A member the spec leaves unset, or
// sets to what ECS reports, is no change.
func CreateOnlyChange(svc *ecsv1alpha1.Service, cluster string, observed *ecstypes.Service) *inplace.CreateOnly {
	st := &svc.Status
	if st.ClusterArn != "" && !inplace.SameCluster(cluster, st.ClusterArn) {
		return &inplace.CreateOnly{Member: clusterMember(svc), Was: st.ClusterArn, Now: cluster}
	}
	if observed == nil {
		return nil
	}
	s := &svc.Spec
	if name := aws.ToString(observed.ServiceName); name != svc.ECSName() && managed.AdoptName(svc) == "" {
		return &inplace.CreateOnly{Member: "spec.serviceName", Was: name, Now: svc.ECSName()}
	}
	if s.LaunchType != "" && observed.LaunchType != "" && s.LaunchType != string(observed.LaunchType) {
		return &inplace.CreateOnly{Member: "spec.launchType", Was: string(observed.LaunchType), Now: s.LaunchType}
	}
	if s.SchedulingStrategy != "" && observed.SchedulingStrategy != "" && s.SchedulingStrategy != string(observed.SchedulingStrategy) {
		return &inplace.CreateOnly{Member: "spec.schedulingStrategy", Was: string(observed.SchedulingStrategy), Now: s.SchedulingStrategy}
	}
	return nil
}

func clusterMember(svc *ecsv1alpha1.Service) string {
	if svc.Spec.ClusterRef != nil {
		return "spec.clusterRef"
	}
	return "spec.cluster"
}

// TagChange is the TagResource / UntagResource change that gives the ECS service the spec's tags
// (the owner tag and tags others set stay).
func TagChange(svc *ecsv1alpha1.Service, observed *ecstypes.Service) inplace.TagChange {
	return inplace.DiffTags(svc.Spec.Tags, svc.Status.AppliedTags, observed.Tags)
}

func deploymentConfigurationMatches(dc *ecsv1alpha1.DeploymentConfiguration, observed *ecstypes.DeploymentConfiguration) bool {
	if dc == nil {
		return true
	}
	if observed == nil {
		observed = &ecstypes.DeploymentConfiguration{}
	}
	// A member ECS leaves out of its answer has its documented default.
	if dc.MaximumPercent != nil && *dc.MaximumPercent != valueOr(observed.MaximumPercent, DefaultMaximumPercent) {
		return false
	}
	if dc.MinimumHealthyPercent != nil && *dc.MinimumHealthyPercent != valueOr(observed.MinimumHealthyPercent, DefaultMinimumHealthyPercent) {
		return false
	}
	if !alarmsMatch(dc.Alarms, observed.Alarms) {
		return false
	}
	if cb := dc.DeploymentCircuitBreaker; cb != nil {
		ob := observed.DeploymentCircuitBreaker
		if ob == nil {
			return !cb.Enable && !cb.Rollback
		}
		return cb.Enable == ob.Enable && cb.Rollback == ob.Rollback
	}
	return true
}

func networkConfigurationMatches(nc *ecsv1alpha1.NetworkConfiguration, observed *ecstypes.NetworkConfiguration) bool {
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return true
	}
	want := nc.AwsvpcConfiguration
	var got ecstypes.AwsVpcConfiguration
	if observed != nil && observed.AwsvpcConfiguration != nil {
		got = *observed.AwsvpcConfiguration
	}
	if want.AssignPublicIp != "" && want.AssignPublicIp != string(got.AssignPublicIp) {
		return false
	}
	return sameSet(want.Subnets, got.Subnets) && (len(want.SecurityGroups) == 0 || sameSet(want.SecurityGroups, got.SecurityGroups))
}

func loadBalancersMatch(want []ecsv1alpha1.LoadBalancer, got []ecstypes.LoadBalancer) bool {
	key := func(tg, name, container string, port int32) string {
		return strings.Join([]string{tg, name, container, strconv.Itoa(int(port))}, "|")
	}
	var a, b []string
	for _, lb := range want {
		a = append(a, key(lb.TargetGroupArn, lb.LoadBalancerName, lb.ContainerName, lb.ContainerPort))
	}
	for _, lb := range got {
		b = append(b, key(aws.ToString(lb.TargetGroupArn), aws.ToString(lb.LoadBalancerName), aws.ToString(lb.ContainerName), aws.ToInt32(lb.ContainerPort)))
	}
	return sameSet(a, b)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TaskDefinitionMatches reports whether the task definition ARN ECS reports is what want
// designates: the same ARN, the same family:revision, or (for a bare family) the same family.
func TaskDefinitionMatches(want, arn string) bool {
	if want == arn {
		return true
	}
	if strings.HasPrefix(want, "arn:") {
		return false
	}
	familyRev := arn[strings.LastIndex(arn, "/")+1:]
	if strings.Contains(want, ":") {
		return want == familyRev
	}
	family, _, _ := strings.Cut(familyRev, ":")
	return want == family
}

// Revision returns the revision number of a task definition ARN, 0 when it has none.
func Revision(arn string) int32 {
	i := strings.LastIndex(arn, ":")
	if i < 0 {
		return 0
	}
	n, err := strconv.ParseInt(arn[i+1:], 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// MirrorStatus copies what ECS reports into status (conditions and events aside).
func MirrorStatus(st *ecsv1alpha1.ServiceStatus, observed *ecstypes.Service) {
	st.ServiceArn = aws.ToString(observed.ServiceArn)
	st.ServiceName = aws.ToString(observed.ServiceName)
	st.ClusterArn = aws.ToString(observed.ClusterArn)
	st.Status = aws.ToString(observed.Status)
	st.DesiredCount = observed.DesiredCount
	st.RunningCount = observed.RunningCount
	st.PendingCount = observed.PendingCount
	st.TaskDefinition = aws.ToString(observed.TaskDefinition)
	st.RolloutState = ""
	st.Deployments = nil
	for _, d := range observed.Deployments {
		dep := deployment(d)
		if dep.Status == "PRIMARY" {
			st.RolloutState = dep.RolloutState
			if st.TaskDefinition == "" {
				st.TaskDefinition = dep.TaskDefinition
			}
		}
		st.Deployments = append(st.Deployments, dep)
	}
	st.Revision = Revision(st.TaskDefinition)
}

func deployment(d ecstypes.Deployment) ecsv1alpha1.Deployment {
	out := ecsv1alpha1.Deployment{
		ID:                 aws.ToString(d.Id),
		Status:             aws.ToString(d.Status),
		TaskDefinition:     aws.ToString(d.TaskDefinition),
		DesiredCount:       d.DesiredCount,
		RunningCount:       d.RunningCount,
		PendingCount:       d.PendingCount,
		FailedTasks:        d.FailedTasks,
		RolloutState:       ecsv1alpha1.DeploymentRolloutState(d.RolloutState),
		RolloutStateReason: aws.ToString(d.RolloutStateReason),
	}
	if d.CreatedAt != nil {
		out.CreatedAt = &metav1.Time{Time: d.CreatedAt.UTC().Truncate(1e9)}
	}
	if d.UpdatedAt != nil {
		out.UpdatedAt = &metav1.Time{Time: d.UpdatedAt.UTC().Truncate(1e9)}
	}
	return out
}

// Readiness derives the Ready condition from what ECS reports and the task definition the
// controller applied.
func Readiness(st *ecsv1alpha1.ServiceStatus) (bool, string, string) {
	if st.Status != "ACTIVE" {
		return false, managed.ReasonNotActive, fmt.Sprintf("ECS reports the service %s", st.Status)
	}
	primary := primaryDeployment(st)
	if primary != nil && primary.RolloutState == ecsv1alpha1.RolloutFailed {
		return false, managed.ReasonRolloutFailed, fmt.Sprintf("the rollout of %s failed (%s): fix the TaskDefinition or the Service spec; the next change rolls out again",
			primary.TaskDefinition, primary.RolloutStateReason)
	}
	if st.AppliedTaskDefinition != "" && !TaskDefinitionMatches(st.AppliedTaskDefinition, st.TaskDefinition) && len(st.Deployments) <= 1 {
		return false, managed.ReasonRolloutFailed, fmt.Sprintf("ECS runs %s instead of %s (rolled back by the deployment circuit breaker?): fix the TaskDefinition; its next revision rolls out again",
			st.TaskDefinition, st.AppliedTaskDefinition)
	}
	inProgress := primary != nil && primary.RolloutState == ecsv1alpha1.RolloutInProgress
	if inProgress || len(st.Deployments) > 1 || st.RunningCount != st.DesiredCount {
		return false, managed.ReasonRolloutInProgress, fmt.Sprintf("%d of %d tasks running, %d pending, revision %d", st.RunningCount, st.DesiredCount, st.PendingCount, st.Revision)
	}
	return true, managed.ReasonRolloutComplete, fmt.Sprintf("%d of %d tasks running revision %d", st.RunningCount, st.DesiredCount, st.Revision)
}

func primaryDeployment(st *ecsv1alpha1.ServiceStatus) *ecsv1alpha1.Deployment {
	for i := range st.Deployments {
		if st.Deployments[i].Status == "PRIMARY" {
			return &st.Deployments[i]
		}
	}
	return nil
}

// Fingerprint summarises what, when it changes, needs a reconciliation of the Service.
func Fingerprint(s *ecstypes.Service) string {
	if s == nil {
		return "missing"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%d|%d|%d|%s|%s", aws.ToString(s.Status), s.DesiredCount, s.RunningCount, s.PendingCount,
		aws.ToString(s.TaskDefinition), string(s.SchedulingStrategy))
	for _, d := range s.Deployments {
		fmt.Fprintf(&b, "|%s:%s:%s:%d:%d:%d:%d", aws.ToString(d.Id), aws.ToString(d.Status), d.RolloutState,
			d.DesiredCount, d.RunningCount, d.PendingCount, d.FailedTasks)
	}
	if len(s.Events) > 0 {
		fmt.Fprintf(&b, "|%s", aws.ToString(s.Events[0].Id))
	}
	return b.String()
}

// Stable reports a service at rest: active, one completed deployment, all tasks running.
func Stable(s *ecstypes.Service) bool {
	if s == nil {
		return true
	}
	if aws.ToString(s.Status) != "ACTIVE" {
		return aws.ToString(s.Status) == "INACTIVE"
	}
	if len(s.Deployments) != 1 || s.RunningCount != s.DesiredCount || s.PendingCount != 0 {
		return false
	}
	return s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress
}
