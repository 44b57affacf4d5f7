package cloudmap_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
)

func cloudMap(e *ecsmem.ECS) *servicediscovery.Client {
	return servicediscovery.New(servicediscovery.Options{
		Region: e.Region, BaseEndpoint: aws.String(e.Endpoint), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return e.Credentials, nil }),
	})
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// instances is the registry's view: instance ID → its AWS_INSTANCE_IPV4 and AWS_INSTANCE_PORT.
func instances(t *testing.T, sd *servicediscovery.Client, svcID *string) map[string][2]string {
	t.Helper()
	out := must[*servicediscovery.ListInstancesOutput](t)(sd.ListInstances(context.Background(), &servicediscovery.ListInstancesInput{ServiceId: svcID}))
	got := map[string][2]string{}
	for _, i := range out.Instances {
		got[aws.ToString(i.Id)] = [2]string{i.Attributes["AWS_INSTANCE_IPV4"], i.Attributes["AWS_INSTANCE_PORT"]}
	}
	return got
}

// runningTasks is the service's RUNNING tasks: task ID → its address and the registry port.
func runningTasks(t *testing.T, e *ecsmem.ECS, service string) map[string][2]string {
	t.Helper()
	ctx := context.Background()
	arns := must[*ecs.ListTasksOutput](t)(e.Client.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String(service), DesiredStatus: ecstypes.DesiredStatusRunning})).TaskArns
	want := map[string][2]string{}
	if len(arns) == 0 {
		return want
	}
	for _, task := range must[*ecs.DescribeTasksOutput](t)(e.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: arns})).Tasks {
		if aws.ToString(task.LastStatus) != "RUNNING" {
			continue
		}
		arn := aws.ToString(task.TaskArn)
		var ip string
		for _, d := range task.Attachments[0].Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				ip = aws.ToString(d.Value)
			}
		}
		want[arn[len(arn)-32:]] = [2]string{ip, "8080"}
	}
	return want
}

// eventually polls cond, a bounded number of times, 50 ms apart.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 400 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

// TestServiceRegistriesRegisterTasks: an ECS service with serviceRegistries registers each RUNNING
// task (its private address and the registry's port) in the Cloud Map service, follows scaling,
// and deregisters a task before its containers are stopped.
func TestServiceRegistriesRegisterTasks(t *testing.T) {
	ctx := context.Background()
	e := ecsmem.Start(t, ecsmem.Options{})
	sd := cloudMap(e)
	var mu sync.Mutex
	var listedAtStop []string
	var cmSvcID *string
	e.Runtime.BeforeStop = func(taskID string) {
		if _, ok := instances(t, sd, cmSvcID)[taskID]; ok {
			mu.Lock()
			listedAtStop = append(listedAtStop, taskID)
			mu.Unlock()
		}
	}
	op := must[*servicediscovery.CreatePrivateDnsNamespaceOutput](t)(sd.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("local"), Vpc: aws.String("vpc-1")}))
	nsID := must[*servicediscovery.GetOperationOutput](t)(sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: op.OperationId})).Operation.Targets["NAMESPACE"]
	cm := must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: aws.String("web"), NamespaceId: aws.String(nsID),
		DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(5)}, {Type: sdtypes.RecordTypeSrv, TTL: aws.Int64(5)}}}})).Service
	cmSvcID = cm.Id
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example.com/app:1"), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	}))
	must[*ecs.CreateServiceOutput](t)(e.Client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2),
		ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: cm.Arn, Port: aws.Int32(8080)}}}))

	same := func(n int) func() bool {
		return func() bool {
			want := runningTasks(t, e, "web")
			return len(want) == n && cmp.Equal(want, instances(t, sd, cm.Id))
		}
	}
	eventually(t, "two instances, the RUNNING tasks' addresses", same(2))
	_, err := sd.DeleteService(ctx, &servicediscovery.DeleteServiceInput{Id: cm.Id})
	if err == nil {
		t.Fatal("DeleteService of a Cloud Map service with registered tasks succeeded")
	}
	must[*ecs.UpdateServiceOutput](t)(e.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)}))
	eventually(t, "one instance after scaling in", same(1))
	eventually(t, "a task stopped", func() bool { return len(e.Runtime.Calls().Stop) > 0 })
	must[*ecs.UpdateServiceOutput](t)(e.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(3)}))
	eventually(t, "three instances after scaling out", same(3))
	must[*ecs.UpdateServiceOutput](t)(e.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(0)}))
	eventually(t, "no instance at desiredCount 0", same(0))
	eventually(t, "every task stopped", func() bool { return len(e.Runtime.Calls().Stop) >= 4 })
	mu.Lock()
	defer mu.Unlock()
	if len(listedAtStop) > 0 {
		t.Errorf("tasks still registered when their containers were stopped: %v", listedAtStop)
	}
	must[*servicediscovery.DeleteServiceOutput](t)(sd.DeleteService(ctx, &servicediscovery.DeleteServiceInput{Id: cm.Id}))
}

