package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// The data plane end-to-end tests drive the real local data plane (API, scheduler, containerd,
// runc) through the ECS API with the AWS SDK, running the test image (package testimage). They
// never assert on durations: they wait for conditions with generous deadlines and assert
// invariants on what they sample along the way.

const (
	e2eCluster = "e2e"
	// converge bounds every wait for the data plane to reach a state: generous, since two cores are
	// shared with other builds.
	converge = 5 * time.Minute
)

// webCommand serves HTTP on 8080 (the test image's entrypoint is /testserver); marker only makes a
// distinct revision.
func webCommand(marker string) []string {
	return []string{"-listen", ":8080", "-stdout", marker}
}

// exitCommand exits at once with code 1.
func exitCommand() []string { return []string{"-exit", "1"} }

// registerRevision registers a revision of family running the test image with command; with a
// health check on /healthz when checked.
func registerRevision(ctx context.Context, t *testing.T, c *ecs.Client, family string, command []string, checked bool) string {
	t.Helper()
	app := ecstypes.ContainerDefinition{
		Name: aws.String("app"), Image: aws.String(testimage.DefaultRef), Essential: aws.Bool(true),
		Command:      command,
		PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}},
	}
	if checked {
		app.HealthCheck = &ecstypes.HealthCheck{
			Command:  []string{"CMD", "/testserver", "probe", "http://127.0.0.1:8080/healthz"},
			Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(2), StartPeriod: aws.Int32(0),
		}
	}
	out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{app},
	})
	if err != nil {
		t.Fatalf("registering %s: %v", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func createCluster(ctx context.Context, t *testing.T, c *ecs.Client) {
	t.Helper()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(e2eCluster)}); err != nil {
		t.Fatalf("creating cluster: %v", err)
	}
}

type serviceSpec struct {
	name, taskDefinition string
	desired, min, max    int32
	breaker              *ecstypes.DeploymentCircuitBreaker
}

func createService(ctx context.Context, t *testing.T, c *ecs.Client, s serviceSpec) {
	t.Helper()
	_, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(e2eCluster), ServiceName: aws.String(s.name), TaskDefinition: aws.String(s.taskDefinition),
		DesiredCount: aws.Int32(s.desired), LaunchType: ecstypes.LaunchTypeFargate,
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			MinimumHealthyPercent: aws.Int32(s.min), MaximumPercent: aws.Int32(s.max), DeploymentCircuitBreaker: s.breaker,
		},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-local"},
		}},
	})
	if err != nil {
		t.Fatalf("creating service %s: %v", s.name, err)
	}
	t.Cleanup(func() { drainService(t, c, s.name) })
}

// drainService deletes the service (force) and waits until its tasks are STOPPED, so that no
// replacement is being started while the data plane shuts down and its containers are purged.
func drainService(t *testing.T, c *ecs.Client, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(e2eCluster), Service: aws.String(name), Force: aws.Bool(true)})
	if err != nil {
		t.Logf("deleting service %s at cleanup: %v", name, err)
		return
	}
	for ctx.Err() == nil {
		tasks, err := serviceTasks(ctx, c, name)
		if err == nil && count(tasks).notStopped == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("service %s still has tasks not STOPPED at cleanup", name)
}

func deploy(ctx context.Context, t *testing.T, c *ecs.Client, service, taskDefinition string) {
	t.Helper()
	_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(e2eCluster), Service: aws.String(service), TaskDefinition: aws.String(taskDefinition),
	})
	if err != nil {
		t.Fatalf("updating service %s to %s: %v", service, taskDefinition, err)
	}
}

func describeService(ctx context.Context, c *ecs.Client, name string) (*ecstypes.Service, error) {
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e2eCluster), Services: []string{name}})
	if err != nil {
		return nil, err
	}
	if len(out.Services) != 1 {
		return nil, fmt.Errorf("service %s not found (failures %v)", name, out.Failures)
	}
	return &out.Services[0], nil
}

