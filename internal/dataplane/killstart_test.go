package dataplane_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// The kill-during-start test puts the test binary in front of containerd's runc shim (a
// containerd-shim-runc-v2 on the PATH of the data plane, hence of its containerd): it runs the
// real shim, and once it stops a shim's start half-way, as a SIGKILL of nodeless does.
const (
	shimBinary    = "containerd-shim-runc-v2"
	realShimEnv   = "NODELESS_TEST_REAL_SHIM"
	realRuncEnv   = "NODELESS_TEST_REAL_RUNC"
	wrapperDirEnv = "NODELESS_TEST_WRAPPER_DIR" // where the wrappers' trigger and marker files are
)

// TestKillDuringTaskStart kills the data plane with SIGKILL while containerd starts the shim of a
// task's container, at the moment that made a task start hang for a minute in the chaos soak
// (bench/README.md, bug 6): the shim's start had forked the shim daemon, which had not yet opened
// its log FIFO. containerd then kills the start (its request's context ended with the client),
// closes the FIFO's reader and deletes the bundle; the daemon stays, blocked for ever opening the
// FIFO, on a socket that accepts connections but is never served. The restarted data plane resumes
// the task with Start; containerd's next shim start found that socket and handed the task's
// creation to the stranded daemon, and NewTask waited until its 1-minute timeout failed the task.
//
// The moment is made deterministic rather than hit by chance: the shim wrapper (runShimWrapper)
// swaps the bundle's log FIFO for one without a reader before it runs the real start, waits until
// the daemon blocks opening it, and then waits to be killed; the test kills the data plane then.
// The outcome asserted: the task runs after the restart (and answers), and the stranded daemon is
// gone.
func TestKillDuringTaskStart(t *testing.T) { testKillWithStrandedShim(t, "trigger") }

// TestKillWhileAStrandedShimTakesTheCreate is TestKillDuringTaskStart with a stranded shim that
// containerd did hand the task's creation to (the shim's start answered, as if containerd's
// request had been cut off only after it): the data plane is killed while that creation waits for
// the daemon, containerd gives up undoing it after its cleanup timeouts and leaves the bundle and
// the daemon, and the restarted data plane's creation is refused while the bundle exists. It must
// remove what containerd forgot and start the task; before, it failed the task.
func TestKillWhileAStrandedShimTakesTheCreate(t *testing.T) {
	testKillWithStrandedShim(t, "trigger-answer")
}

// testKillWithStrandedShim runs a task whose shim start the wrapper strands (trigger names the
// wrapper's mode), kills the data plane, restarts it and checks that the task runs.
func testKillWithStrandedShim(t *testing.T, trigger string) {
	requireKillable(t)
	realShim, err := exec.LookPath(shimBinary)
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Cleanup(func() { killLeftovers(t, dir) })
	wrapDir := filepath.Join(dir, "wrapper")
	if err := os.Mkdir(wrapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(wrapDir, shimBinary)); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + wrapDir + ":" + os.Getenv("PATH"), realShimEnv + "=" + realShim, wrapperDirEnv + "=" + wrapDir}
	stateDir := filepath.Join(dir, "state")
	image := testimage.Tarball(t, "")
	first := startChild(t, stateDir, image, env...)
	c := first.client(t, stateDir)
	registerWeb(t, c)

	// The next shim start is interrupted.
	if err := os.WriteFile(filepath.Join(wrapDir, trigger), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String("web"), ClientToken: aws.String("kill-during-start")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitFile(t, filepath.Join(wrapDir, "stranded"), 2*time.Minute)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := startChild(t, stateDir, "", env...)
	defer stopChild(t, second)
	c = second.client(t, stateDir)
	task := waitStarted(t, c, arn, 3*time.Minute)
	if aws.ToString(task.LastStatus) != "RUNNING" {
		t.Fatalf("after the restart the task is %s (%s), want RUNNING", aws.ToString(task.LastStatus), aws.ToString(task.StoppedReason))
	}
	get(t, task)
	if shims := shimDaemons(containerIDOf(task)); len(shims) != 1 {
		t.Errorf("shim daemons of the task's container: %v, want just the one serving it", shims)
	}
	stopTasks(t, c)
}

