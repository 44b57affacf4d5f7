package api_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

func createWeb(t *testing.T, e *env, name string, desired int32) *ecstypes.Service {
	t.Helper()
	out := must[*ecs.CreateServiceOutput](t)(e.ecs.CreateService(context.Background(), &ecs.CreateServiceInput{
		ServiceName: aws.String(name), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(desired),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"local"}}},
		Tags:                 []ecstypes.Tag{{Key: aws.String("app"), Value: aws.String(name)}},
	}))
	return out.Service
}

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	svc := createWeb(t, e, "api", 2)
	d := checkNewService(t, e, svc)
	checkServiceUpdates(t, e, svc)
	checkServiceReads(t, e)
	checkServiceDeletion(t, e, aws.ToString(d.Id))
	_, _, changed := e.engine.calls()
	if len(changed) < 7 {
		t.Errorf("engine told of %d service changes: %v", len(changed), changed)
	}
}

func checkNewService(t *testing.T, e *env, svc *ecstypes.Service) ecstypes.Deployment {
	t.Helper()
	ctx := context.Background()
	if aws.ToString(svc.ServiceArn) != "arn:aws:ecs:us-east-1:000000000000:service/default/api" || aws.ToString(svc.Status) != "ACTIVE" ||
		svc.DesiredCount != 2 || svc.SchedulingStrategy != ecstypes.SchedulingStrategyReplica || svc.LaunchType != ecstypes.LaunchTypeFargate {
		t.Errorf("new service: %+v", svc)
	}
	dc := svc.DeploymentConfiguration
	if aws.ToInt32(dc.MaximumPercent) != 200 || aws.ToInt32(dc.MinimumHealthyPercent) != 100 || dc.DeploymentCircuitBreaker == nil || dc.DeploymentCircuitBreaker.Enable {
		t.Errorf("default deploymentConfiguration: %+v", dc)
	}
	if len(svc.Deployments) != 1 {
		t.Fatalf("deployments: %+v", svc.Deployments)
	}
	d := svc.Deployments[0]
	if !regexp.MustCompile(`^ecs-svc/\d{19}$`).MatchString(aws.ToString(d.Id)) || aws.ToString(d.Status) != "PRIMARY" ||
		d.RolloutState != ecstypes.DeploymentRolloutStateInProgress || d.DesiredCount != 2 ||
		aws.ToString(d.RolloutStateReason) != "ECS deployment "+aws.ToString(d.Id)+" in progress." {
		t.Errorf("first deployment: %+v", d)
	}
	// same name, same parameters: the same service; different parameters: refused
	same := createWeb(t, e, "api", 2)
	if aws.ToString(same.Deployments[0].Id) != aws.ToString(d.Id) {
		t.Errorf("an identical CreateService created a new deployment")
	}
	_, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("api"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(5)})
	wantAPIError(t, err, "InvalidParameterException", "not idempotent")
	return d
}

func checkServiceUpdates(t *testing.T, e *env, svc *ecstypes.Service) {
	t.Helper()
	ctx := context.Background()
	// desiredCount only: no new deployment
	up := must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"), DesiredCount: aws.Int32(4)}))
	if len(up.Service.Deployments) != 1 || up.Service.DesiredCount != 4 || up.Service.Deployments[0].DesiredCount != 4 {
		t.Errorf("scaled: %+v", up.Service.Deployments)
	}
	// a new revision: new PRIMARY, old one ACTIVE; deploymentConfiguration merges
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	up = must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
		Service: svc.ServiceArn, TaskDefinition: aws.String("web"),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50)},
	}))
	got := up.Service
	if len(got.Deployments) != 2 || aws.ToString(got.Deployments[0].Status) != "PRIMARY" || aws.ToString(got.Deployments[1].Status) != "ACTIVE" ||
		aws.ToString(got.Deployments[0].TaskDefinition) != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2" ||
		aws.ToString(got.TaskDefinition) != aws.ToString(got.Deployments[0].TaskDefinition) {
		t.Errorf("rollout deployments: %+v", got.Deployments)
	}
	if aws.ToInt32(got.DeploymentConfiguration.MinimumHealthyPercent) != 50 || aws.ToInt32(got.DeploymentConfiguration.MaximumPercent) != 200 {
		t.Errorf("merged deploymentConfiguration: %+v", got.DeploymentConfiguration)
	}
	lb := must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"),
		LoadBalancers: []ecstypes.LoadBalancer{{ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080), TargetGroupArn: aws.String(putTargetGroup(t, e.store))}}}))
	if len(lb.Service.Deployments) != 3 || len(lb.Service.LoadBalancers) != 1 {
		t.Errorf("a load balancer change: %d deployments, %d load balancers", len(lb.Service.Deployments), len(lb.Service.LoadBalancers))
	}
	forced := must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"), ForceNewDeployment: true}))
	if len(forced.Service.Deployments) != 4 {
		t.Errorf("forceNewDeployment: %d deployments, want 4", len(forced.Service.Deployments))
	}
}