// serviceTasks lists every task of the service the data plane still describes: those still wanted
// and those asked to stop (ListTasks filters on desiredStatus, RUNNING by default).
func serviceTasks(ctx context.Context, c *ecs.Client, service string) ([]ecstypes.Task, error) {
	seen := map[string]bool{}
	var arns []string
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		p := ecs.NewListTasksPaginator(c, &ecs.ListTasksInput{
			Cluster: aws.String(e2eCluster), ServiceName: aws.String(service), DesiredStatus: desired,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, a := range page.TaskArns {
				if !seen[a] {
					seen[a] = true
					arns = append(arns, a)
				}
			}
		}
	}
	var tasks []ecstypes.Task
	for len(arns) > 0 {
		n := min(len(arns), 100)
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e2eCluster), Tasks: arns[:n]})
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, out.Tasks...)
		arns = arns[n:]
	}
	return tasks, nil
}

// tally counts tasks: RUNNING by lastStatus, not STOPPED, and not STOPPED per task definition.
type tally struct {
	running, notStopped int
	byDefinition        map[string]int
}

func count(tasks []ecstypes.Task) tally {
	c := tally{byDefinition: map[string]int{}}
	for _, t := range tasks {
		last := aws.ToString(t.LastStatus)
		if last == "RUNNING" {
			c.running++
		}
		if last != "STOPPED" {
			c.notStopped++
			c.byDefinition[aws.ToString(t.TaskDefinitionArn)]++
		}
	}
	return c
}

// describeAll is a one-line summary of tasks: ID prefix, revision, lastStatus, desiredStatus, health.
func describeAll(tasks []ecstypes.Task) string {
	parts := make([]string, 0, len(tasks))
	for _, t := range tasks {
		arn, td := aws.ToString(t.TaskArn), aws.ToString(t.TaskDefinitionArn)
		id := arn[strings.LastIndex(arn, "/")+1:]
		parts = append(parts, fmt.Sprintf("%.8s %s %s/%s %s", id, td[strings.LastIndex(td, "/")+1:],
			aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus), t.HealthStatus))
	}
	return strings.Join(parts, ", ")
}

// logEvents logs the service's events, oldest first.
func logEvents(ctx context.Context, t *testing.T, c *ecs.Client, service string) {
	s, err := describeService(ctx, c, service)
	if err != nil {
		t.Logf("describing %s for its events: %v", service, err)
		return
	}
	for i := len(s.Events) - 1; i >= 0; i-- {
		e := s.Events[i]
		t.Logf("event %s %s", aws.ToTime(e.CreatedAt).Format("15:04:05.000"), aws.ToString(e.Message))
	}
}

