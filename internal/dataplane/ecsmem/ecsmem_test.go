package ecsmem_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

const cluster = "c1"

// setUp creates a cluster and registers a task definition of family web (one essential container).
func setUp(t *testing.T, e *ecsmem.ECS) string {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	out, err := e.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example.com/app:1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	testwait.For(t, 20*time.Second, 20*time.Millisecond, what, cond)
}

func describeTask(t *testing.T, e *ecsmem.ECS, arn string) ecstypes.Task {
	t.Helper()
	out, err := e.Client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("describing task %s: %v %+v", arn, err, out)
	}
	return out.Tasks[0]
}

func runTask(t *testing.T, e *ecsmem.ECS) string {
	t.Helper()
	out, err := e.Client.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web")})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

// TestServesECS: tasks run and services roll out, without root or containers.
func TestServesECS(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{})
	td := setUp(t, e)
	arn := runTask(t, e)
	eventually(t, "the task runs", func() (bool, string) {
		s := aws.ToString(describeTask(t, e, arn).LastStatus)
		return s == "RUNNING", s
	})
	ctx := context.Background()
	if _, err := e.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("s"),
		TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the service rolls out", func() (bool, string) {
		out, err := e.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"s"}})
		if err != nil || len(out.Services) != 1 {
			return false, fmt.Sprint(err)
		}
		s := out.Services[0]
		return s.RunningCount == 2 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted,
			fmt.Sprintf("running %d, rollout %s", s.RunningCount, s.Deployments[0].RolloutState)
	})
	if n := len(e.Runtime.Live()); n != 3 {
		t.Errorf("tasks in the fake runtime = %d, want 3", n)
	}
}

// TestThrottle: throttling is answered on the wire; the SDK retries it, and gives up after its
// attempts with an error nodeless classifies as Throttled.
func TestThrottle(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{})
	ctx := context.Background()
	f := e.Inject(ecsmem.Throttle(ecsapi.OpCreateCluster, 2))
	if _, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatalf("CreateCluster throttled twice, then served: %v", err)
	}
	if got := [3]int{e.Requests(ecsapi.OpCreateCluster), e.Served(ecsapi.OpCreateCluster), f.Fired()}; got != [3]int{3, 1, 2} {
		t.Errorf("requests, served, fired = %v, want [3 1 2]", got)
	}

	e.Inject(ecsmem.Throttle(ecsapi.OpDescribeClusters, 0))
	_, err := e.Client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
	if !ecsapi.IsThrottled(err) {
		t.Errorf("DescribeClusters always throttled: %v, want a Throttled error", err)
	}
	if n := e.Requests(ecsapi.OpDescribeClusters); n != 3 {
		t.Errorf("DescribeClusters requests = %d, want the SDK's 3 attempts", n)
	}
}

// TestRefuseMatchAndRemove: a fault applies to the requests its predicate matches, Times times,
// until removed.
func TestRefuseMatchAndRemove(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{})
	ctx := context.Background()
	f := ecsmem.Refuse(ecsapi.OpCreateCluster, ecsmem.CodeAccessDenied, "not you", 0)
	f.Match = func(r *ecsmem.Request) bool { return r.Member("clusterName") == "forbidden" }
	inj := e.Inject(f)
	for range 2 {
		_, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("forbidden")})
		wantCode(t, err, ecsmem.CodeAccessDenied)
	}
	if _, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("allowed")}); err != nil {
		t.Errorf("a request the predicate does not match was refused: %v", err)
	}
	inj.Remove()
	if _, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("forbidden")}); err != nil {
		t.Errorf("refused after Remove: %v", err)
	}
	if inj.Fired() != 2 || e.Served(ecsapi.OpCreateCluster) != 2 {
		t.Errorf("fired %d, served %d; want 2 and 2", inj.Fired(), e.Served(ecsapi.OpCreateCluster))
	}
}

