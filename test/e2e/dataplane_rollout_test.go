package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// startInProcess runs the data plane in this process and loads the test image.
func startInProcess(ctx context.Context, t *testing.T) *dataplanetest.Env {
	t.Helper()
	requireFull(t)
	env := dataplanetest.Start(t)
	f, err := os.Open(testimage.Tarball(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := env.DataPlane.Runtime().LoadImage(ctx, f); err != nil {
		t.Fatalf("loading the test image: %v", err)
	}
	createCluster(ctx, t, env.ECS)
	return env
}

// TestDataPlaneRollingUpdateBounds rolls a service of 4 to a new revision with
// minimumHealthyPercent 50 and maximumPercent 150, sampling its tasks throughout: never fewer than
// 2 RUNNING, never more than 6 not STOPPED.
func TestDataPlaneRollingUpdateBounds(t *testing.T) {
	ctx := context.Background()
	env := startInProcess(ctx, t)
	c := env.ECS
	v1 := registerRevision(ctx, t, c, "web", webCommand("v1"), true)
	v2 := registerRevision(ctx, t, c, "web", webCommand("v2"), true)
	createService(ctx, t, c, serviceSpec{name: "web", taskDefinition: v1, desired: 4, min: 50, max: 150})
	waitFor(ctx, t, "4 healthy tasks of web:1", steadyOn(c, "web", v1, 4))

	sampler := startSampler(ctx, c, "web", 2, 6)
	deploy(ctx, t, c, "web", v2)
	waitFor(ctx, t, "the rollout to web:2 completes", steadyOn(c, "web", v2, 4))
	sampler.stop(t)

	s, err := describeService(ctx, c, "web")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"has started 2 tasks", "has stopped", "deployment completed", "has reached a steady state"} {
		if !hasEvent(s, want) {
			t.Errorf("no service event containing %q", want)
		}
	}
	if s.RunningCount != 4 || s.PendingCount != 0 || aws.ToString(s.TaskDefinition) != v2 {
		t.Errorf("service: running %d pending %d task definition %s", s.RunningCount, s.PendingCount, aws.ToString(s.TaskDefinition))
	}
	tasks, err := serviceTasks(ctx, c, "web")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if aws.ToString(task.LastStatus) != "STOPPED" {
			continue
		}
		if aws.ToString(task.TaskDefinitionArn) != v1 || task.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("stopped task %s of %s with %s", aws.ToString(task.TaskArn), aws.ToString(task.TaskDefinitionArn), task.StopCode)
		}
	}
}

// TestDataPlaneCircuitBreakerRollsBack deploys a revision whose container exits at once; the
// circuit breaker (threshold 3 for 2 tasks) fails the deployment and rolls back to web:1.
func TestDataPlaneCircuitBreakerRollsBack(t *testing.T) {
	ctx := context.Background()
	env := startInProcess(ctx, t)
	c := env.ECS
	good := registerRevision(ctx, t, c, "web", webCommand("good"), false)
	bad := registerRevision(ctx, t, c, "web", exitCommand(), false)
	createService(ctx, t, c, serviceSpec{name: "web", taskDefinition: good, desired: 2, min: 100, max: 200,
		breaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}})
	waitFor(ctx, t, "2 tasks of the good revision", steadyOn(c, "web", good, 2))

	deploy(ctx, t, c, "web", bad)
	waitFor(ctx, t, "the deployment fails and rolls back to the good revision", func(ctx context.Context) (bool, string, error) {
		s, err := describeService(ctx, c, "web")
		if err != nil {
			return false, "", err
		}
		ok := hasEvent(s, "deployment failed: tasks failed to start.") && hasEvent(s, "rolling back to deployment") &&
			aws.ToString(s.TaskDefinition) == good
		return ok, deploymentsString(s.Deployments), nil
	})
	waitFor(ctx, t, "the rollback completes", steadyOn(c, "web", good, 2))

	tasks, err := serviceTasks(ctx, c, "web")
	if err != nil {
		t.Fatal(err)
	}
	// Tasks of the bad revision exited on their own, or were still starting at the rollback and were
	// stopped by the scheduler.
	failed := 0
	for _, task := range tasks {
		if aws.ToString(task.TaskDefinitionArn) != bad {
			continue
		}
		switch task.StopCode {
		case ecstypes.TaskStopCodeEssentialContainerExited:
			failed++
			if aws.ToString(task.StoppedReason) != "Essential container in task exited" {
				t.Errorf("failed task %s: reason %q", aws.ToString(task.TaskArn), aws.ToString(task.StoppedReason))
			}
			if len(task.Containers) == 0 || aws.ToInt32(task.Containers[0].ExitCode) != 1 {
				t.Errorf("failed task %s: containers %+v, want exit code 1", aws.ToString(task.TaskArn), task.Containers)
			}
		case ecstypes.TaskStopCodeServiceSchedulerInitiated:
		default:
			t.Errorf("task %s of the bad revision: stopCode %q reason %q", aws.ToString(task.TaskArn), task.StopCode, aws.ToString(task.StoppedReason))
		}
	}
	if failed < 3 {
		t.Errorf("%d tasks of the bad revision exited, want at least the threshold 3", failed)
	}
}