// TestServiceRegistriesFollowHealth: a task with a container health check is registered only
// while HEALTHY (the long grace period keeps the scheduler from replacing it meanwhile).
func TestServiceRegistriesFollowHealth(t *testing.T) {
	ctx := context.Background()
	e := ecsmem.Start(t, ecsmem.Options{})
	sd := cloudMap(e)
	op := must[*servicediscovery.CreatePrivateDnsNamespaceOutput](t)(sd.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("local"), Vpc: aws.String("vpc-1")}))
	nsID := must[*servicediscovery.GetOperationOutput](t)(sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: op.OperationId})).Operation.Targets["NAMESPACE"]
	cm := must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: aws.String("web"), NamespaceId: aws.String(nsID),
		DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(5)}}}})).Service
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example.com/app:1"),
			HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "true"}}}},
	}))
	must[*ecs.CreateServiceOutput](t)(e.Client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1),
		HealthCheckGracePeriodSeconds: aws.Int32(3600), ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: cm.Arn}}}))
	var id string
	eventually(t, "a RUNNING task", func() bool {
		for tid := range runningTasks(t, e, "web") {
			id = tid
		}
		return id != ""
	})
	count := func(n int) func() bool { return func() bool { return len(instances(t, sd, cm.Id)) == n } }
	// The fake runtime starts a container with a health check HEALTHY.
	eventually(t, "the HEALTHY task registered", count(1))
	e.Runtime.SetHealth(id, "app", "UNHEALTHY")
	eventually(t, "the task deregistered once UNHEALTHY", count(0))
	e.Runtime.SetHealth(id, "app", "HEALTHY")
	eventually(t, "the task registered again once HEALTHY", count(1))
}

// TestServiceConnectRegistersTasks: a service's Service Connect service (discoveryName) is a Cloud
// Map service in which its RUNNING tasks are registered with the container port of portName.
func TestServiceConnectRegistersTasks(t *testing.T) {
	ctx := context.Background()
	e := ecsmem.Start(t, ecsmem.Options{})
	sd := cloudMap(e)
	must[*servicediscovery.CreateHttpNamespaceOutput](t)(sd.CreateHttpNamespace(ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("shop")}))
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example.com/app:1"),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), Name: aws.String("http")}}}},
	}))
	out := must[*ecs.CreateServiceOutput](t)(e.Client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2),
		ServiceConnectConfiguration: &ecstypes.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String("shop"), Services: []ecstypes.ServiceConnectService{{
			PortName: aws.String("http"), DiscoveryName: aws.String("web-http"), ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(80), DnsName: aws.String("web")}}}}}}))
	res := out.Service.Deployments[0].ServiceConnectResources
	if len(res) != 1 || aws.ToString(res[0].DiscoveryName) != "web-http" {
		t.Fatalf("serviceConnectResources %+v", res)
	}
	arn := aws.ToString(res[0].DiscoveryArn)
	id := aws.String(arn[strings.LastIndex(arn, "/")+1:])
	eventually(t, "the 2 RUNNING tasks registered with the container port", func() bool {
		want := runningTasks(t, e, "web")
		return len(want) == 2 && cmp.Equal(want, instances(t, sd, id))
	})
	must[*ecs.UpdateServiceOutput](t)(e.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(0)}))
	eventually(t, "no instance at desiredCount 0", func() bool { return len(instances(t, sd, id)) == 0 })
}
