package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/controllertest"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// Identifiers in EC2's form, as the strict data plane wants them.
const (
	clusterSubnet = "subnet-0123456789abcdef0"
	flagGroup     = "sg-0123456789abcdef0"
)

// TestFargateDefaultsInMemory runs the controllers against the in-memory ECS in strict mode,
// which refuses awsvpc launches without networkConfiguration as Fargate does. Services and Tasks
// whose spec has none launch with their Cluster's spec.defaults (subnets) completed by the
// controller's defaults (security groups), and ECS reports them (the service's
// networkConfiguration, the task's ENI subnet); a Service in a cluster without defaults is
// refused by ECS, naming networkConfiguration; what Fargate refuses of a spec is refused before
// any ECS call (FargateRefused, naming the spec field).
func TestFargateDefaultsInMemory(t *testing.T) {
	c, env := kube(t)
	e := ecsmem.Start(t, ecsmem.Options{Strict: true})
	api := ecsapi.NewCounting(e.Client)
	controllertest.Run(t, controller.Config{
		RestConfig: env.Config, ECS: api, Limits: controller.NoRateLimit(),
		Controllers: managed.Options{
			PollInterval: 300 * time.Millisecond, StablePollInterval: 2 * time.Second,
			Defaults: fargate.Defaults{SecurityGroups: []string{flagGroup}},
		},
		SyncPeriod: time.Second, Namespaces: []string{env.Namespace}, AllowRestart: true,
	})
	f := &faultEnv{scenario: &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: testImage}, ecs: e, cfg: env.Config}
	ns := env.Namespace

	cl, td, svc := newObjects(ns, testImage)
	// In the other controller's spelling (awsVPCConfiguration), which the defaults honour as an alias.
	cl.Spec.Defaults = &ecsv1alpha1.ClusterDefaults{NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{
		NetworkConfigurationAliases: ecsv1alpha1.NetworkConfigurationAliases{
			AwsVPCConfiguration: &ecsv1alpha1.AwsVpcConfiguration{Subnets: []string{clusterSubnet}},
		},
	}}
	svc.Spec.DesiredCount = aws.Int32(1)
	task := &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: ns}, Spec: ecsv1alpha1.TaskSpec{
		Cluster: ns, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"}, // the Cluster by its ECS name
	}}
	f.create(cl, td, svc, task)
	f.hasCondition(svc, func() []metav1.Condition { return svc.Status.Conditions }, ecsv1alpha1.ConditionReady, metav1.ConditionTrue, managed.ReasonRolloutComplete)

	out, err := e.Client.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(ns), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 || out.Services[0].NetworkConfiguration == nil {
		t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	a := out.Services[0].NetworkConfiguration.AwsvpcConfiguration
	if strings.Join(a.Subnets, ",") != clusterSubnet || strings.Join(a.SecurityGroups, ",") != flagGroup {
		t.Errorf("the service's awsvpcConfiguration: subnets %v, security groups %v; want the Cluster's %s and the flag's %s", a.Subnets, a.SecurityGroups, clusterSubnet, flagGroup)
	}
	var taskArn string
	eventually(t, 60*time.Second, "the Task runs", func() (bool, string) {
		if err := f.c.Get(f.ctx, client.ObjectKeyFromObject(task), task); err != nil {
			return false, err.Error()
		}
		taskArn = task.Status.TaskArn
		return taskArn != "", "no taskArn yet"
	})
	tasks, err := e.Client.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String(ns), Tasks: []string{taskArn}})
	if err != nil || len(tasks.Tasks) != 1 {
		t.Fatalf("DescribeTasks: %v %+v", err, tasks)
	}
	if got := eniSubnet(tasks.Tasks[0].Attachments); got != clusterSubnet {
		t.Errorf("the task's ENI is in subnet %q, want the Cluster's %s", got, clusterSubnet)
	}

	// A cluster without defaults (and no --default-subnets): the strict data plane refuses, as ECS.
	bare := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: ns}, Spec: ecsv1alpha1.ClusterSpec{ClusterName: ns + "-bare"}}
	lone := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "lone", Namespace: ns}, Spec: ecsv1alpha1.ServiceSpec{
		ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "bare"}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"}, DesiredCount: aws.Int32(1),
	}}
	f.create(bare, lone)
	msg := f.hasCondition(lone, func() []metav1.Condition { return lone.Status.Conditions }, ecsv1alpha1.ConditionSynced, metav1.ConditionFalse, "InvalidSpec")
	if !strings.Contains(msg, "networkConfiguration") || !strings.Contains(msg, "InvalidParameterException") {
		t.Errorf("InvalidSpec message %q does not name networkConfiguration and ECS's error", msg)
	}

	// Refused before any ECS call, naming the spec field (FargateRefused is the controllers'
	// reason; ECS's own refusals are InvalidSpec): nothing of them reaches ECS.
	badTD := &ecsv1alpha1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Name: "ports", Namespace: ns}, Spec: ecsv1alpha1.TaskDefinitionSpec{
		Family: ns + "-ports", Cpu: "256", Memory: "512", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
		ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "app", Image: testImage,
			PortMappings: []ecsv1alpha1.PortMapping{{ContainerPort: 80, HostPort: aws.Int32(8080)}}}},
	}}
	badSvc := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: ns}, Spec: ecsv1alpha1.ServiceSpec{
		ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "c1"}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
		DesiredCount: aws.Int32(1), PlatformVersion: "1.2.0",
	}}
	f.create(badTD, badSvc)
	msg = f.hasCondition(badTD, func() []metav1.Condition { return badTD.Status.Conditions }, ecsv1alpha1.ConditionSynced, metav1.ConditionFalse, managed.ReasonFargateRefused)
	if !strings.Contains(msg, "spec.containerDefinitions[0].portMappings[0].hostPort") {
		t.Errorf("FargateRefused message %q does not name the field", msg)
	}
	msg = f.hasCondition(badSvc, func() []metav1.Condition { return badSvc.Status.Conditions }, ecsv1alpha1.ConditionSynced, metav1.ConditionFalse, managed.ReasonFargateRefused)
	if !strings.Contains(msg, "spec.platformVersion") {
		t.Errorf("FargateRefused message %q does not name the field", msg)
	}
	tds, err := e.Client.ListTaskDefinitions(f.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(ns + "-ports")})
	if err != nil || len(tds.TaskDefinitionArns) != 0 {
		t.Errorf("revisions of the refused TaskDefinition: %v %v, want none", err, tds)
	}
	old, err := e.Client.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(ns), Services: []string{"old"}})
	if err != nil || len(old.Services) != 0 {
		t.Errorf("the refused Service reached ECS: %v %+v", err, old)
	}
}