// waitFor polls cond until it holds or converge passes; cond's string says where things stand, for
// the failure message.
func waitFor(ctx context.Context, t *testing.T, what string, cond func(ctx context.Context) (bool, string, error)) {
	t.Helper()
	deadline := time.Now().Add(converge)
	var last string
	var lastErr error
	for time.Now().Before(deadline) {
		ok, state, err := cond(ctx)
		if err == nil && ok {
			return
		}
		last, lastErr = state, err
		select {
		case <-ctx.Done():
			t.Fatalf("waiting until %s: %v", what, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not happen within %s; last state: %s (error: %v)", what, converge, last, lastErr)
}

// steadyOn is the condition "the service has exactly one deployment, COMPLETED, of taskDefinition,
// with desired tasks RUNNING and nothing else not STOPPED".
func steadyOn(c *ecs.Client, service, taskDefinition string, desired int) func(ctx context.Context) (bool, string, error) {
	return func(ctx context.Context) (bool, string, error) {
		s, err := describeService(ctx, c, service)
		if err != nil {
			return false, "", err
		}
		tasks, err := serviceTasks(ctx, c, service)
		if err != nil {
			return false, "", err
		}
		n := count(tasks)
		state := fmt.Sprintf("deployments %s, tasks running %d not stopped %d by definition %v",
			deploymentsString(s.Deployments), n.running, n.notStopped, n.byDefinition)
		ok := len(s.Deployments) == 1 && aws.ToString(s.Deployments[0].TaskDefinition) == taskDefinition &&
			s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted &&
			n.running == desired && n.notStopped == desired && n.byDefinition[taskDefinition] == desired
		return ok, state, nil
	}
}

func deploymentsString(ds []ecstypes.Deployment) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%s %s %s running %d pending %d failed %d", aws.ToString(d.Id), aws.ToString(d.Status),
			d.RolloutState, d.RunningCount, d.PendingCount, d.FailedTasks)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func hasEvent(s *ecstypes.Service, substr string) bool {
	for _, e := range s.Events {
		if strings.Contains(aws.ToString(e.Message), substr) {
			return true
		}
	}
	return false
}

// boundsSampler samples a service's tasks through the API until stopped and records every sample
// that breaks the rolling-update bounds: fewer than minRunning RUNNING, more than maxNotStopped not
// STOPPED. A sample is a ListTasks+DescribeTasks pair, so it is not one atomic snapshot: a task
// created between the two calls is missed, which can only hide a breach of the upper bound, never
// invent one.
type boundsSampler struct {
	minRunning, maxNotStopped int

	mu                sync.Mutex
	samples, failures int
	violations        []string
	lowest, peak      int
	timeline          []string // each change of (RUNNING, not STOPPED), for the log
	cancel            context.CancelFunc
	done              chan struct{}
}

func startSampler(ctx context.Context, c *ecs.Client, service string, minRunning, maxNotStopped int) *boundsSampler {
	ctx, cancel := context.WithCancel(ctx)
	b := &boundsSampler{minRunning: minRunning, maxNotStopped: maxNotStopped, lowest: 1 << 30, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for ctx.Err() == nil {
			tasks, err := serviceTasks(ctx, c, service)
			b.record(tasks, err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return b
}

func (b *boundsSampler) record(tasks []ecstypes.Task, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.failures++ // the data plane may be down (restart tests); nothing to sample
		return
	}
	n := count(tasks)
	b.samples++
	b.lowest, b.peak = min(b.lowest, n.running), max(b.peak, n.notStopped)
	entry := fmt.Sprintf("%d/%d", n.running, n.notStopped)
	if len(b.timeline) == 0 || b.timeline[len(b.timeline)-1] != entry {
		b.timeline = append(b.timeline, entry)
	}
	if n.running < b.minRunning || n.notStopped > b.maxNotStopped {
		b.violations = append(b.violations, fmt.Sprintf("%s: %d RUNNING, %d not STOPPED, by definition %v; tasks: %s",
			time.Now().Format(time.RFC3339Nano), n.running, n.notStopped, n.byDefinition, describeAll(tasks)))
	}
}

// stop ends sampling and reports the bounds breached, if any.
func (b *boundsSampler) stop(t *testing.T) {
	t.Helper()
	b.cancel()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	t.Logf("bounds sampler: %d samples (%d failed calls), lowest RUNNING %d, peak not STOPPED %d; RUNNING/not STOPPED as they changed: %s",
		b.samples, b.failures, b.lowest, b.peak, strings.Join(b.timeline, " "))
	if b.samples < 10 {
		t.Errorf("only %d samples: the bounds were not observed", b.samples)
	}
	for _, v := range b.violations {
		t.Errorf("rolling-update bounds broken (min %d RUNNING, max %d not STOPPED) at %s", b.minRunning, b.maxNotStopped, v)
	}
}

// requireFull skips unless the full end-to-end tests can run here.
func requireFull(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: end-to-end data plane test in -short mode")
	}
	if os.Getenv("NODELESS_E2E_SKIP_DATAPLANE") != "" {
		t.Skip("skipping: NODELESS_E2E_SKIP_DATAPLANE is set")
	}
}