// TestNotIdempotentLands: the CreateService takes effect, the caller gets the conflict.
func TestNotIdempotentLands(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{})
	td := setUp(t, e)
	ctx := context.Background()
	e.Inject(ecsmem.NotIdempotent())
	_, err := e.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("s"),
		TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)})
	wantCode(t, err, ecsmem.CodeInvalidParameter)
	if !ecsapi.IsConflict(err) {
		t.Errorf("%v is not classified a conflict", err)
	}
	out, err := e.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"s"}})
	if err != nil || len(out.Services) != 1 || aws.ToString(out.Services[0].Status) != "ACTIVE" {
		t.Errorf("the service did not land: %v %+v", err, out)
	}
}

// TestRunTaskFailures: RunTask answers failures and starts nothing.
func TestRunTaskFailures(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{})
	setUp(t, e)
	e.Inject(ecsmem.RunTaskFailures(1, "RESOURCE:MEMORY", "no capacity"))
	out, err := e.Client.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:MEMORY" ||
		aws.ToString(out.Failures[0].Detail) != "no capacity" || aws.ToString(out.Failures[0].Arn) != "web" {
		t.Errorf("RunTask answered %+v", out)
	}
	if e.Served(ecsapi.OpRunTask) != 0 || len(e.Runtime.Live()) != 0 {
		t.Errorf("a failed RunTask started something")
	}
	runTask(t, e) // Times 1: the next one runs
}

// TestSlow: a delayed request is served after the delay; a client that gives up first gets its
// deadline, and nothing is served.
func TestSlow(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{MaxAttempts: 1})
	setUp(t, e)
	slow := e.Inject(ecsmem.Slow(ecsapi.OpDescribeClusters, 300*time.Millisecond))
	start := time.Now()
	if _, err := e.Client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{cluster}}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answered after %s, before the delay", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.Client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a client that gave up: %v, want its deadline", err)
	}
	slow.Remove()
	eventually(t, "the abandoned request is not served", func() (bool, string) {
		return e.Requests(ecsapi.OpDescribeClusters) == 2 && e.Served(ecsapi.OpDescribeClusters) == 1,
			fmt.Sprintf("requests %d served %d", e.Requests(ecsapi.OpDescribeClusters), e.Served(ecsapi.OpDescribeClusters))
	})
}

// TestStartFaults: a task that never starts stays PENDING; one that fails to start stops with
// TaskFailedToStart and the reason.
func TestStartFaults(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{})
	setUp(t, e)
	never := e.InjectStart(ecsmem.NeverStart(ecsmem.Family("web"), 1))
	pending := runTask(t, e)
	const reason = "CannotPullContainerError: pull access denied for example.com/app:1"
	e.InjectStart(ecsmem.FailToStart(nil, 1, reason))
	failed := runTask(t, e)
	eventually(t, "the failed task stops", func() (bool, string) {
		tk := describeTask(t, e, failed)
		return aws.ToString(tk.LastStatus) == "STOPPED", aws.ToString(tk.LastStatus)
	})
	tk := describeTask(t, e, failed)
	if tk.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || aws.ToString(tk.StoppedReason) != reason ||
		aws.ToString(tk.Containers[0].Reason) != reason {
		t.Errorf("failed task: stopCode %s, stoppedReason %q, container reason %q", tk.StopCode, aws.ToString(tk.StoppedReason), aws.ToString(tk.Containers[0].Reason))
	}
	if s := aws.ToString(describeTask(t, e, pending).LastStatus); s != "PENDING" {
		t.Errorf("the task that never starts is %s, want PENDING", s)
	}
	if never.Fired() != 1 {
		t.Errorf("NeverStart fired %d times, want 1", never.Fired())
	}
	e.Runtime.RunAll(pending[strings.LastIndexByte(pending, '/')+1:])
	eventually(t, "the pending task runs once its containers do", func() (bool, string) {
		s := aws.ToString(describeTask(t, e, pending).LastStatus)
		return s == "RUNNING", s
	})
	runTask(t, e) // both faults used up: the next task runs
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("error %v, want %s", err, code)
	}
}

