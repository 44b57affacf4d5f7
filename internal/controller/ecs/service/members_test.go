package service

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/spectest"
)

const (
	create   = "CreateService"
	update   = "UpdateService"
	tagCalls = "TagResource / UntagResource"
)

// members classifies every member of ServiceSpec by the path its change takes. Which UpdateService
// members start a deployment is what the ECS model documents for each ("This parameter triggers a
// new service deployment"); the ones ECS cannot change are those CreateService has and
// UpdateService lacks (serviceName, launchType, schedulingStrategy; cluster "can't change").
var members = map[string]spectest.Member{
	"serviceName":        {Path: spectest.CreateOnly, Call: create, Why: "defaults to metadata.name; CRD rule and RecreateRequired"},
	"cluster":            {Path: spectest.CreateOnly, Call: create, Why: "CRD rule and RecreateRequired"},
	"clusterRef.name":    {Path: spectest.CreateOnly, Call: create, Why: "resolved to the Cluster's ECS cluster; CRD rule and RecreateRequired"},
	"launchType":         {Path: spectest.CreateOnly, Call: create, Why: "CRD rule; set later to another value than ECS has: RecreateRequired"},
	"schedulingStrategy": {Path: spectest.CreateOnly, Call: create, Why: "CRD rule; set later to another value than ECS has: RecreateRequired"},

	"taskDefinition": {Path: spectest.NewDeployment, Call: update},
	"taskDefinitionRef.name": {Path: spectest.NewDeployment, Call: update,
		Why: "resolved to the TaskDefinition's newest revision; a tag change of that TaskDefinition registers no revision, so rolls nothing"},
	"platformVersion": {Path: spectest.NewDeployment, Call: update},
	"networkConfiguration.awsvpcConfiguration.subnets":        {Path: spectest.NewDeployment, Call: update},
	"networkConfiguration.awsvpcConfiguration.securityGroups": {Path: spectest.NewDeployment, Call: update},
	"networkConfiguration.awsvpcConfiguration.assignPublicIp": {Path: spectest.NewDeployment, Call: update},
	"loadBalancers[].containerName":                           {Path: spectest.NewDeployment, Call: update},
	"loadBalancers[].containerPort":                           {Path: spectest.NewDeployment, Call: update},
	"loadBalancers[].loadBalancerName":                        {Path: spectest.NewDeployment, Call: update},
	"loadBalancers[].targetGroupArn":                          {Path: spectest.NewDeployment, Call: update},

	"desiredCount":                                              {Path: spectest.InPlace, Call: update},
	"deploymentConfiguration.maximumPercent":                    {Path: spectest.InPlace, Call: update},
	"deploymentConfiguration.minimumHealthyPercent":             {Path: spectest.InPlace, Call: update},
	"deploymentConfiguration.deploymentCircuitBreaker.enable":   {Path: spectest.InPlace, Call: update},
	"deploymentConfiguration.deploymentCircuitBreaker.rollback": {Path: spectest.InPlace, Call: update},
	"healthCheckGracePeriodSeconds":                             {Path: spectest.InPlace, Call: update},
	"enableExecuteCommand":                                      {Path: spectest.InPlace, Call: update, Why: "running tasks keep theirs until replaced (ECS)"},
	"enableECSManagedTags":                                      {Path: spectest.InPlace, Call: update, Why: "tasks started after the update get the managed tags (ECS)"},
	"propagateTags":                                             {Path: spectest.InPlace, Call: update, Why: "tasks started after the update get the propagated tags (ECS)"},
	"tags[].key":                                                {Path: spectest.InPlace, Call: tagCalls, Why: "also sent by CreateService"},
	"tags[].value":                                              {Path: spectest.InPlace, Call: tagCalls, Why: "also sent by CreateService"},

	// members_service_types.go
	"capacityProviderStrategy[].capacityProvider":                                              {Path: spectest.InPlace, Call: update, Why: "tasks started afterwards follow it (ECS: no new deployment)"},
	"capacityProviderStrategy[].weight":                                                        {Path: spectest.InPlace, Call: update, Why: "tasks started afterwards follow it (ECS: no new deployment)"},
	"capacityProviderStrategy[].base":                                                          {Path: spectest.InPlace, Call: update, Why: "tasks started afterwards follow it (ECS: no new deployment)"},
	"placementConstraints[].type":                                                              {Path: spectest.InPlace, Call: update},
	"placementConstraints[].expression":                                                        {Path: spectest.InPlace, Call: update},
	"placementStrategy[].type":                                                                 {Path: spectest.InPlace, Call: update},
	"placementStrategy[].field":                                                                {Path: spectest.InPlace, Call: update},
	"deploymentController.type":                                                                {Path: spectest.InPlace, Call: update},
	"deploymentConfiguration.alarms.alarmNames":                                                {Path: spectest.InPlace, Call: update},
	"deploymentConfiguration.alarms.enable":                                                    {Path: spectest.InPlace, Call: update},
	"deploymentConfiguration.alarms.rollback":                                                  {Path: spectest.InPlace, Call: update},
	"serviceRegistries[].registryArn":                                                          {Path: spectest.NewDeployment, Call: update},
	"serviceRegistries[].port":                                                                 {Path: spectest.NewDeployment, Call: update},
	"serviceRegistries[].containerName":                                                        {Path: spectest.NewDeployment, Call: update},
	"serviceRegistries[].containerPort":                                                        {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.enabled":                                                      {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.namespace":                                                    {Path: spectest.NewDeployment, Call: update, Why: "compared when ECS reports it as given (an ARN)"},
	"serviceConnectConfiguration.services[].portName":                                          {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].discoveryName":                                     {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].ingressPortOverride":                               {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].clientAliases[].port":                              {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].clientAliases[].dnsName":                           {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].timeout.idleTimeoutSeconds":                        {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].timeout.perRequestTimeoutSeconds":                  {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].tls.issuerCertificateAuthority.awsPcaAuthorityArn": {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].tls.kmsKey":                                        {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.services[].tls.roleArn":                                       {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.logConfiguration.logDriver":                                   {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.logConfiguration.options":                                     {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.logConfiguration.secretOptions[].name":                        {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.logConfiguration.secretOptions[].valueFrom":                   {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.accessLogConfiguration.format":                                {Path: spectest.NewDeployment, Call: update},
	"serviceConnectConfiguration.accessLogConfiguration.includeQueryParameters":                {Path: spectest.NewDeployment, Call: update},
}

// resolve stands in for managed.ResolveCluster and managed.ResolveTaskDefinition: a reference names an
// object whose ECS name is its own.
func resolve(svc *ecsv1alpha1.Service) (cluster, td string) {
	cluster, td = svc.Spec.Cluster, svc.Spec.TaskDefinition
	if r := svc.Spec.ClusterRef; r != nil {
		cluster = r.Name
	}
	if r := svc.Spec.TaskDefinitionRef; r != nil {
		td = r.Name
	}
	return cluster, td
}

// observedFrom is the service ECS creates from in, as DescribeServices (include TAGS) reports it.
func observedFrom(in *ecs.CreateServiceInput) *ecstypes.Service {
	cluster := aws.ToString(in.Cluster)
	return &ecstypes.Service{
		ServiceArn:  aws.String("arn:aws:ecs:us-east-1:000000000000:service/" + cluster + "/" + aws.ToString(in.ServiceName)),
		ServiceName: in.ServiceName, ClusterArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/" + cluster),
		Status: aws.String("ACTIVE"), TaskDefinition: in.TaskDefinition, DesiredCount: aws.ToInt32(in.DesiredCount),
		LaunchType: in.LaunchType, PlatformVersion: in.PlatformVersion, SchedulingStrategy: in.SchedulingStrategy,
		DeploymentConfiguration: in.DeploymentConfiguration, NetworkConfiguration: in.NetworkConfiguration,
		LoadBalancers: in.LoadBalancers, HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
		EnableECSManagedTags: in.EnableECSManagedTags, PropagateTags: in.PropagateTags,
		EnableExecuteCommand: in.EnableExecuteCommand, Tags: in.Tags,
		CapacityProviderStrategy: in.CapacityProviderStrategy, PlacementConstraints: in.PlacementConstraints,
		PlacementStrategy: in.PlacementStrategy, ServiceRegistries: in.ServiceRegistries, DeploymentController: in.DeploymentController,
		Deployments: []ecstypes.Deployment{{Status: aws.String("PRIMARY"), ServiceConnectConfiguration: in.ServiceConnectConfiguration}},
	}
}

// fullService is a Service with every spec member set, created in ECS and reconciled once: its
// status is what the controller recorded, observed what ECS reports. path names the member the
// caller is about to change; of cluster / clusterRef and taskDefinition / taskDefinitionRef, the
// one it names is the one set.
func fullService(t *testing.T, path string) (*ecsv1alpha1.Service, *ecstypes.Service) {
	svc := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-web"}}
	spectest.Fill(t, &svc.Spec)
	if path == "cluster" {
		svc.Spec.ClusterRef = nil
	}
	if path == "taskDefinition" {
		svc.Spec.TaskDefinitionRef = nil
	}
	cluster, td := resolve(svc)
	observed := observedFrom(CreateInput(svc, cluster, td))
	svc.Status.ClusterArn = aws.ToString(observed.ClusterArn)
	svc.Status.AppliedTaskDefinition = td
	svc.Status.AppliedTags = inplace.Applied(svc.Spec.Tags)
	return svc, observed
}

// TestSpecMembers: every member of ServiceSpec is classified, and the classification holds for a
// Service with every member set. At rest nothing is sent. Changing one member: an UpdateService
// member makes an UpdateService request that names it and nothing else; a tag makes a
// TagResource / UntagResource change and no UpdateService; a create-only member is refused by
// name. Every member reaches CreateService.
func TestSpecMembers(t *testing.T) {
	spectest.Classified(reflect.TypeFor[ecsv1alpha1.ServiceSpec](), members, t.Errorf)
	for path, m := range members {
		t.Run(path, func(t *testing.T) {
			base, observed := fullService(t, path)
			baseCluster, baseTD := resolve(base)
			cluster, td := baseCluster, baseTD
			if in, changed := UpdateInput(base, td, observed); in != nil {
				t.Fatalf("a Service with every member set and nothing changed sends UpdateService for %v", changed)
			}
			if c := CreateOnlyChange(base, cluster, observed); c != nil || !TagChange(base, observed).Empty() {
				t.Fatalf("a Service with nothing changed: create-only change %+v, tag change %+v", c, TagChange(base, observed))
			}

			svc := base.DeepCopy()
			spectest.Change(t, &svc.Spec, path)
			cluster, td = resolve(svc)
			if cmp.Equal(CreateInput(base, baseCluster, baseTD), CreateInput(svc, cluster, td), sdkTypes) {
				t.Errorf("a change of %s does not reach CreateService", path)
			}
			in, changed := UpdateInput(svc, td, observed)
			tags := TagChange(svc, observed)
			refused := CreateOnlyChange(svc, cluster, observed)
			top := strings.TrimSuffix(spectest.Top(path), "Ref")
			switch {
			case m.Call == update:
				if in == nil || !slices.Equal(changed, []string{top}) {
					t.Errorf("a change of %s: UpdateService for %v, want for [%s]", path, changed, top)
				}
				if !tags.Empty() || refused != nil {
					t.Errorf("a change of %s also makes a tag change %+v or a refusal %+v", path, tags, refused)
				}
			case m.Call == tagCalls:
				if tags.Empty() {
					t.Errorf("a change of %s makes no TagResource / UntagResource change", path)
				}
				if in != nil || refused != nil {
					t.Errorf("a change of %s also sends UpdateService for %v or is refused: %+v", path, changed, refused)
				}
			case m.Path == spectest.CreateOnly:
				if refused == nil || refused.Member != "spec."+spectest.Top(path) {
					t.Errorf("a change of %s is not refused by name: %+v", path, refused)
				} else if msg := refused.Message("Service"); !strings.Contains(msg, "delete this Service and create a new one") {
					t.Errorf("the refusal does not say what to do: %s", msg)
				}
				if !spectest.RefusedByCRD(t, "Service", spectest.Top(path)) {
					t.Errorf("the CRD has no rule refusing a change of %s", path)
				}
			default:
				t.Errorf("%s: no check for path %s, call %s", path, m.Path, m.Call)
			}
		})
	}
	t.Logf("Service spec members:\n%s", spectest.Table(members))
}