// eniSubnet is the subnetId of the ElasticNetworkInterface attachment.
func eniSubnet(atts []ecstypes.Attachment) string {
	for _, a := range atts {
		if aws.ToString(a.Type) != model.AttachmentTypeENI {
			continue
		}
		for _, d := range a.Details {
			if aws.ToString(d.Name) == model.ENISubnetID {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

// TestClusterDefaultsWakeServicesNamingTheCluster: a Service that names its ECS cluster in
// spec.cluster (not clusterRef) takes that cluster's Cluster object's spec.defaults, and a change
// of those defaults reaches ECS at once (the Cluster wakes it through the spec.cluster index; the
// controllers' periodic resync is far away).
func TestClusterDefaultsWakeServicesNamingTheCluster(t *testing.T) {
	const otherSubnet = "subnet-0123456789abcdef1"
	c, env := kube(t)
	e := ecsmem.Start(t, ecsmem.Options{Strict: true})
	api := ecsapi.NewCounting(e.Client)
	controllertest.Run(t, controller.Config{
		RestConfig: env.Config, ECS: api, Limits: controller.NoRateLimit(),
		Controllers: managed.Options{
			PollInterval: 300 * time.Millisecond, StablePollInterval: 2 * time.Second,
			Defaults: fargate.Defaults{SecurityGroups: []string{flagGroup}},
		},
		SyncPeriod: time.Hour, Namespaces: []string{env.Namespace}, AllowRestart: true,
	})
	f := &faultEnv{scenario: &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: testImage}, ecs: e, cfg: env.Config}
	ns := env.Namespace
	cl, td, svc := newObjects(ns, testImage)
	cl.Spec.Defaults = &ecsv1alpha1.ClusterDefaults{NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{
		AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{Subnets: []string{clusterSubnet}}}}
	svc.Spec.ClusterRef, svc.Spec.Cluster, svc.Spec.DesiredCount = nil, cl.ECSName(), aws.Int32(1)
	f.create(cl, td, svc)
	f.hasCondition(svc, func() []metav1.Condition { return svc.Status.Conditions }, ecsv1alpha1.ConditionReady, metav1.ConditionTrue, managed.ReasonRolloutComplete)

	// The controller writes the Cluster's status meanwhile (its counts follow the services).
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(f.ctx, client.ObjectKeyFromObject(cl), cl); err != nil {
			return err
		}
		cl.Spec.Defaults.NetworkConfiguration.AwsvpcConfiguration.Subnets = []string{otherSubnet}
		return c.Update(f.ctx, cl)
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the service's subnets follow the Cluster's defaults", func() (bool, string) {
		out, err := e.Client.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(ns), Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 || out.Services[0].NetworkConfiguration == nil {
			return false, fmt.Sprint(err, out)
		}
		got := out.Services[0].NetworkConfiguration.AwsvpcConfiguration.Subnets
		return strings.Join(got, ",") == otherSubnet, fmt.Sprint("subnets ", got)
	})
}
