package chaos

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// sampleEvery is how often the sampler samples the service's tasks.
const sampleEvery = 100 * time.Millisecond

// sampler samples the service's tasks every sampleEvery until stopped, records every sample with
// more tasks not STOPPED than the bound, and records every task it sees in objects. A sample is a
// ListTasks+DescribeTasks sequence, not one atomic snapshot: a task created meanwhile is missed,
// which can only hide a breach of the upper bound, never invent one. Counting every task not
// STOPPED is stricter than ECS's maximumPercent (RUNNING, PENDING and STOPPING), and is the data
// plane's own rule (scheduler/bounds.go).
type sampler struct {
	c       *ecs.Client
	objects *objects

	mu         sync.Mutex
	bound      int
	samples    int
	failed     int // calls that failed (the data plane down)
	peak       int
	violations []string

	cancel context.CancelFunc
	done   chan struct{}
}

func startSampler(c *ecs.Client, objs *objects, bound int) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{c: c, objects: objs, bound: bound, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			s.sample(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(sampleEvery):
			}
		}
	}()
	return s
}

// setBound sets the upper bound of tasks not STOPPED for the samples that start from now on.
func (s *sampler) setBound(n int) {
	s.mu.Lock()
	s.bound = n
	s.mu.Unlock()
}

func (s *sampler) currentBound() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound
}

// sample takes one sample, judged against the larger bound of its start and its end: the driver
// raises the bound before it changes the service, and lowers it only once the service is steady.
func (s *sampler) sample(ctx context.Context) {
	before := s.currentBound()
	tasks, err := serviceTasks(ctx, s.c)
	bound := max(before, s.currentBound())
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed++
		return
	}
	s.samples++
	n := count(tasks, "")
	s.peak = max(s.peak, n.notStopped)
	if n.notStopped > bound {
		s.violations = append(s.violations, fmt.Sprintf("%s: %d not STOPPED, bound %d: %s",
			time.Now().Format("15:04:05.000"), n.notStopped, bound, describeAll(tasks)))
	}
	for _, t := range tasks {
		s.objects.addTask(aws.ToString(t.TaskArn))
	}
}

func (s *sampler) stop() {
	s.cancel()
	<-s.done
}

// describeAll is a one-line summary of tasks: ID prefix, revision, lastStatus/desiredStatus.
func describeAll(tasks []ecstypes.Task) string {
	parts := make([]string, 0, len(tasks))
	for _, t := range tasks {
		parts = append(parts, fmt.Sprintf("%.8s %s %s/%s", shortID(aws.ToString(t.TaskArn)), shortID(aws.ToString(t.TaskDefinitionArn)),
			aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus)))
	}
	return strings.Join(parts, ", ")
}

// objects are every object the API acknowledged: created by the soak, or listed by the sampler.
type objects struct {
	mu           sync.Mutex
	clusters     []string
	definitions  []string
	services     []string
	tasks        map[string]time.Time // ARN → first seen
	lostReported map[string]bool
}

func newObjects() *objects {
	return &objects{tasks: map[string]time.Time{}, lostReported: map[string]bool{}}
}

func (o *objects) addCluster(arn string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clusters = append(o.clusters, arn)
}

func (o *objects) addTaskDefinition(arn string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.definitions = append(o.definitions, arn)
}

func (o *objects) addService(arn string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.services = append(o.services, arn)
}

func (o *objects) addTask(arn string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.tasks[arn]; !ok {
		o.tasks[arn] = time.Now()
	}
}

// taskRetention is how long after it was first seen a task is still checked: the data plane
// forgets a task an hour after it STOPPED (scheduler.StoppedRetention), and it cannot have stopped
// before it was first seen.
const taskRetention = 50 * time.Minute

// checkable returns the recorded objects to check: clusters, task definitions, services, and the
// tasks first seen within taskRetention, sorted.
func (o *objects) checkable() (clusters, definitions, services, tasks []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for arn, seen := range o.tasks {
		if time.Since(seen) < taskRetention {
			tasks = append(tasks, arn)
		}
	}
	sort.Strings(tasks)
	return append([]string(nil), o.clusters...), append([]string(nil), o.definitions...), append([]string(nil), o.services...), tasks
}

func (o *objects) counts() (clusters, definitions, services, tasks int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.clusters), len(o.definitions), len(o.services), len(o.tasks)
}

// lost describes every recorded object the data plane no longer knows: a cluster or service not
// ACTIVE, a task definition that cannot be described, a task DescribeTasks reports MISSING.
func (s *soak) lost(ctx context.Context) ([]string, error) {
	clusters, definitions, services, tasks := s.objects.checkable()
	var lost []string
	cl, err := s.c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: clusters})
	if err != nil {
		return nil, err
	}
	active := map[string]bool{}
	for _, c := range cl.Clusters {
		active[aws.ToString(c.ClusterArn)] = aws.ToString(c.Status) == "ACTIVE"
	}
	for _, arn := range clusters {
		if !active[arn] {
			lost = append(lost, "cluster "+arn)
		}
	}
	for _, arn := range definitions {
		if _, err := s.c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			if isNotFound(err) {
				lost = append(lost, "task definition "+arn)
				continue
			}
			return nil, err
		}
	}
	sv, err := s.c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(clusterName), Services: services})
	if err != nil {
		return nil, err
	}
	active = map[string]bool{}
	for _, svc := range sv.Services {
		active[aws.ToString(svc.ServiceArn)] = aws.ToString(svc.Status) == "ACTIVE"
	}
	for _, arn := range services {
		if !active[arn] {
			lost = append(lost, "service "+arn)
		}
	}
	_, missing, err := describeTasks(ctx, s.c, tasks)
	if err != nil {
		return nil, err
	}
	for _, m := range missing {
		lost = append(lost, "task "+m)
	}
	return lost, nil
}

// isNotFound is an ECS error that says the object does not exist (ClientException or
// InvalidParameterException naming it), rather than a failed call.
func isNotFound(err error) bool {
	var ce *ecstypes.ClientException
	var ip *ecstypes.InvalidParameterException
	return errors.As(err, &ce) || errors.As(err, &ip)
}
