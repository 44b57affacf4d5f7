package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestMembersInMemory: the ECS members of api/ecs/v1alpha1/members_*_types.go reach the local data
// plane (the in-memory ECS, on the real kube-apiserver) and take effect, or are refused by name:
// a Cluster's capacity providers and default strategy, a TaskDefinition's linuxParameters and
// ulimits, a Service's capacityProviderStrategy (tasks placed by base and weight, then changed in
// place: one UpdateService, no new deployment, no task replaced), a Task placed by its cluster's
// default strategy; a Service with placementConstraints, which Fargate does not support, is
// refused naming them. At rest nothing is written.
func TestMembersInMemory(t *testing.T) {
	c, env := kube(t)
	e, api := inMemory(t)
	runControllers(t, env, api)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: testImage, wantReady: true}
	cl, td, svc := newObjects(s.ns, s.image)
	cl.Spec.CapacityProviders = []string{"FARGATE", "FARGATE_SPOT"}
	cl.Spec.DefaultCapacityProviderStrategy = []ecsv1alpha1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(1)}}
	app := &td.Spec.ContainerDefinitions[0]
	app.LinuxParameters = &ecsv1alpha1.LinuxParameters{Capabilities: &ecsv1alpha1.KernelCapabilities{Add: []string{"SYS_PTRACE"}}}
	app.Ulimits = []ecsv1alpha1.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 4096}}
	svc.Spec.DesiredCount = aws.Int32(3)
	svc.Spec.CapacityProviderStrategy = []ecsv1alpha1.CapacityProviderStrategyItem{
		{CapacityProvider: "FARGATE", Base: aws.Int32(1)}, {CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(1)}}
	s.create(cl, td, svc)

	raw := e.Client
	out, err := raw.DescribeTaskDefinition(s.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td.Status.TaskDefinitionArn)})
	if err != nil {
		t.Fatal(err)
	}
	got := out.TaskDefinition.ContainerDefinitions[0]
	if got.LinuxParameters == nil || got.LinuxParameters.Capabilities == nil || fmt.Sprint(got.LinuxParameters.Capabilities.Add) != "[SYS_PTRACE]" ||
		len(got.Ulimits) != 1 || got.Ulimits[0].HardLimit != 4096 {
		t.Errorf("the registered revision's linuxParameters %+v, ulimits %+v", got.LinuxParameters, got.Ulimits)
	}
	if p := providers(t, s, raw, s.serviceTasks(raw)); p != "FARGATE,FARGATE_SPOT,FARGATE_SPOT" {
		t.Errorf("the service's tasks run on %s, want FARGATE (base 1) and twice FARGATE_SPOT", p)
	}

	// In place: one UpdateService, no new deployment, no task replaced.
	tasks := s.serviceTasks(raw)
	api.Reset()
	s.get(svc)
	svc.Spec.CapacityProviderStrategy = []ecsv1alpha1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: aws.Int32(1)}}
	if err := s.c.Update(s.ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the strategy changed in place", func() (bool, string) {
		d, err := raw.DescribeServices(s.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.ns), Services: []string{"web"}})
		if err != nil || len(d.Services) != 1 {
			return false, fmt.Sprint(err)
		}
		st := d.Services[0].CapacityProviderStrategy
		// The counting client records a call once it returned: wait for it too.
		return len(st) == 1 && aws.ToString(st[0].CapacityProvider) == "FARGATE" && api.Count(ecsapi.OpUpdateService) > 0,
			fmt.Sprintf("%d deployments, strategy %+v, calls %v", len(d.Services[0].Deployments), st, api.Calls())
	})
	if n, w := api.Count(ecsapi.OpUpdateService), api.Writes(); n != 1 || w != 1 {
		t.Errorf("changing the strategy: %d UpdateService, %d writes (%v); want 1 and 1", n, w, api.Calls())
	}
	if now := s.serviceTasks(raw); strings.Join(now, ",") != strings.Join(tasks, ",") {
		t.Errorf("the strategy change replaced tasks: %v, then %v", tasks, now)
	}

	// A Task without strategy or launch type runs on the cluster's default strategy.
	task := &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: s.ns}, Spec: ecsv1alpha1.TaskSpec{
		ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "c1"}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"}}}
	if err := s.c.Create(s.ctx, task); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the Task started", func() (bool, string) {
		s.get(task)
		return task.Status.TaskArn != "", fmt.Sprintf("%+v", task.Status.Conditions)
	})
	if p := providers(t, s, raw, []string{task.Status.TaskArn}); p != "FARGATE_SPOT" {
		t.Errorf("the Task runs on %q, want FARGATE_SPOT (the cluster's default strategy)", p)
	}

	// Refused by name: placement on Fargate.
	placed := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "placed", Namespace: s.ns}, Spec: ecsv1alpha1.ServiceSpec{
		ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "c1"}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
		DesiredCount: aws.Int32(1), ServiceMembers: ecsv1alpha1.ServiceMembers{
			PlacementConstraints: []ecsv1alpha1.PlacementConstraint{{Type: "distinctInstance"}}}}}
	if err := s.c.Create(s.ctx, placed); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "placementConstraints refused by name", func() (bool, string) {
		s.get(placed)
		c := meta.FindStatusCondition(placed.Status.Conditions, ecsv1alpha1.ConditionSynced)
		if c == nil {
			return false, "no Synced condition"
		}
		return c.Status == metav1.ConditionFalse && strings.Contains(c.Message, "placementConstraints") &&
			strings.Contains(c.Message, "InvalidParameterException"), c.Reason + ": " + c.Message
	})
	if err := s.c.Delete(s.ctx, placed); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the refused Service deleted", s.gone(placed))

	api.Reset()
	time.Sleep(3 * time.Second) // a few resyncs of the poller at rest
	if w := api.Writes(); w != 0 {
		t.Errorf("at rest: %d writes (%v), want 0", w, api.Calls())
	}
}

// providers lists the capacityProviderName of the tasks, sorted and joined by ",".
func providers(t *testing.T, s *scenario, raw *ecs.Client, arns []string) string {
	t.Helper()
	out, err := raw.DescribeTasks(s.ctx, &ecs.DescribeTasksInput{Cluster: aws.String(s.ns), Tasks: arns})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, task := range out.Tasks {
		names = append(names, aws.ToString(task.CapacityProviderName))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}