func checkServiceReads(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	createWeb(t, e, "worker", 0)
	list := must[*ecs.ListServicesOutput](t)(e.ecs.ListServices(ctx, &ecs.ListServicesInput{}))
	if len(list.ServiceArns) != 2 {
		t.Errorf("ListServices: %v", list.ServiceArns)
	}
	desc := must[*ecs.DescribeServicesOutput](t)(e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Services: []string{"api", "arn:aws:ecs:us-east-1:000000000000:service/default/worker", "nope"},
		Include:  []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
	}))
	if len(desc.Services) != 2 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" ||
		aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:000000000000:service/default/nope" {
		t.Fatalf("describe: %d services, failures %+v", len(desc.Services), desc.Failures)
	}
	if diff := cmp.Diff([]string{"app=api"}, tagStrings(desc.Services[0].Tags)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

}

func checkServiceDeletion(t *testing.T, e *env, firstDeployment string) {
	t.Helper()
	ctx := context.Background()
	// delete: refused while scaled up without force; DRAINING with force; the cluster stays until INACTIVE
	_, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("api")})
	wantAPIError(t, err, "InvalidParameterException", "desiredCount", "force")
	del := must[*ecs.DeleteServiceOutput](t)(e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("api"), Force: aws.Bool(true)}))
	if aws.ToString(del.Service.Status) != "DRAINING" || del.Service.DesiredCount != 0 {
		t.Errorf("deleted: %s %d", aws.ToString(del.Service.Status), del.Service.DesiredCount)
	}
	must[*ecs.DeleteServiceOutput](t)(e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("worker")}))
	_, err = e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"), DesiredCount: aws.Int32(1)})
	wantAPIError(t, err, "ServiceNotActiveException", "api")
	_, err = e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("api"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	wantAPIError(t, err, "InvalidParameterException", "Draining")
	_, err = e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("default")})
	wantAPIError(t, err, "ClusterContainsServicesException", "api")

	if got := must[*ecs.ListServicesOutput](t)(e.ecs.ListServices(ctx, &ecs.ListServicesInput{})).ServiceArns; len(got) != 0 {
		t.Errorf("ListServices lists DRAINING services: %v", got)
	}
	// the scheduler finishes draining; then the name can be used again and the cluster deleted
	finishDraining(t, e, "default", "api", "worker")
	if got := must[*ecs.ListServicesOutput](t)(e.ecs.ListServices(ctx, &ecs.ListServicesInput{})).ServiceArns; len(got) != 0 {
		t.Errorf("ListServices lists INACTIVE services: %v", got)
	}
	again := createWeb(t, e, "api", 1)
	if aws.ToString(again.Status) != "ACTIVE" || aws.ToString(again.Deployments[0].Id) == firstDeployment {
		t.Errorf("re-created service: %+v", again)
	}
}

// finishDraining does what the scheduler does once a deleted service has no tasks left.
func finishDraining(t *testing.T, e *env, cluster string, names ...string) {
	t.Helper()
	err := e.store.Update(func(tx *store.Tx) error {
		for _, n := range names {
			rec, err := tx.GetService(cluster, n)
			if err != nil {
				return err
			}
			rec.Service.Status = model.StatusInactive
			if err := tx.PutService(cluster, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestServiceErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	createWeb(t, e, "api", 1)
	create := func(mut func(*ecs.CreateServiceInput)) func() error {
		return func() error {
			in := &ecs.CreateServiceInput{ServiceName: aws.String("new"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)}
			mut(in)
			_, err := e.ecs.CreateService(ctx, in)
			return err
		}
	}
	for name, tc := range map[string]struct {
		call  func() error
		code  string
		parts []string
	}{
		"no desiredCount": {create(func(in *ecs.CreateServiceInput) { in.DesiredCount = nil }), "InvalidParameterException", []string{"desiredCount"}},
		"no taskDef":      {create(func(in *ecs.CreateServiceInput) { in.TaskDefinition = nil }), "InvalidParameterException", []string{"taskDefinition"}},
		"unknown taskDef": {create(func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("nope") }), "ClientException", []string{"nope"}},
		"daemon":          {create(func(in *ecs.CreateServiceInput) { in.SchedulingStrategy = ecstypes.SchedulingStrategyDaemon }), "InvalidParameterException", []string{"schedulingStrategy"}},
		"min percent": {create(func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(150)}
		}), "InvalidParameterException", []string{"deploymentConfiguration.minimumHealthyPercent"}},
		"max percent": {create(func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(50)}
		}), "InvalidParameterException", []string{"deploymentConfiguration.maximumPercent"}},
		"long token":      {create(func(in *ecs.CreateServiceInput) { in.ClientToken = aws.String("0123456789012345678901234567890123456") }), "InvalidParameterException", []string{"clientToken", "36"}},
		"bad name":        {create(func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String("a b") }), "InvalidParameterException", []string{"serviceName"}},
		"unknown cluster": {create(func(in *ecs.CreateServiceInput) { in.Cluster = aws.String("nope") }), "ClusterNotFoundException", []string{"nope"}},
		"EC2":             {create(func(in *ecs.CreateServiceInput) { in.LaunchType = ecstypes.LaunchTypeEc2 }), "InvalidParameterException", []string{"launchType"}},
		"lb container": {create(func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []ecstypes.LoadBalancer{{ContainerName: aws.String("app"), ContainerPort: aws.Int32(9)}}
		}), "InvalidParameterException", []string{"loadBalancers[0]"}},
		"deployment alarm": {create(func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &ecstypes.DeploymentConfiguration{BakeTimeInMinutes: aws.Int32(1)}
		}), "InvalidParameterException", []string{"deploymentConfiguration.bakeTimeInMinutes", "not supported"}},
		"update missing": {func() error {
			_, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("nope"), DesiredCount: aws.Int32(1)})
			return err
		}, "ServiceNotFoundException", []string{"nope"}},
		"update inactive taskdef": {func() error {
			_, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"), TaskDefinition: aws.String("web:9")})
			return err
		}, "ClientException", []string{"web:9"}},
		"update lb port": {func() error {
			_, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"),
				LoadBalancers: []ecstypes.LoadBalancer{{ContainerName: aws.String("app"), ContainerPort: aws.Int32(9)}}})
			return err
		}, "InvalidParameterException", []string{"loadBalancers[0]"}},
		"delete missing": {func() error {
			_, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("nope")})
			return err
		}, "ServiceNotFoundException", []string{"nope"}},
		"describe 11": {func() error {
			_, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: make([]string, 11)})
			return err
		}, "InvalidParameterException", []string{"services", "1 to 10"}},
		"describe none": {func() error {
			_, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{}})
			return err
		}, "InvalidParameterException", []string{"services"}},
		"list bad cluster": {func() error {
			_, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("nope")})
			return err
		}, "ClusterNotFoundException", []string{"nope"}},
	} {
		t.Run(name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code, tc.parts...) })
	}
}

func TestCreateServiceClientToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	in := &ecs.CreateServiceInput{ServiceName: aws.String("a"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1), ClientToken: aws.String("tok")}
	first := must[*ecs.CreateServiceOutput](t)(e.ecs.CreateService(ctx, in))
	second := must[*ecs.CreateServiceOutput](t)(e.ecs.CreateService(ctx, in))
	if aws.ToString(first.Service.Deployments[0].Id) != aws.ToString(second.Service.Deployments[0].Id) {
		t.Error("a retried CreateService created a second deployment")
	}
	in.DesiredCount = aws.Int32(2)
	_, err := e.ecs.CreateService(ctx, in)
	wantAPIError(t, err, "InvalidParameterException", "clientToken")
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	svc := createWeb(t, e, "api", 1)
	task := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web")})).Tasks[0]
	for _, arn := range []string{
		"arn:aws:ecs:us-east-1:000000000000:cluster/default",
		"arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
		aws.ToString(svc.ServiceArn), aws.ToString(task.TaskArn),
	} {
		must[*ecs.TagResourceOutput](t)(e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []ecstypes.Tag{
			{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}))
		must[*ecs.TagResourceOutput](t)(e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []ecstypes.Tag{
			{Key: aws.String("a"), Value: aws.String("3")}}}))
		must[*ecs.UntagResourceOutput](t)(e.ecs.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"b"}}))
		got := must[*ecs.ListTagsForResourceOutput](t)(e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)}))
		want := []string{"a=3"}
		if arn == aws.ToString(svc.ServiceArn) {
			want = []string{"app=api", "a=3"}
		}
		if diff := cmp.Diff(want, tagStrings(got.Tags)); diff != "" {
			t.Errorf("%s tags (-want +got):\n%s", arn, diff)
		}
	}
	_, err := e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:service/default/nope"),
		Tags: []ecstypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	wantAPIError(t, err, "ResourceNotFoundException", "nope")
	_, err = e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("not-an-arn")})
	wantAPIError(t, err, "InvalidParameterException", "resourceArn")
	_, err = e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/nope")})
	wantAPIError(t, err, "ClusterNotFoundException", "nope")
	many := make([]ecstypes.Tag, 50)
	for i := range many {
		many[i] = ecstypes.Tag{Key: aws.String(string(rune('A'+i%26)) + string(rune('a'+i/26))), Value: aws.String("")}
	}
	_, err = e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: task.TaskArn, Tags: many})
	wantAPIError(t, err, "LimitExceededException", "50")
}

// TestListServicesPages: without maxResults ListServices returns 10 per page, as ECS does.
func TestListServicesPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	for i := range 12 {
		createWeb(t, e, fmt.Sprintf("s%02d", i), 0)
	}
	first := must[*ecs.ListServicesOutput](t)(e.ecs.ListServices(ctx, &ecs.ListServicesInput{}))
	if len(first.ServiceArns) != 10 || first.NextToken == nil {
		t.Fatalf("first page: %d services, nextToken %v", len(first.ServiceArns), first.NextToken)
	}
	second := must[*ecs.ListServicesOutput](t)(e.ecs.ListServices(ctx, &ecs.ListServicesInput{NextToken: first.NextToken}))
	if len(second.ServiceArns) != 2 || second.NextToken != nil {
		t.Fatalf("second page: %v, nextToken %v", second.ServiceArns, second.NextToken)
	}
}
