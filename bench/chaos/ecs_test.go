package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// webCommand serves HTTP on 8080 (the test image's entrypoint is /testserver); marker makes a
// distinct revision.
func webCommand(marker string) []string { return []string{"-listen", ":8080", "-stdout", marker} }

var network = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-local"}}}

func (s *soak) createCluster(ctx context.Context) error {
	out, err := s.c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(clusterName)})
	if err == nil {
		s.objects.addCluster(aws.ToString(out.Cluster.ClusterArn))
	}
	return err
}

// register registers a revision of family running the test image with command, without a health
// check (so a task counts as healthy HealthyAfterRunning after RUNNING), and records it.
func (s *soak) register(ctx context.Context, family string, command []string) (string, error) {
	out, err := s.c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(testimage.DefaultRef), Essential: aws.Bool(true), Command: command,
		}},
	})
	if err != nil {
		return "", err
	}
	arn := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	s.objects.addTaskDefinition(arn)
	return arn, nil
}

func (s *soak) createService(ctx context.Context) error {
	out, err := s.c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(clusterName), ServiceName: aws.String(serviceName), TaskDefinition: aws.String(s.target),
		DesiredCount: aws.Int32(s.desired), LaunchType: ecstypes.LaunchTypeFargate, ClientToken: aws.String("soak-service"),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			MinimumHealthyPercent: aws.Int32(minPercent), MaximumPercent: aws.Int32(maxPercent),
		},
		NetworkConfiguration: network,
	})
	if err == nil {
		s.objects.addService(aws.ToString(out.Service.ServiceArn))
	}
	return err
}

// updateService sets the service's task definition and desired count to the soak's target.
func (s *soak) updateService(ctx context.Context) error {
	_, err := s.c.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(clusterName), Service: aws.String(serviceName),
		TaskDefinition: aws.String(s.target), DesiredCount: aws.Int32(s.desired),
	})
	return err
}

// runTask starts one task of the job with clientToken token (and startedBy token, to find it).
func (s *soak) runTask(ctx context.Context, token string) (string, error) {
	out, err := s.c.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String(clusterName), TaskDefinition: aws.String(s.job), Count: aws.Int32(1),
		LaunchType: ecstypes.LaunchTypeFargate, ClientToken: aws.String(token), StartedBy: aws.String(token),
		NetworkConfiguration: network,
	})
	if err != nil {
		return "", err
	}
	if len(out.Failures) > 0 || len(out.Tasks) != 1 {
		return "", errFailures{fmt.Sprintf("RunTask: %d tasks, failures %s", len(out.Tasks), failuresString(out.Failures))}
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	s.objects.addTask(arn)
	return arn, nil
}

// errFailures is a RunTask answered with failures: retrying does not help.
type errFailures struct{ msg string }

func (e errFailures) Error() string { return e.msg }

func failuresString(fs []ecstypes.Failure) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s: %s %s", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// listTasks lists the cluster's task ARNs matching in (Cluster set here), of both desired statuses:
// RUNNING first, then STOPPED, so a task whose desiredStatus changes between the two calls is
// still listed (the change is one-way).
func listTasks(ctx context.Context, c *ecs.Client, in ecs.ListTasksInput) ([]string, error) {
	seen := map[string]bool{}
	var arns []string
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		in := in
		in.Cluster, in.DesiredStatus = aws.String(clusterName), desired
		p := ecs.NewListTasksPaginator(c, &in)
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
	return arns, nil
}

// describeTasks describes arns, 100 at a time; missing are the ARNs the data plane does not know.
func describeTasks(ctx context.Context, c *ecs.Client, arns []string) (tasks []ecstypes.Task, missing []string, err error) {
	for len(arns) > 0 {
		n := min(len(arns), 100)
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(clusterName), Tasks: arns[:n]})
		if err != nil {
			return nil, nil, err
		}
		tasks = append(tasks, out.Tasks...)
		for _, f := range out.Failures {
			missing = append(missing, aws.ToString(f.Arn)+" "+aws.ToString(f.Reason))
		}
		arns = arns[n:]
	}
	return tasks, missing, nil
}

// serviceTasks describes every task of the service the data plane still lists.
func serviceTasks(ctx context.Context, c *ecs.Client) ([]ecstypes.Task, error) {
	arns, err := listTasks(ctx, c, ecs.ListTasksInput{ServiceName: aws.String(serviceName)})
	if err != nil {
		return nil, err
	}
	tasks, _, err := describeTasks(ctx, c, arns)
	return tasks, err
}

// tally counts tasks: RUNNING by lastStatus, not STOPPED, and not STOPPED of one task definition.
type tally struct{ running, notStopped, ofTarget int }

func count(tasks []ecstypes.Task, target string) tally {
	var n tally
	for _, t := range tasks {
		last := aws.ToString(t.LastStatus)
		if last == "RUNNING" {
			n.running++
		}
		if last != "STOPPED" {
			n.notStopped++
			if aws.ToString(t.TaskDefinitionArn) == target {
				n.ofTarget++
			}
		}
	}
	return n
}

