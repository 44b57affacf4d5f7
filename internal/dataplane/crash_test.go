package dataplane_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/go-logr/logr"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// The crash test re-executes the test binary as a data plane process it can kill -9.
const (
	childStateDir = "NODELESS_TEST_DATAPLANE_STATE_DIR"
	childImage    = "NODELESS_TEST_DATAPLANE_IMAGE"
	childLog      = "NODELESS_TEST_DATAPLANE_LOG" // a file the data plane logs to (default: none)
)

func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case shimBinary:
		os.Exit(runShimWrapper()) // TestKillDuringTaskStart's containerd runs it as its shim
	case "runc":
		os.Exit(runRuncWrapper()) // TestKillDuringContainerCreate's shims run it as runc
	}
	if dir := os.Getenv(childStateDir); dir != "" {
		os.Exit(runChild(dir, os.Getenv(childImage)))
	}
	os.Exit(m.Run())
}

// runChild runs a data plane on dir until SIGTERM, printing "endpoint URL" once it serves.
func runChild(dir, image string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := logr.Discard()
	if path := os.Getenv(childLog); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		logger = logr.FromSlogHandler(slog.NewTextHandler(f, nil))
	}
	d, err := dataplane.New(dataplane.Options{StateDir: dir, Address: "127.0.0.1:0", Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case err := <-done:
		fmt.Fprintln(os.Stderr, err)
		return 1
	case <-d.Ready():
	}
	if image != "" {
		if err := loadImage(ctx, d, image); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println("endpoint", d.Endpoint())
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func loadImage(ctx context.Context, d *dataplane.DataPlane, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	_, err = d.Runtime().LoadImage(ctx, f)
	return err
}

type child struct {
	cmd      *exec.Cmd
	endpoint string
}

// startChild runs a data plane process on dir (loading the image tarball when not ""), with env
// added to this process's environment.
func startChild(t *testing.T, dir, image string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childStateDir+"="+dir, childImage+"="+image), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), "endpoint "); ok {
				lines <- ep
			}
		}
		close(lines)
	}()
	select {
	case ep, ok := <-lines:
		if !ok {
			t.Fatal("the data plane process exited before serving")
		}
		return &child{cmd: cmd, endpoint: ep}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the data plane process did not serve within 2 minutes")
	}
	return nil
}

// client reads the credentials file the data plane wrote, as any AWS client would.
func (c *child) client(t *testing.T, dir string) *ecs.Client {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedCredentialsFiles([]string{filepath.Join(dir, "credentials")}), config.WithSharedConfigFiles([]string{empty}),
		config.WithSharedConfigProfile(credentials.Profile), config.WithRegion(dataplane.DefaultRegion))
	if err != nil {
		t.Fatal(err)
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		o.BaseEndpoint = aws.String(c.endpoint)
		o.HTTPClient = &http.Client{Transport: dataplanetest.ConformanceTransport(t)}
	})
}

// TestKillNineAndRestart kills the data plane process with SIGKILL while a service and a task run,
// restarts it on the same state dir, and checks that everything is there, that the running tasks
// were re-attached (same tasks, same start times, still answering) and that none was duplicated.
func TestKillNineAndRestart(t *testing.T) {
	if err := dataplanetest.Requirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	if testing.Short() {
		t.Skip("skipping the kill -9 test in -short mode")
	}
	dir := t.TempDir()
	t.Cleanup(func() { killLeftovers(t, dir) })
	image := testimage.Tarball(t, "")
	first := startChild(t, dir, image)
	c := first.client(t, dir)
	ctx := context.Background()
	registerWeb(t, c)
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("svc"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2), ClientToken: aws.String("svc-token")}); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), ClientToken: aws.String("run-token")})
	if err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, aws.ToString(run.Tasks[0].TaskArn), "RUNNING", time.Minute)
	waitService(t, c, "svc", 2, time.Minute)
	before := describeAll(t, c)

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := startChild(t, dir, "")
	defer stopChild(t, second)
	c = second.client(t, dir)
	after := describeAll(t, c)
	if diff := compareStarts(before, after); diff != "" {
		t.Errorf("after kill -9 and restart: %s", diff)
	}
	get(t, waitTask(t, c, aws.ToString(run.Tasks[0].TaskArn), "RUNNING", 10*time.Second))
	// idempotency tokens survived: the same RunTask returns the same task
	again, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), ClientToken: aws.String("run-token")})
	if err != nil || aws.ToString(again.Tasks[0].TaskArn) != aws.ToString(run.Tasks[0].TaskArn) {
		t.Errorf("RunTask with the same token after restart: %v %v", err, again)
	}
	// no duplicates appear while the scheduler converges
	time.Sleep(3 * time.Second)
	if got := describeAll(t, c); len(got) != len(before) {
		t.Errorf("%d tasks before the crash, %d after converging", len(before), len(got))
	}
	cleanUp(t, c)
}

func registerWeb(t *testing.T, c *ecs.Client) {
	t.Helper()
	_, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(testimage.DefaultRef), StopTimeout: aws.Int32(2),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(testimage.Port)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// describeAll returns the RUNNING tasks by ARN, with their start times.
func describeAll(t *testing.T, c *ecs.Client) map[string]string {
	t.Helper()
	arns := listTasks(t, c)
	out := map[string]string{}
	if len(arns) == 0 {
		return out
	}
	desc, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: arns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range desc.Tasks {
		out[aws.ToString(task.TaskArn)] = aws.ToString(task.LastStatus) + " " + aws.ToTime(task.StartedAt).String()
	}
	return out
}

func compareStarts(before, after map[string]string) string {
	var diffs []string
	for arn, b := range before {
		if a := after[arn]; a != b {
			diffs = append(diffs, fmt.Sprintf("%s was %q, now %q", arn, b, a))
		}
	}
	for arn := range after {
		if _, ok := before[arn]; !ok {
			diffs = append(diffs, "new task "+arn)
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "; ")
}

// cleanUp deletes the service "svc" and stops every task, waiting until they are STOPPED.
func cleanUp(t *testing.T, c *ecs.Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("svc"), Force: aws.Bool(true)}); err != nil {
		t.Error(err)
	}
	stopTasks(t, c)
}

// stopTasks stops every task, waiting until they are STOPPED.
func stopTasks(t *testing.T, c *ecs.Client) {
	t.Helper()
	ctx := context.Background()
	for _, arn := range listTasks(t, c) {
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
			t.Error(err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		out, err := c.ListTasks(ctx, &ecs.ListTasksInput{DesiredStatus: ecstypes.DesiredStatusStopped})
		if err != nil {
			t.Fatal(err)
		}
		desc, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: out.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(desc.Tasks, func(x ecstypes.Task) bool { return aws.ToString(x.LastStatus) != "STOPPED" }) {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Error("tasks not STOPPED within a minute of cleaning up")
}

func stopChild(t *testing.T, c *child) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("data plane process: %v", err)
		}
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		t.Error("the data plane process did not stop within a minute of SIGTERM")
	}
}

// killLeftovers kills what this test started under dir and may have outlived it (its containerd
// and shims, containers after a failure), found by dir in their command line or root, then unmounts
// what is left.
func killLeftovers(t *testing.T, dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		root, _ := os.Readlink(filepath.Join("/proc", e.Name(), "root")) // a container's rootfs is under dir
		if err == nil && (strings.Contains(string(cmdline), dir) || strings.HasPrefix(root, dir)) {
			t.Logf("killing leftover process %d: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	time.Sleep(500 * time.Millisecond)
	dataplanetest.UnmountUnder(t, dir)
}
