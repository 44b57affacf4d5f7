package runtime

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/procwatch"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// fakeShimEnv makes the test binary act as a shim (TestFakeShim): it starts a child (as a shim
// starts its logging process) and sleeps.
const fakeShimEnv = "NODELESS_RUNTIME_FAKE_SHIM"

// TestFakeShim is not a test: run with fakeShimEnv set, it is the fake shim of
// TestKillForgottenShims. It prints its child's pid and sleeps.
func TestFakeShim(t *testing.T) {
	if os.Getenv(fakeShimEnv) == "" {
		t.Skip("the fake shim of TestKillForgottenShims; runs only as its child")
	}
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	_, _ = os.Stdout.WriteString(strconv.Itoa(child.Process.Pid) + "\n")
	time.Sleep(60 * time.Second)
}

// TestKillForgottenShims: the shim of a deleted container that containerd forgot (killed while it
// created the task) is killed with its child, and only it: not a shim of another container, nor
// of another daemon.
func TestKillForgottenShims(t *testing.T) {
	dir := t.TempDir()
	shimPath := filepath.Join(dir, shimBinary)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, shimPath); err != nil {
		t.Fatal(err)
	}
	address := filepath.Join(dir, "containerd.sock")
	start := func(id, address string) (shim *exec.Cmd, child int) {
		cmd := exec.Command(shimPath, "-test.run=^TestFakeShim$", "--", "-namespace", Namespace, "-id", id, "-address", address)
		cmd.Env = append(os.Environ(), fakeShimEnv+"=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		buf := make([]byte, 32)
		n, _ := out.Read(buf)
		child, err = strconv.Atoi(string(buf[:n-1]))
		if err != nil {
			t.Fatalf("reading the fake shim's child pid from %q: %v", buf[:n], err)
		}
		t.Cleanup(func() { _ = unix.Kill(child, unix.SIGKILL) })
		return cmd, child
	}
	forgotten, forgottenChild := start("task1-app", address)
	other, _ := start("task2-app", address)
	otherDaemon, _ := start("task1-app", filepath.Join(dir, "other.sock"))

	got := killForgottenShims(address, "task1-app")
	if want := []int{forgotten.Process.Pid}; !slices.Equal(got, want) {
		t.Errorf("killForgottenShims killed %v, want %v", got, want)
	}
	if err := forgotten.Wait(); err == nil {
		t.Error("the forgotten shim exited on its own, want killed")
	}
	if !gone(forgottenChild) {
		t.Errorf("the forgotten shim's child %d still runs", forgottenChild)
	}
	for _, c := range []*exec.Cmd{other, otherDaemon} {
		if err := unix.Kill(c.Process.Pid, 0); err != nil {
			t.Errorf("shim %v was killed: %v", c.Args, err)
		}
	}
}