// TestKillDuringContainerCreate kills the data plane with SIGKILL while the shim of a task's
// container runs `runc create`, which made the restarted data plane's start of the task fail in
// the chaos soak (bench/README.md, after bug 6: "failed to start shim: mkdir …: file exists"):
// containerd undoes the creation the killed data plane asked for only once the shim has finished
// creating the container, and meanwhile refuses a new creation because its bundle exists. The
// restarted data plane must wait for that and create the task then, not fail it.
//
// runc is the test binary in front of the real runc (runRuncWrapper): the first `runc create`
// after the trigger file appeared waits until the test releases it, which the test does once the
// restarted data plane has met the creation being undone (its log says so) or failed the task.
func TestKillDuringContainerCreate(t *testing.T) {
	requireKillable(t)
	realRunc, err := exec.LookPath("runc")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Cleanup(func() { killLeftovers(t, dir) })
	wrapDir := filepath.Join(dir, "wrapper")
	if err := os.Mkdir(wrapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(wrapDir, "runc")); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "dataplane.log")
	env := []string{"PATH=" + wrapDir + ":" + os.Getenv("PATH"), realRuncEnv + "=" + realRunc, wrapperDirEnv + "=" + wrapDir, childLog + "=" + logPath}
	stateDir := filepath.Join(dir, "state")
	first := startChild(t, stateDir, testimage.Tarball(t, ""), env...)
	c := first.client(t, stateDir)
	registerWeb(t, c)
	if err := os.WriteFile(filepath.Join(wrapDir, "runc-trigger"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String("web"), ClientToken: aws.String("kill-during-create")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitFile(t, filepath.Join(wrapDir, "runc-holding"), 2*time.Minute)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := startChild(t, stateDir, "", env...)
	defer stopChild(t, second)
	c = second.client(t, stateDir)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		logged, _ := os.ReadFile(logPath)
		if strings.Contains(string(logged), "interrupted creation") || taskStatus(t, c, arn) == "STOPPED" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(wrapDir, "runc-release"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	task := waitStarted(t, c, arn, 3*time.Minute)
	if aws.ToString(task.LastStatus) != "RUNNING" {
		t.Fatalf("after the restart the task is %s (%s), want RUNNING", aws.ToString(task.LastStatus), aws.ToString(task.StoppedReason))
	}
	get(t, task)
	stopTasks(t, c)
}

func taskStatus(t *testing.T, c *ecs.Client, arn string) string {
	t.Helper()
	out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %v %+v", arn, err, out)
	}
	return aws.ToString(out.Tasks[0].LastStatus)
}

// runRuncWrapper is the test binary run as runc (TestKillDuringContainerCreate): it runs the real
// runc, but the first `runc create` after the trigger file appeared first waits until the release
// file appears.
func runRuncWrapper() int {
	real, dir := os.Getenv(realRuncEnv), os.Getenv(wrapperDirEnv)
	args := os.Args[1:]
	if slices.Contains(args, "create") && os.Remove(filepath.Join(dir, "runc-trigger")) == nil {
		if err := os.WriteFile(filepath.Join(dir, "runc-holding"), nil, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "runc wrapper:", err)
			return 1
		}
		for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(dir, "runc-release")); err == nil {
				break
			}
		}
	}
	err := syscall.Exec(real, append([]string{real}, args...), os.Environ())
	fmt.Fprintln(os.Stderr, "runc wrapper:", err)
	return 1
}

func requireKillable(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the kill -9 test in -short mode")
	}
	if err := dataplanetest.Requirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// waitStarted waits until the task is RUNNING or STOPPED and returns it.
func waitStarted(t *testing.T, c *ecs.Client, arn string, timeout time.Duration) ecstypes.Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) == 1 && slices.Contains([]string{"RUNNING", "STOPPED"}, aws.ToString(out.Tasks[0].LastStatus)) {
			return out.Tasks[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s neither RUNNING nor STOPPED within %s: %+v", arn, timeout, out.Tasks)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written within %s", path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// containerIDOf is the containerd ID of the task's first container (runtime.ContainerID).
func containerIDOf(task ecstypes.Task) string {
	return aws.ToString(task.Containers[0].RuntimeId)
}

// shimDaemons lists the pids of the shim daemons (not their start commands) of container id.
func shimDaemons(id string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		args := cmdline(pid)
		if len(args) > 0 && filepath.Base(args[0]) == shimBinary && flagValue(args, "-id") == id && args[len(args)-1] != "start" && !zombie(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func cmdline(pid int) []string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(raw) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
}

func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// zombie reports whether pid has exited and waits for its parent (this sandbox's pid 1 reaps no
// orphans).
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z")
}

// runShimWrapper is the test binary run by containerd as its runc shim (TestKillDuringTaskStart).
// It runs the real shim, except for the first start after the trigger file appeared in its
// directory: that start it interrupts as a SIGKILL of nodeless does — the shim daemon is forked,
// and its log FIFO has no reader — and then it waits to be killed.
func runShimWrapper() int {
	real, dir := os.Getenv(realShimEnv), os.Getenv(wrapperDirEnv)
	args := os.Args[1:]
	start := len(args) > 0 && args[len(args)-1] == "start"
	answer := start && os.Remove(filepath.Join(dir, "trigger-answer")) == nil
	if !start || (!answer && os.Remove(filepath.Join(dir, "trigger")) != nil) {
		err := syscall.Exec(real, append([]string{real}, args...), os.Environ())
		fmt.Fprintln(os.Stderr, "shim wrapper:", err)
		return 1
	}
	address, err := strandShim(real, args)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "stranded"), nil, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shim wrapper:", err)
		return 1
	}
	if answer {
		_, _ = os.Stdout.Write(address) // containerd hands the task's creation to the stranded daemon
		return 0
	}
	time.Sleep(10 * time.Minute) // containerd kills this start when the data plane's request ends
	return 1
}

// strandShim runs the real shim's start (in the bundle, the working directory) with the bundle's log
// FIFO replaced by one nobody reads, and waits until the daemon it forked blocks opening it.
// It returns what the start printed: the daemon's address.
func strandShim(real string, args []string) ([]byte, error) {
	if err := os.Rename("log", "log.containerd"); err != nil {
		return nil, err
	}
	if err := unix.Mkfifo("log", 0o700); err != nil {
		return nil, err
	}
	start := exec.Command(real, args...)
	start.Stdin, start.Stderr = os.Stdin, os.Stderr
	address, err := start.Output()
	if err != nil {
		return nil, fmt.Errorf("real shim start: %w", err)
	}
	id := flagValue(args, "-id")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, pid := range shimDaemons(id) {
			if blockedOnFIFO(pid) {
				return address, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, errors.New("the shim daemon did not block opening its log FIFO within a minute")
}

// blockedOnFIFO reports whether a thread of pid waits in open(2) of a FIFO for a reader.
func blockedOnFIFO(pid int) bool {
	chans, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, p := range chans {
		if b, err := os.ReadFile(p); err == nil && string(b) == "wait_for_partner" {
			return true
		}
	}
	return false
}
