package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// clientFor waits until the data plane answers and returns an ECS client that signs with the
// credentials the data plane wrote (profile nodeless), as a user's client would.
func clientFor(ctx context.Context, t *testing.T, stateDir, addr string, p *dataplanetest.Process) *ecs.Client {
	t.Helper()
	c, err := p.Client(ctx, stateDir, addr, converge)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDataPlaneKill9MidRollout kills -9 a `nodeless dataplane` process in the middle of a rolling
// update, then again right after it restarts (during recovery), and checks that the service
// converges on the new revision with no duplicate task: exactly 4 tasks not STOPPED, and exactly
// their containers in containerd. The bounds are sampled throughout, across the crashes.
func TestDataPlaneKill9MidRollout(t *testing.T) {
	bin := requireBinary(t)
	ctx := context.Background()
	stateDir := t.TempDir()
	t.Cleanup(func() { dataplanetest.UnmountUnder(t, stateDir) }) // last: after the data plane and containers are gone
	t.Cleanup(func() { dataplanetest.KillLeftoverShims(t, stateDir) })
	load := exec.Command(bin, "image", "load", "--state-dir", stateDir, testimage.Tarball(t, ""))
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("nodeless image load: %v\n%s", err, out)
	}
	addr := dataplanetest.FreeAddress(t)
	p := dataplanetest.StartProcess(t, bin, stateDir, addr, 1)
	t.Cleanup(func() { cleanUpDataplane(t, &p, stateDir) })
	c := clientFor(ctx, t, stateDir, addr, p)

	createCluster(ctx, t, c)
	v1 := registerRevision(ctx, t, c, "web", webCommand("v1"), true)
	v2 := registerRevision(ctx, t, c, "web", webCommand("v2"), true)
	createService(ctx, t, c, serviceSpec{name: "web", taskDefinition: v1, desired: 4, min: 50, max: 150})
	waitFor(ctx, t, "4 healthy tasks of web:1", steadyOn(c, "web", v1, 4))

	// The sampler's client does not retry: while the data plane is down its calls fail at once, and
	// it samples again as soon as the data plane is back.
	sampler := startSampler(ctx, ecs.New(c.Options(), func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} }), "web", 2, 6)
	deploy(ctx, t, c, "web", v2)
	waitMidRollout(ctx, t, c, "web", v2)
	p.Kill9(t)
	t.Log("killed -9 mid-rollout")
	p = dataplanetest.StartProcess(t, bin, stateDir, addr, 2)
	_ = clientFor(ctx, t, stateDir, addr, p)
	p.Kill9(t)
	t.Log("killed -9 again right after the restart")
	p = dataplanetest.StartProcess(t, bin, stateDir, addr, 3)
	_ = clientFor(ctx, t, stateDir, addr, p)

	waitFor(ctx, t, "the rollout to web:2 converges after the crashes", steadyOn(c, "web", v2, 4))
	sampler.stop(t)

	tasks, err := serviceTasks(ctx, c, "web")
	if err != nil {
		t.Fatal(err)
	}
	logTasks(t, tasks)
	logEvents(ctx, t, c, "web")
	var want []string
	for _, task := range tasks {
		if aws.ToString(task.LastStatus) != "STOPPED" {
			arn := aws.ToString(task.TaskArn)
			want = append(want, arn[strings.LastIndex(arn, "/")+1:])
		}
	}
	sort.Strings(want)
	if len(want) != 4 {
		t.Errorf("%d tasks not STOPPED after convergence, want 4: %v", len(want), want)
	}
	var got []string
	waitFor(ctx, t, "containerd holds exactly the containers of the 4 tasks", func(ctx context.Context) (bool, string, error) {
		got, err = dataplanetest.ContainerTaskIDs(ctx, stateDir)
		return err == nil && strings.Join(got, ",") == strings.Join(want, ","), fmt.Sprintf("containers of tasks %v, want %v", got, want), err
	})
}

// waitMidRollout polls quickly (a rollout of 4 takes seconds) until the new deployment has a task
// that is not STOPPED while the old deployment is still there.
func waitMidRollout(ctx context.Context, t *testing.T, c *ecs.Client, service, taskDefinition string) {
	t.Helper()
	deadline := time.Now().Add(converge)
	for time.Now().Before(deadline) {
		s, err := describeService(ctx, c, service)
		if err == nil && len(s.Deployments) > 1 {
			tasks, err := serviceTasks(ctx, c, service)
			if err == nil && count(tasks).byDefinition[taskDefinition] > 0 {
				t.Logf("mid-rollout: deployments %s", deploymentsString(s.Deployments))
				return
			}
		}
		if err == nil && len(s.Deployments) == 1 && aws.ToString(s.Deployments[0].TaskDefinition) == taskDefinition &&
			s.Deployments[0].RolloutState == "COMPLETED" {
			t.Fatal("the rollout completed before the test could catch it in the middle")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no rollout under way within %s", converge)
}

// logTasks logs every task: ID, revision, lastStatus, desiredStatus, stop code and version.
func logTasks(t *testing.T, tasks []ecstypes.Task) {
	sort.Slice(tasks, func(i, j int) bool { return aws.ToTime(tasks[i].CreatedAt).Before(aws.ToTime(tasks[j].CreatedAt)) })
	for _, task := range tasks {
		arn := aws.ToString(task.TaskArn)
		td := aws.ToString(task.TaskDefinitionArn)
		t.Logf("task %s %s %s desired %s stop %q %q version %d", arn[strings.LastIndex(arn, "/")+1:], td[strings.LastIndex(td, "/")+1:],
			aws.ToString(task.LastStatus), aws.ToString(task.DesiredStatus), task.StopCode, aws.ToString(task.StoppedReason), task.Version)
	}
}

// keepLogs copies the data plane processes' logs to $NODELESS_E2E_LOGDIR, when set.
func keepLogs(t *testing.T, stateDir string) {
	dir := os.Getenv("NODELESS_E2E_LOGDIR")
	if dir == "" {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(stateDir, "e2e-dataplane-*.log"))
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			_ = os.WriteFile(filepath.Join(dir, filepath.Base(l)), b, 0o644)
		}
	}
}

// cleanUpDataplane stops the last process, then lets an in-process data plane on the same state dir
// kill and remove every container and stop containerd (dataplanetest's cleanup does that).
func cleanUpDataplane(t *testing.T, p **dataplanetest.Process, stateDir string) {
	(*p).Terminate(t)
	keepLogs(t, stateDir)
	_ = dataplanetest.StartIn(t, stateDir) // its own cleanup purges the containers and stops it
}
