package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/containerd/containerd"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/containerdproc"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// dataplaneProcess is `nodeless dataplane` running as a child process.
type dataplaneProcess struct {
	cmd  *exec.Cmd
	done chan error
}

func startDataplane(t *testing.T, bin, stateDir, addr string, n int) *dataplaneProcess {
	t.Helper()
	logPath := filepath.Join(stateDir, fmt.Sprintf("e2e-dataplane-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "dataplane", "--state-dir", stateDir, "--address", addr,
		"--healthy-after-running", dataplanetest.HealthyAfterRunning.String())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s dataplane: %v", bin, err)
	}
	p := &dataplaneProcess{cmd: cmd, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		logFile.Close()
	}()
	t.Logf("nodeless dataplane #%d: pid %d, log %s", n, cmd.Process.Pid, logPath)
	return p
}

// kill9 kills the process as a crash would: no shutdown code runs.
func (p *dataplaneProcess) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-p.done
}

// terminate asks the process to shut down, killing it if it does not within a minute.
func (p *dataplaneProcess) terminate(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Errorf("nodeless dataplane did not stop within a minute of SIGTERM; killing it")
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// clientFor waits until the data plane answers and returns an ECS client that signs with the
// credentials the data plane wrote (profile nodeless), as a user's client would.
func clientFor(ctx context.Context, t *testing.T, stateDir, addr string, p *dataplaneProcess) *ecs.Client {
	t.Helper()
	credentials := filepath.Join(stateDir, "credentials")
	var c *ecs.Client
	waitFor(ctx, t, "the data plane serves", func(ctx context.Context) (bool, string, error) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("nodeless dataplane exited: %v (see its log in %s)", err, stateDir)
		default:
		}
		if _, err := os.Stat(credentials); err != nil {
			return false, "no credentials file yet", nil
		}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedCredentialsFiles([]string{credentials}),
			config.WithSharedConfigProfile("nodeless"), config.WithRegion("us-east-1"))
		if err != nil {
			return false, "", err
		}
		c = ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String("http://" + addr) })
		_, err = c.ListClusters(ctx, &ecs.ListClustersInput{})
		return err == nil, "ListClusters", err
	})
	return c
}

// containerTaskIDs lists the task IDs of the containers in the data plane's containerd (container
// IDs are "<task ID>-<container name>").
func containerTaskIDs(ctx context.Context, stateDir string) ([]string, error) {
	sock := containerdproc.SocketPath(runtime.ContainerdDir(stateDir))
	client, err := containerd.New(sock, containerd.WithDefaultNamespace(runtime.Namespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connecting to containerd at %s: %w", sock, err)
	}
	defer client.Close()
	containers, err := client.Containers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var ids []string
	for _, c := range containers {
		id, _, _ := strings.Cut(c.ID(), "-")
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// TestDataPlaneKill9MidRollout kills -9 a `nodeless dataplane` process in the middle of a rolling
// update, then again right after it restarts (during recovery), and checks that the service
// converges on the new revision with no duplicate task: exactly 4 tasks not STOPPED, and exactly
// their containers in containerd. The bounds are sampled throughout, across the crashes.
func TestDataPlaneKill9MidRollout(t *testing.T) {
	bin := requireBinary(t)
	ctx := context.Background()
	stateDir := t.TempDir()
	t.Cleanup(func() { unmountBelow(t, stateDir) }) // last: after the data plane and containers are gone
	t.Cleanup(func() { killLeftoverShims(t, stateDir) })
	load := exec.Command(bin, "image", "load", "--state-dir", stateDir, testimage.Tarball(t, ""))
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("nodeless image load: %v\n%s", err, out)
	}
	addr := freeAddress(t)
	p := startDataplane(t, bin, stateDir, addr, 1)
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
	p.kill9(t)
	t.Log("killed -9 mid-rollout")
	p = startDataplane(t, bin, stateDir, addr, 2)
	_ = clientFor(ctx, t, stateDir, addr, p)
	p.kill9(t)
	t.Log("killed -9 again right after the restart")
	p = startDataplane(t, bin, stateDir, addr, 3)
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
		got, err = containerTaskIDs(ctx, stateDir)
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
func cleanUpDataplane(t *testing.T, p **dataplaneProcess, stateDir string) {
	(*p).terminate(t)
	keepLogs(t, stateDir)
	_ = dataplanetest.StartIn(t, stateDir) // its own cleanup purges the containers and stops it
}

// killLeftoverShims kills containerd shims of stateDir still running after the data plane and its
// containers are gone (a shim whose task creation a kill -9 interrupted can outlive everything), so
// that the test leaves no process behind; it logs them, since they are a runtime leak.
func killLeftoverShims(t *testing.T, stateDir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(raw), "\x00", " ")
		if !strings.Contains(cmd, "containerd-shim") || !strings.Contains(cmd, stateDir+"/") {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(filepath.Dir(p)), "%d", &pid); err != nil {
			continue
		}
		t.Logf("killing a containerd shim left behind (pid %d): %s", pid, cmd)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// unmountBelow detaches every mount under dir (network namespaces, root filesystems), deepest
// first, so that the test's temporary directory can be removed.
func unmountBelow(t *testing.T, dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Field 5 of a mountinfo line is the mount point.
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Logf("unmounting %s: %v", m, err)
		}
	}
}
