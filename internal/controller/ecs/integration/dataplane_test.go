package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

// TestLifecycleDataPlane runs the scenario against the local data plane with real containers:
// Services must become Ready and roll out for real. Its call counts are those written to the
// data plane (ecstest.Wire), as for moto and the in-memory ECS.
func TestLifecycleDataPlane(t *testing.T) {
	c, env := kube(t)
	dp := dataplanetest.Start(t)
	image := dp.LoadTestImage(t)
	wire := ecstest.NewWire()
	api := ecsapi.NewCounting(ecs.New(dp.ECS.Options(), func(o *ecs.Options) { o.HTTPClient = wire.Counted(o.HTTPClient) }))
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, wire: wire, ctx: context.Background(), image: image, wantReady: true}
	s.beforeDelete = func() { s.checkEventsOnce("web") }
	s.run(func() func() { return runControllers(t, env, api) })
}

// checkEventsOnce: every ECS service event became a Kubernetes Event, and none twice. The event
// recorder folds more than 10 events of one reason into "(combined from similar events)" ones,
// whose counts say nothing about duplicates, so only the events it did not fold are counted.
func (s *scenario) checkEventsOnce(service string) {
	t := s.t
	out, err := s.api.DescribeServices(s.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.ns), Services: []string{service}})
	if err != nil || len(out.Services) == 0 {
		t.Fatalf("describing %s: %v", service, err)
	}
	want := map[string]int{}
	for _, e := range out.Services[0].Events {
		want[aws.ToString(e.Message)]++
	}
	const combined = "(combined from similar events): "
	events := func() (plain map[string]int, folded map[string]bool) {
		var list corev1.EventList
		if err := s.c.List(s.ctx, &list, client.InNamespace(s.ns)); err != nil {
			t.Fatal(err)
		}
		plain, folded = map[string]int{}, map[string]bool{}
		for _, e := range list.Items {
			if e.InvolvedObject.Kind != "Service" || e.InvolvedObject.Name != service || e.Reason != managed.ReasonServiceEvent {
				continue
			}
			if msg, ok := strings.CutPrefix(e.Message, combined); ok {
				folded[msg] = true
				continue
			}
			plain[e.Message] += int(max(e.Count, 1))
		}
		return plain, folded
	}
	t.Logf("ECS service %s has %d events", service, len(out.Services[0].Events))
	eventually(t, 10*time.Second, "ECS events mirrored", func() (bool, string) {
		plain, folded := events()
		for msg := range want {
			if plain[msg] == 0 && !folded[msg] && len(folded) == 0 {
				return false, "missing: " + msg
			}
		}
		return true, ""
	})
	time.Sleep(2 * time.Second)
	plain, _ := events()
	// ECS keeps adding events (old tasks still stopping): compare with its list taken after.
	out, err = s.api.DescribeServices(s.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.ns), Services: []string{service}})
	if err != nil || len(out.Services) == 0 {
		t.Fatalf("describing %s: %v", service, err)
	}
	clear(want)
	for _, e := range out.Services[0].Events {
		want[aws.ToString(e.Message)]++
	}
	for msg, n := range plain {
		if n > want[msg] {
			t.Errorf("ECS event %q (%d in ECS) became %d Kubernetes Event occurrences", msg, want[msg], n)
		}
	}
}

// TestTaskDataPlane: a Task runs to completion and its exit is mirrored; a long-running Task is
// stopped when deleted.
func TestTaskDataPlane(t *testing.T) {
	c, env := kube(t)
	dp := dataplanetest.Start(t)
	image := dp.LoadTestImage(t)
	api := ecsapi.NewCounting(dp.ECS)
	runControllers(t, env, api)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: image}
	s.tasks(nil)
}

// tasks is the Task scenario: a job that exits 3 (by itself, or through exitJob when the endpoint
// runs no real containers) is mirrored STOPPED with its exit code; a long-running Task is Ready, and
// stopped in ECS when its object is deleted.
func (s *scenario) tasks(exitJob func(taskArn string)) {
	t, c, ctx, ns, api := s.t, s.c, s.ctx, s.ns, s.api
	cl, td, _ := newObjects(ns, s.image)
	for _, obj := range []client.Object{cl, td} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	newTask := func(name string, args ...string) *ecsv1alpha1.Task {
		return &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: ecsv1alpha1.TaskSpec{
			ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "c1"}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
			LaunchType: "FARGATE",
			Overrides: &ecsv1alpha1.TaskOverride{ContainerOverrides: []ecsv1alpha1.ContainerOverride{{
				Name: "app", Command: args,
			}}},
		}}
	}
	job := newTask("job", "-exit", "3")
	long := newTask("long", "-listen", ":8080")
	for _, obj := range []client.Object{job, long} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	if exitJob != nil {
		eventually(t, 30*time.Second, "job running", s.ready(job, func() []metav1.Condition { return job.Status.Conditions }))
		exitJob(job.Status.TaskArn)
	}
	eventually(t, 90*time.Second, "job stopped", func() (bool, string) {
		s.get(job)
		return job.Status.LastStatus == "STOPPED", fmt.Sprintf("%s %v", job.Status.LastStatus, job.Status.Conditions)
	})
	if len(job.Status.Containers) != 1 || aws.ToInt32(job.Status.Containers[0].ExitCode) != 3 {
		t.Errorf("job containers %+v, want exit code 3", job.Status.Containers)
	}
	if job.Status.Phase != ecsv1alpha1.TaskFailed {
		t.Errorf("job phase %q, want %s (it exited 3)", job.Status.Phase, ecsv1alpha1.TaskFailed)
	}
	eventually(t, 90*time.Second, "long running", s.ready(long, func() []metav1.Condition { return long.Status.Conditions }))
	if n := s.counts().Calls()[ecsapi.OpRunTask]; n != 2 {
		t.Errorf("RunTask calls = %d, want 2", n)
	}
	arn := long.Status.TaskArn
	if err := c.Delete(ctx, long); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "long deleted", s.gone(long))
	eventually(t, 60*time.Second, "long stopped in ECS", func() (bool, string) {
		out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(ns), Tasks: []string{arn}})
		if err != nil || len(out.Tasks) == 0 {
			return false, fmt.Sprint(err)
		}
		return aws.ToString(out.Tasks[0].DesiredStatus) == "STOPPED", aws.ToString(out.Tasks[0].LastStatus)
	})
}