// steady says whether the service is steady on the soak's target: desiredCount as set, one
// deployment, of the target revision, rolloutState COMPLETED, runningCount == desiredCount, and
// exactly desiredCount tasks not STOPPED, all RUNNING and of the target; else where it stands.
func (s *soak) steady(ctx context.Context) (bool, string, error) {
	out, err := s.c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(clusterName), Services: []string{serviceName}})
	if err != nil {
		return false, "", err
	}
	if len(out.Services) != 1 {
		return false, "", fmt.Errorf("service %s not described: failures %s", serviceName, failuresString(out.Failures))
	}
	svc := out.Services[0]
	tasks, err := serviceTasks(ctx, s.c)
	if err != nil {
		return false, "", err
	}
	n, want := count(tasks, s.target), int(s.desired)
	state := fmt.Sprintf("desired %d running %d, deployments %s, tasks RUNNING %d not STOPPED %d of target %d",
		svc.DesiredCount, svc.RunningCount, deploymentsString(svc.Deployments), n.running, n.notStopped, n.ofTarget)
	ok := svc.DesiredCount == s.desired && svc.RunningCount == s.desired && len(svc.Deployments) == 1 &&
		aws.ToString(svc.Deployments[0].TaskDefinition) == s.target &&
		svc.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted &&
		n.running == want && n.notStopped == want && n.ofTarget == want
	return ok, state, nil
}

// waitSteady polls steady every 100 ms until it holds (returning when it first did) or
// convergeBound passes.
func (s *soak) waitSteady(ctx context.Context) (time.Time, error) {
	deadline := time.Now().Add(convergeBound)
	var state string
	var lastErr error
	for time.Now().Before(deadline) {
		ok, st, err := s.steady(ctx)
		if ok && err == nil {
			return time.Now(), nil
		}
		if err != nil {
			lastErr = err
		} else {
			state = st
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Time{}, errors.Join(fmt.Errorf("not steady within %s; last state: %s", convergeBound, state), lastErr)
}

// stableFor is how long the service must stay steady for the convergence to count: a recovery
// that reports steady for a moment and then loses a task has not converged.
const stableFor = 2 * time.Second

// waitStable waits until the service is steady and stays so for stableFor; it returns when the
// service last became steady and how often it left the steady state meanwhile.
func (s *soak) waitStable(ctx context.Context, r *round) (time.Time, error) {
	deadline := time.Now().Add(convergeBound)
	for {
		at, err := s.waitSteady(ctx)
		if err != nil {
			return at, err
		}
		stable, state := true, ""
		for time.Since(at) < stableFor && stable {
			time.Sleep(200 * time.Millisecond)
			stable, state = s.steadyNow(ctx)
		}
		if stable {
			return at, nil
		}
		r.flapped++
		if r.flapped <= 3 {
			r.notes = append(r.notes, fmt.Sprintf("left the steady state %s after reaching it: %s", time.Since(at).Round(time.Millisecond), state))
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not stable for %s within %s", stableFor, convergeBound)
		}
	}
}

// steadyNow is one steady check, and where the service stands. A failed call is tried again up to
// twice: it says nothing about the service (see clientErrors); three in a row count as not steady.
func (s *soak) steadyNow(ctx context.Context) (bool, string) {
	var err error
	for range 3 {
		var ok bool
		var state string
		if ok, state, err = s.steady(ctx); err == nil {
			return ok, state
		}
		s.clientErrors.Add(1)
	}
	return false, err.Error()
}

// slowRound is the convergence beyond which a round logs what happened (service events, the
// stop reasons of the tasks that stopped).
const slowRound = 4 * time.Second

// whatHappened describes the service's events and the service's tasks created since since: for
// rounds that converged slowly.
func (s *soak) whatHappened(ctx context.Context, since time.Time) string {
	ctx, cancel := context.WithTimeout(ctx, 2*callTimeout)
	defer cancel()
	var b strings.Builder
	out, err := s.c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(clusterName), Services: []string{serviceName}})
	if err != nil || len(out.Services) != 1 {
		return fmt.Sprintf("describing the service: %v", err)
	}
	b.WriteString("events:")
	evs := out.Services[0].Events
	for i := len(evs) - 1; i >= 0; i-- {
		if e := evs[i]; aws.ToTime(e.CreatedAt).After(since.Add(-time.Second)) {
			fmt.Fprintf(&b, " [%s %s]", aws.ToTime(e.CreatedAt).Format("15:04:05.000"), aws.ToString(e.Message))
		}
	}
	tasks, err := serviceTasks(ctx, s.c)
	if err != nil {
		return b.String() + "; tasks: " + err.Error()
	}
	b.WriteString("; tasks:")
	for _, t := range tasks {
		if aws.ToTime(t.CreatedAt).Before(since.Add(-5 * time.Second)) {
			continue
		}
		fmt.Fprintf(&b, " [%.8s %s %s/%s created %s started %s stopping %s: %s]", shortID(aws.ToString(t.TaskArn)),
			shortID(aws.ToString(t.TaskDefinitionArn)), aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus),
			clock(t.CreatedAt), clock(t.StartedAt), clock(t.StoppingAt), aws.ToString(t.StoppedReason))
	}
	return b.String()
}

func clock(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("15:04:05.000")
}

func deploymentsString(ds []ecstypes.Deployment) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		td := aws.ToString(d.TaskDefinition)
		parts[i] = fmt.Sprintf("%s %s %s running %d pending %d failed %d", aws.ToString(d.Status), td[strings.LastIndex(td, "/")+1:],
			d.RolloutState, d.RunningCount, d.PendingCount, d.FailedTasks)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func shortID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