// TestKillStrandedShims: of the shims of a container, the one whose bundle (working directory) was
// deleted is killed with its child, and waited for; one whose bundle exists is not, nor a stranded
// shim of another daemon.
func TestKillStrandedShims(t *testing.T) {
	dir := t.TempDir()
	shimPath := filepath.Join(dir, shimBinary)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, shimPath); err != nil {
		t.Fatal(err)
	}
	address := filepath.Join(dir, "containerd.sock")
	start := func(address, bundle string) (shim *exec.Cmd, child int) {
		if err := os.MkdirAll(bundle, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(shimPath, "-test.run=^TestFakeShim$", "--", "-namespace", Namespace, "-id", "task1-app", "-address", address)
		cmd.Dir = bundle
		cmd.Env = append(os.Environ(), fakeShimEnv+"=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		buf := make([]byte, 32)
		n, _ := out.Read(buf)
		child, err = strconv.Atoi(string(buf[:n-1]))
		if err != nil {
			t.Fatalf("reading the fake shim's child pid from %q: %v", buf[:n], err)
		}
		t.Cleanup(func() { _ = unix.Kill(child, unix.SIGKILL) })
		return cmd, child
	}
	stranded, strandedChild := start(address, filepath.Join(dir, "stranded"))
	serving, _ := start(address, filepath.Join(dir, "serving"))
	otherDaemon, _ := start(filepath.Join(dir, "other.sock"), filepath.Join(dir, "other"))
	for _, bundle := range []string{"stranded", "other"} {
		if err := os.RemoveAll(filepath.Join(dir, bundle)); err != nil {
			t.Fatal(err)
		}
	}

	got := killStrandedShims(address, "task1-app")
	if want := []int{stranded.Process.Pid}; !slices.Equal(got, want) {
		t.Errorf("killStrandedShims killed %v, want %v", got, want)
	}
	if !procwatch.Zombie(stranded.Process.Pid) {
		t.Error("killStrandedShims returned before the stranded shim exited")
	}
	if !gone(strandedChild) {
		t.Errorf("the stranded shim's child %d still runs", strandedChild)
	}
	for _, c := range []*exec.Cmd{serving, otherDaemon} {
		if err := unix.Kill(c.Process.Pid, 0); err != nil || procwatch.Zombie(c.Process.Pid) {
			t.Errorf("shim %v in %s was killed", c.Args, c.Dir)
		}
	}
}

// gone waits up to 5 s for pid to exit (its parent, killed, does not reap it: it may stay a zombie).
func gone(pid int) bool {
	for range 50 {
		if unix.Kill(pid, 0) != nil || procwatch.Zombie(pid) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// TestStopWhileContainerdRestarts stops a task right after containerd was killed: the SIGTERM
// reaches the container once containerd is back, instead of being lost until the stop timeout
// (two minutes here, longer than the wait).
func TestStopWhileContainerdRestarts(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	def := container("web", withPort(8080), withCommand("-listen", ":8080", "-term-exit", "0"))
	def.StopTimeout = ptr(int32(120))
	spec := taskSpec(def)
	e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("web"))
	e.killContainerd()
	if err := e.rt.Stop(context.Background(), spec.TaskID); err != nil {
		t.Fatal(err)
	}
	got := e.waitState(spec.TaskID, time.Minute, "STOPPED", stopped("web"))
	if c := findContainer(got, "web"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("exit code %s, want 0 after SIGTERM (137: SIGKILL after the stop timeout, the SIGTERM was lost)", exitString(c.ExitCode))
	}
}

func exitString(code *int32) string {
	if code == nil {
		return "none"
	}
	return strconv.Itoa(int(*code))
}

// TestRemoveSearchesOnlyWhenInDoubt counts the searches for forgotten shims: none when the
// daemon that started a container's shim deletes its task in the same process; one per container
// when containerd was restarted since the container was created (it may have forgotten a shim it
// was starting), or when an earlier process created it (it may have been killed while creating
// or deleting the task). And no shim of the removed containers runs afterwards.
func TestRemoveSearchesOnlyWhenInDoubt(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	ctx := context.Background()
	run := func() (TaskSpec, store.TaskRuntimeState) {
		spec := taskSpec(container("web", withPort(8080)))
		st, err := e.rt.Start(ctx, spec) // removed below, by this runtime or the next one
		if err != nil {
			t.Fatal(err)
		}
		e.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("web"))
		return spec, st
	}
	remove := func(rt *Containerd, spec TaskSpec, st store.TaskRuntimeState) uint64 {
		t.Helper()
		before := rt.shimSearches.Load()
		if err := rt.Stop(ctx, spec.TaskID); err != nil {
			t.Fatal(err)
		}
		if err := rt.Remove(ctx, spec.TaskID, st); err != nil {
			t.Fatal(err)
		}
		// A shim the daemon shut down exits on its own, soon after.
		pids := shimsOf(rt.Address(), st.ContainerIDs["web"])
		for deadline := time.Now().Add(10 * time.Second); len(pids) > 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			pids = shimsOf(rt.Address(), st.ContainerIDs["web"])
		}
		if len(pids) > 0 {
			t.Errorf("shims %v of %s still run 10 s after Remove", pids, st.ContainerIDs["web"])
		}
		return rt.shimSearches.Load() - before
	}

	spec, st := run()
	if n := remove(e.rt, spec, st); n != 0 {
		t.Errorf("removing a task the same daemon ran in this process: %d searches, want 0", n)
	}

	spec, st = run()
	gen := e.rt.sup.Generation()
	e.killContainerd()
	for deadline := time.Now().Add(30 * time.Second); e.rt.sup.Generation() == gen; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("containerd not restarted")
		}
	}
	if n := remove(e.rt, spec, st); n != 1 {
		t.Errorf("removing a task after a containerd restart: %d searches, want 1", n)
	}

	spec, st = run()
	e.stop()
	e2 := newEnv(t, e.stateDir)
	if n := remove(e2.rt, spec, st); n != 1 {
		t.Errorf("removing a task an earlier process started: %d searches, want 1", n)
	}
}

// shimsOf lists the live runc shims of container id of the daemon at address.
func shimsOf(address, id string) []int {
	var out []int
	for _, pid := range allPids() {
		if isShimOf(pid, address, id) && !procwatch.Zombie(pid) {
			out = append(out, pid)
		}
	}
	return out
}