// TestWire: the wire counts what the API server handled, and resets.
func TestWire(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{})
	setUp(t, e)
	e.Inject(ecsmem.Refuse(ecsapi.OpDescribeClusters, ecsmem.CodeClient, "no", 1))
	ctx := context.Background()
	for range 2 { // refused, then served
		_, _ = e.Client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
	}
	_, _ = e.Client.ListClusters(ctx, &ecs.ListClustersInput{})
	w := e.Wire()
	if diff := cmp.Diff(map[string]int{ecsapi.OpCreateCluster: 1, ecsapi.OpRegisterTaskDefinition: 1, ecsapi.OpDescribeClusters: 1, "ListClusters": 1}, w.Calls()); diff != "" {
		t.Errorf("calls at the wire (-want +got):\n%s", diff)
	}
	if w.Writes() != 2 || e.Requests(ecsapi.OpDescribeClusters) != 2 {
		t.Errorf("writes %d, DescribeClusters requests %d; want 2 and 2", w.Writes(), e.Requests(ecsapi.OpDescribeClusters))
	}
	w.Reset()
	if len(w.Calls()) != 0 || e.Requests(ecsapi.OpDescribeClusters) != 0 {
		t.Errorf("after Reset: %v", w.Calls())
	}
}

// TestFaultOrder: of two faults that answer the same request, the first answers and the second is
// left for the next request; delays add up.
func TestFaultOrder(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{MaxAttempts: 1})
	ctx := context.Background()
	first := e.Inject(ecsmem.Refuse(ecsapi.OpCreateCluster, ecsmem.CodeAccessDenied, "first", 1))
	second := e.Inject(ecsmem.Refuse(ecsapi.OpCreateCluster, ecsmem.CodeConflict, "second", 1))
	slow := e.Inject(ecsmem.Slow(ecsapi.OpCreateCluster, 10*time.Millisecond))
	slower := e.Inject(ecsmem.Slow(ecsapi.OpCreateCluster, 20*time.Millisecond))
	start := time.Now()
	_, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	wantCode(t, err, ecsmem.CodeAccessDenied)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answered after %s; the delays add up to 30ms", d)
	}
	_, err = e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	wantCode(t, err, ecsmem.CodeConflict)
	if _, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Errorf("third CreateCluster: %v", err)
	}
	if got := [4]int{first.Fired(), second.Fired(), slow.Fired(), slower.Fired()}; got != [4]int{1, 1, 3, 3} {
		t.Errorf("fired %v, want [1 1 3 3]", got)
	}
}

// TestClock: with a fake clock, a rollout completes only once the test steps past the wait before
// a task without health checks counts as healthy.
func TestClock(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Now())
	e := ecsmem.Start(t, ecsmem.Options{Clock: clk, HealthyAfterRunning: time.Minute})
	td := setUp(t, e)
	ctx := context.Background()
	if _, err := e.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("s"),
		TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	rollout := func() (ecstypes.DeploymentRolloutState, int32) {
		out, err := e.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"s"}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("describing s: %v", err)
		}
		return out.Services[0].Deployments[0].RolloutState, out.Services[0].RunningCount
	}
	eventually(t, "the task runs", func() (bool, string) {
		state, running := rollout()
		return running == 1, fmt.Sprintf("%s, %d running", state, running)
	})
	if state, _ := rollout(); state != ecstypes.DeploymentRolloutStateInProgress {
		t.Fatalf("rollout %s before its task counted as healthy, want IN_PROGRESS", state)
	}
	clk.Step(time.Minute)
	eventually(t, "the rollout completes", func() (bool, string) {
		state, _ := rollout()
		return state == ecstypes.DeploymentRolloutStateCompleted, string(state)
	})
}
