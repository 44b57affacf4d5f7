package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/go-logr/logr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// helperEnv makes the test binary act as a nodeless process that starts a task and then waits to
// be killed (see TestKill9KeepsContainers).
const helperEnv = "NODELESS_RUNTIME_KILL9_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		if err := kill9Helper(dir); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
		return
	}
	os.Exit(m.Run())
}

// kill9Helper starts a runtime on dir, loads the image at dir/image.tar, starts the task in
// dir/spec.json, writes its runtime state to dir/state.json once it runs, and blocks.
func kill9Helper(dir string) error {
	var spec TaskSpec
	raw, err := os.ReadFile(filepath.Join(dir, "spec.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return err
	}
	runningCh := make(chan struct{}, 1)
	rt, err := NewContainerd(ContainerdOptions{StateDir: filepath.Join(dir, "state"), Logger: logr.Discard(), Observer: func(_ string, st TaskState) {
		if len(st.Containers) > 0 && st.Containers[0].Status == "RUNNING" {
			select {
			case runningCh <- struct{}{}:
			default:
			}
		}
	}})
	if err != nil {
		return err
	}
	ctx := context.Background()
	go func() { _ = rt.Run(ctx) }()
	<-rt.Ready()
	f, err := os.Open(filepath.Join(dir, "image.tar"))
	if err != nil {
		return err
	}
	if _, err := rt.LoadImage(ctx, f); err != nil {
		return err
	}
	state, err := rt.Start(ctx, spec)
	if err != nil {
		return err
	}
	<-runningCh
	b, _ := json.Marshal(state)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600); err != nil {
		return err
	}
	fmt.Println("ready")
	select {}
}

// TestKill9KeepsContainers kills a nodeless process with SIGKILL while its task runs; a new runtime
// on the same state dir adopts the still-running containerd and re-attaches without a restart.
func TestKill9KeepsContainers(t *testing.T) {
	requireContainerd(t)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	t.Cleanup(func() { unmountUnder(t, dir) })
	spec := taskSpec(container("web", withPort(8080), withCommand("-listen", ":8080", "-stdout", "started")))
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(testimageTarball(t), filepath.Join(dir, "image.tar")); err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(os.Args[0])
	helper.Env = append(os.Environ(), helperEnv+"="+dir)
	helper.Stderr = os.Stderr
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		_ = helper.Process.Kill()
		_ = helper.Wait()
		t.Fatalf("helper said %q", line)
	}
	var state store.TaskRuntimeState
	raw, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	port := state.HostPorts["8080/tcp"]
	get(t, port, "/")
	_ = helper.Process.Signal(syscall.SIGKILL)
	_ = helper.Wait()

	e := newEnv(t, stateDir) // adopts the containerd the killed process left running
	t.Cleanup(func() { _ = e.rt.Remove(context.Background(), spec.TaskID, state) })
	pid1 := taskPid(t, e.rt, state.ContainerIDs["web"])
	if err := e.rt.Attach(context.Background(), spec, state); err != nil {
		t.Fatal(err)
	}
	e.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("web"))
	get(t, port, "/")
	if pid2 := taskPid(t, e.rt, state.ContainerIDs["web"]); pid2 != pid1 {
		t.Errorf("container restarted: pid %d → %d", pid1, pid2)
	}
	logs, _ := os.ReadFile(LogPath(stateDir, spec.TaskID, "web"))
	if n := strings.Count(string(logs), "started"); n != 1 {
		t.Errorf("container started %d times", n)
	}
}

// TestContainerdCrashIsNotAnExit kills containerd under a running task: the supervisor starts it
// again, the container is still reported RUNNING (no spurious exit), and a later stop still works.
func TestContainerdCrashIsNotAnExit(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	def := container("web", withPort(8080), withCommand("-listen", ":8080", "-term-exit", "0"))
	def.StopTimeout = ptr(int32(5))
	spec := taskSpec(def)
	st := e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("web"))
	pidFile := filepath.Join(ContainerdDir(e.stateDir), "containerd.pid")
	pid := e.killContainerd()
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, _ := os.ReadFile(pidFile)
		if p, _ := strconv.Atoi(string(raw)); p != 0 && p != pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("containerd not restarted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the waiters notice the broken stream and wait again
	get(t, st.HostPorts["8080/tcp"], "/")
	e.mu.Lock()
	last := e.states[spec.TaskID][len(e.states[spec.TaskID])-1]
	e.mu.Unlock()
	if !running("web")(last) {
		t.Fatalf("after the containerd crash the task is %+v", last)
	}
	if err := e.rt.Stop(context.Background(), spec.TaskID); err != nil {
		t.Fatal(err)
	}
	got := e.waitState(spec.TaskID, 10*time.Second, "STOPPED", stopped("web"))
	if c := findContainer(got, "web"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("exit = %v, want 0 after SIGTERM", c.ExitCode)
	}
}

// TestStartWhileContainerdRestarts starts a task right after containerd was killed: the start waits
// for the supervisor to bring containerd back instead of failing the task.
func TestStartWhileContainerdRestarts(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	e.killContainerd()
	spec := taskSpec(container("web", withPort(8080)))
	st := e.start(spec)
	got := e.waitState(spec.TaskID, 40*time.Second, "RUNNING or failed", func(s TaskState) bool {
		return running("web")(s) || s.StartFailure != ""
	})
	if got.StartFailure != "" {
		t.Fatalf("start during the containerd restart failed: %s", got.StartFailure)
	}
	get(t, st.HostPorts["8080/tcp"], "/")
}

// TestStartResumesACreatedTask: nodeless killed after containerd created a container's task and
// before that task was started leaves it created, not running. Resuming the task with Start (as
// the scheduler does for a task that had not reached RUNNING) must start that process, not
// supervise it as running: it would be reported RUNNING and never answer.
func TestStartResumesACreatedTask(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	ctx := context.Background()
	spec := taskSpec(container("web", withPort(8080)))
	st, err := e.rt.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	e.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("web"))
	// What the killed process left: the container's task created again, never started.
	cont, err := e.rt.Client().LoadContainer(ctx, st.ContainerIDs["web"])
	if err != nil {
		t.Fatal(err)
	}
	proc, err := cont.Task(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proc.Delete(ctx, containerd.WithProcessKill); err != nil {
		t.Fatal(err)
	}
	if _, err := cont.NewTask(ctx, cio.LogFile(LogPath(e.stateDir, spec.TaskID, "web"))); err != nil {
		t.Fatal(err)
	}
	e.stop()

	e2 := newEnv(t, e.stateDir)
	st2 := e2.start(spec)
	e2.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("web"))
	get(t, st2.HostPorts["8080/tcp"], "/")
}
