package runtime

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd"

	"github.com/nodeless-dev/nodeless/internal/agentimage/agenttest"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

func TestContainersShareLocalhost(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	spec := taskSpec(
		container("a", withCommand("-listen", ":8080")),
		container("b", withCommand("-listen", ":8081"), withPort(8081)),
	)
	st := e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "both RUNNING", func(s TaskState) bool { return running("a")(s) && running("b")(s) })
	body := get(t, st.HostPorts["8081/tcp"], "/fetch?url=http://127.0.0.1:8080/")
	if !strings.Contains(body, "hello from") {
		t.Fatalf("b fetching a on localhost = %q", body)
	}
}

func TestCommandEnvironmentOverrides(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	def := container("web", withPort(8080), withCommand("-listen", ":8080", "-stdout", "from-definition"))
	def.Environment = []model.KeyValuePair{{Name: ptr("A"), Value: ptr("def")}, {Name: ptr("B"), Value: ptr("def")}}
	def.WorkingDirectory = ptr("/tmp")
	def.User = ptr("nobody")
	spec := taskSpec(def)
	spec.Overrides = &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{
		Name:        ptr("web"),
		Command:     []string{"-listen", ":8080", "-stdout", "from-override"},
		Environment: []model.KeyValuePair{{Name: ptr("B"), Value: ptr("override")}},
	}}}
	st := e.start(spec)
	port := st.HostPorts["8080/tcp"]
	e.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("web"))
	args := get(t, port, "/args")
	for _, want := range []string{"args=/testserver -listen :8080 -stdout from-override", "wd=/tmp", "uid=65534"} {
		if !strings.Contains(args, want) {
			t.Errorf("/args = %q, want it to contain %q", args, want)
		}
	}
	for name, want := range map[string]string{"A": "def", "B": "override", "TESTIMAGE": "1"} {
		if got := get(t, port, "/env?name="+name); got != want {
			t.Errorf("env %s = %q, want %q", name, got, want)
		}
	}
}

func TestDependsOnSuccessOrdersStart(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	initC := container("init", withCommand("-sleep", "500ms", "-exit", "0"))
	initC.Essential = ptr(false)
	app := container("app", withPort(8080))
	app.DependsOn = []model.ContainerDependency{{ContainerName: "init", Condition: model.DependsOnSuccess}}
	spec := taskSpec(initC, app)
	e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "app RUNNING", running("app"))
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.states[spec.TaskID] {
		if running("app")(s) {
			if c := findContainer(s, "init"); c.Status != model.TaskStatusStopped || c.ExitCode == nil || *c.ExitCode != 0 {
				t.Fatalf("app ran before init succeeded: %+v", s)
			}
			return
		}
	}
}

func TestDependsOnNeverMetFailsTask(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	initC := container("init", withCommand("-exit", "1"))
	initC.Essential = ptr(false)
	app := container("app")
	app.DependsOn = []model.ContainerDependency{{ContainerName: "init", Condition: model.DependsOnSuccess}}
	spec := taskSpec(initC, app)
	e.start(spec)
	st := e.waitState(spec.TaskID, 20*time.Second, "StartFailure", func(s TaskState) bool { return s.StartFailure != "" })
	if !strings.Contains(st.StartFailure, "DependencyConditionNotMet") || !strings.Contains(st.StartFailure, "init exited with code 1") {
		t.Fatalf("StartFailure = %q", st.StartFailure)
	}
	e.waitState(spec.TaskID, 5*time.Second, "app STOPPED", stopped("app"))
}

func TestHealthCheckHealthyThenUnhealthy(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	def := container("web", withCommand("-listen", ":8080", "-unhealthy-after", "3s"))
	def.HealthCheck = &model.HealthCheck{
		Command:  []string{"CMD", "/testserver", "probe", "http://127.0.0.1:8080/healthz"},
		Interval: ptr(int32(1)), Timeout: ptr(int32(2)), Retries: ptr(int32(2)),
	}
	spec := taskSpec(def)
	e.start(spec)
	health := func(want string) func(TaskState) bool {
		return func(s TaskState) bool { c := findContainer(s, "web"); return c != nil && c.Health == want }
	}
	e.waitState(spec.TaskID, 15*time.Second, "HEALTHY", health(model.HealthHealthy))
	e.waitState(spec.TaskID, 15*time.Second, "UNHEALTHY", health(model.HealthUnhealthy))
}

func TestStopTimeoutEscalatesToSIGKILL(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	stubborn := container("stubborn", withPort(8080), withCommand("-listen", ":8080", "-ignore-sigterm"))
	stubborn.StopTimeout = ptr(int32(2))
	polite := container("polite", withPort(8081), withCommand("-listen", ":8081", "-term-exit", "0"))
	polite.StopTimeout = ptr(int32(20))
	spec := taskSpec(stubborn, polite)
	started := e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "RUNNING", func(s TaskState) bool { return running("stubborn")(s) && running("polite")(s) })
	// The programs install their signal handlers before they listen: once both answer, a SIGTERM
	// finds them in place.
	get(t, started.HostPorts["8080/tcp"], "/")
	get(t, started.HostPorts["8081/tcp"], "/")
	begin := time.Now()
	if err := e.rt.Stop(context.Background(), spec.TaskID); err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	if took < 2*time.Second || took > 10*time.Second {
		t.Errorf("Stop took %s, want about the 2s stopTimeout", took)
	}
	st := e.waitState(spec.TaskID, 5*time.Second, "both STOPPED", func(s TaskState) bool { return stopped("stubborn")(s) && stopped("polite")(s) })
	if c := findContainer(st, "stubborn"); c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("stubborn exit = %v, want 137 (SIGKILL)", c.ExitCode)
	}
	if c := findContainer(st, "polite"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("polite exit = %v, want 0 (handled SIGTERM)", c.ExitCode)
	}
}

func TestEssentialExitCodeStopsTask(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	spec := taskSpec(container("quitter", withCommand("-sleep", "300ms", "-exit", "3")), container("sidecar", withCommand("-listen", ":8080", "-term-exit", "0")))
	e.start(spec)
	st := e.waitState(spec.TaskID, 20*time.Second, "both STOPPED", func(s TaskState) bool { return stopped("quitter")(s) && stopped("sidecar")(s) })
	if c := findContainer(st, "quitter"); c.ExitCode == nil || *c.ExitCode != 3 {
		t.Fatalf("quitter exit = %v, want 3", c.ExitCode)
	}
	if st.StartFailure != "" {
		t.Errorf("StartFailure = %q for a task that started", st.StartFailure)
	}
}

func TestMissingImageStartFailure(t *testing.T) {
	e := newEnv(t, "")
	def := container("web")
	def.Image = ptr("nodeless.invalid/missing:1")
	spec := taskSpec(def)
	begin := time.Now()
	e.start(spec)
	st := e.waitState(spec.TaskID, 60*time.Second, "StartFailure", func(s TaskState) bool { return s.StartFailure != "" })
	if !strings.HasPrefix(st.StartFailure, "CannotPullContainerError: ") {
		t.Fatalf("StartFailure = %q", st.StartFailure)
	}
	t.Logf("failed after %s: %s", time.Since(begin), st.StartFailure)
}

func TestCgroupLimitsAndOOM(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	def := container("web", withPort(8080))
	def.Memory = ptr(int32(64))
	def.MemoryReservation = ptr(int32(32))
	def.Cpu = 128
	hog := container("hog", withCommand("-alloc-mib", "200", "-listen", ":8081"))
	hog.Essential = ptr(false)
	hog.Memory = ptr(int32(32))
	spec := taskSpec(def, hog)
	st := e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "web RUNNING", running("web"))
	get(t, st.HostPorts["8080/tcp"], "/")
	raw, err := os.ReadFile("/sys/fs/cgroup/memory/" + Namespace + "/" + st.ContainerIDs["web"] + "/memory.limit_in_bytes")
	if err != nil {
		t.Fatal(err)
	}
	limit := strings.TrimSpace(string(raw))
	if limit != "67108864" {
		t.Errorf("memory.limit_in_bytes = %q, want 67108864", limit)
	}
	if soft, err := os.ReadFile("/sys/fs/cgroup/memory/" + Namespace + "/" + st.ContainerIDs["web"] + "/memory.soft_limit_in_bytes"); err != nil || strings.TrimSpace(string(soft)) != "33554432" {
		t.Errorf("memory.soft_limit_in_bytes = %q, %v; want 33554432", soft, err)
	}
	cpuDir := "/sys/fs/cgroup/cpu/" + Namespace + "/" + st.ContainerIDs["web"]
	for file, want := range map[string]string{"cpu.shares": "128", "cpu.cfs_quota_us": "25000", "cpu.cfs_period_us": "100000"} {
		if b, err := os.ReadFile(cpuDir + "/" + file); err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q, %v; want %s (container cpu 128, task cpu 256)", file, b, err, want)
		}
	}
	got := e.waitState(spec.TaskID, 20*time.Second, "hog STOPPED", stopped("hog"))
	if c := findContainer(got, "hog"); c.Reason != oomReason {
		t.Errorf("hog reason = %q exit %v, want %q", c.Reason, c.ExitCode, oomReason)
	}
}

// TestLogsLandInFile: with the nodeless-agent as the logging binary, as the data plane runs it,
// both streams of a container that exits at once land in its log, each line in the CRI format
// with its stream.
func TestLogsLandInFile(t *testing.T) {
	e := newEnvOptions(t, "", ContainerdOptions{LogBinary: agenttest.Build(t)})
	e.loadImage()
	def := container("talker", withCommand("-stdout", "to stdout", "-stderr", "to stderr", "-exit", "0"))
	def.Essential = ptr(false)
	spec := taskSpec(def, container("web"))
	e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "talker STOPPED", stopped("talker"))
	// The logging binary copies on its own; the lines may land just after the exit is seen.
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ = os.ReadFile(LogPath(e.stateDir, spec.TaskID, "talker"))
		if strings.Contains(string(b), " stdout F to stdout\n") && strings.Contains(string(b), " stderr F to stderr\n") {
			return
		}
	}
	t.Fatalf("log = %q, want a stdout and a stderr line in the CRI format", b)
}

// TestRawLogsWithoutAgent: without a logging binary the shim appends the raw output to the log
// (cio.LogFile). Only stdout is asserted: containerd 1.x's shim (1.6.20 in Debian) shares one
// file between the two streams and closes it when stdout ends, so a stderr line not yet copied
// then is lost ("error copying stderr" in containerd's log); this is why the data plane runs the
// agent as its logging binary.
func TestRawLogsWithoutAgent(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	def := container("talker", withCommand("-stdout", "to stdout", "-exit", "0"))
	def.Essential = ptr(false)
	spec := taskSpec(def, container("web"))
	e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "talker STOPPED", stopped("talker"))
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ = os.ReadFile(LogPath(e.stateDir, spec.TaskID, "talker"))
		if string(b) == "to stdout\n" {
			return
		}
	}
	t.Fatalf("log = %q, want %q", b, "to stdout\n")
}

func TestAttachAfterRestartKeepsContainer(t *testing.T) {
	first := newEnv(t, "")
	first.loadImage()
	spec := taskSpec(container("web", withPort(8080), withCommand("-listen", ":8080", "-stdout", "started")))
	state, err := first.rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	first.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("web"))
	port := state.HostPorts["8080/tcp"]
	get(t, port, "/")
	pid1 := taskPid(t, first.rt, state.ContainerIDs["web"])
	first.stop() // containerd stops too; the shim and the container keep running

	second := newEnv(t, first.stateDir)
	t.Cleanup(func() {
		if err := second.rt.Remove(context.Background(), spec.TaskID, state); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	if err := second.rt.Attach(context.Background(), spec, state); err != nil {
		t.Fatal(err)
	}
	st := second.waitState(spec.TaskID, 20*time.Second, "RUNNING after attach", running("web"))
	if st.HostPorts["8080/tcp"] != port {
		t.Errorf("host port after attach = %d, want %d", st.HostPorts["8080/tcp"], port)
	}
	get(t, port, "/")
	if pid2 := taskPid(t, second.rt, state.ContainerIDs["web"]); pid2 != pid1 {
		t.Errorf("container restarted: pid %d → %d", pid1, pid2)
	}
	logs, _ := os.ReadFile(LogPath(first.stateDir, spec.TaskID, "web"))
	if n := strings.Count(string(logs), "started"); n != 1 {
		t.Errorf("container started %d times, log %q", n, logs)
	}
}

func TestAttachReportsExitWhileDown(t *testing.T) {
	first := newEnv(t, "")
	first.loadImage()
	spec := taskSpec(container("short", withCommand("-sleep", "1500ms", "-exit", "7")))
	state, err := first.rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	first.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("short"))
	first.stop()
	time.Sleep(2 * time.Second)
	second := newEnv(t, first.stateDir)
	t.Cleanup(func() { _ = second.rt.Remove(context.Background(), spec.TaskID, state) })
	if err := second.rt.Attach(context.Background(), spec, state); err != nil {
		t.Fatal(err)
	}
	st := second.waitState(spec.TaskID, 20*time.Second, "STOPPED", stopped("short"))
	if c := findContainer(st, "short"); c.ExitCode == nil || *c.ExitCode != 7 {
		t.Fatalf("exit = %v, want 7", c.ExitCode)
	}
}

func TestLoadImageOCI(t *testing.T) {
	e := newEnv(t, "")
	path := t.TempDir() + "/oci.tar"
	if err := testimage.WriteFile(path, "nodeless.test/oci:v1", testimage.OCI); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := e.rt.LoadImage(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "nodeless.test/oci:v1" {
		t.Fatalf("names = %v", names)
	}
	unnamed := t.TempDir() + "/unnamed.tar"
	if err := testimage.WriteFile(unnamed, "", testimage.OCI); err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(unnamed)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	names, err = e.rt.LoadImage(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || !strings.HasPrefix(names[0], unnamedImagePrefix+"@sha256:") {
		t.Fatalf("unnamed archive gave names %v", names)
	}
}

func taskPid(t *testing.T, rt *Containerd, id string) uint32 {
	t.Helper()
	ctx := context.Background()
	cont, err := rt.Client().LoadContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := cont.Task(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := proc.Status(ctx)
	if err != nil || st.Status != containerd.Running {
		t.Fatalf("task status %v, %v", st.Status, err)
	}
	return proc.Pid()
}

func TestAttachReportsVanishedContainer(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	spec := taskSpec(container("web"))
	st := store.TaskRuntimeState{Namespace: Namespace, ContainerIDs: map[string]string{"web": containerID(spec.TaskID, "web")}}
	if err := e.rt.Attach(context.Background(), spec, st); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.rt.Remove(context.Background(), spec.TaskID, st) })
	got := e.waitState(spec.TaskID, 10*time.Second, "web STOPPED", stopped("web"))
	if c := findContainer(got, "web"); !strings.Contains(c.Reason, "not found") || got.StartFailure != "" {
		t.Fatalf("vanished container: %+v", got)
	}
	if _, err := e.rt.Client().LoadContainer(context.Background(), st.ContainerIDs["web"]); err == nil {
		t.Error("Attach created the vanished container again")
	}
}

func TestVolumesUlimitsAndStopOrder(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	mount := func(ro bool) []model.MountPoint {
		return []model.MountPoint{{SourceVolume: ptr("shared"), ContainerPath: ptr("/data"), ReadOnly: ptr(ro)}}
	}
	// writer puts a file into the shared volume at start: its -stdout line goes to its log, so use
	// the reader's /file endpoint to check the writer's work through the volume instead.
	db := container("db", withCommand("-listen", ":8081", "-term-exit", "0"), withPort(8081))
	db.MountPoints = mount(false)
	db.Ulimits = []model.Ulimit{{Name: "nofile", SoftLimit: 500, HardLimit: 1000}}
	db.ReadonlyRootFilesystem = ptr(true)
	app := container("app", withCommand("-listen", ":8080", "-term-exit", "0", "-term-delay", "1s"), withPort(8080))
	app.MountPoints = mount(true)
	app.DependsOn = []model.ContainerDependency{{ContainerName: "db", Condition: model.DependsOnStart}}
	spec := taskSpec(db, app)
	spec.Definition.Volumes = []model.Volume{{Name: ptr("shared")}}
	st := e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "both RUNNING", func(s TaskState) bool { return running("db")(s) && running("app")(s) })
	if err := os.WriteFile(filepath.Join(e.stateDir, "tasks", spec.TaskID, "volumes", "shared", "hello"), []byte("shared!"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, port := range []int32{st.HostPorts["8080/tcp"], st.HostPorts["8081/tcp"]} {
		if got := get(t, port, "/file?path=/data/hello"); got != "shared!" {
			t.Errorf("volume content seen on port %d = %q", port, got)
		}
	}
	limits := get(t, st.HostPorts["8081/tcp"], "/file?path=/proc/self/limits")
	// Go raises its own soft limit at start, so only the hard limit is checked.
	for _, line := range strings.Split(limits, "\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "Max open files") && (len(f) < 5 || f[4] != "1000") {
			t.Errorf("nofile limit line = %q, want hard limit 1000", line)
		}
	}
	if err := e.rt.Stop(context.Background(), spec.TaskID); err != nil {
		t.Fatal(err)
	}
	// db (a dependency of app) may only get SIGTERM after app exited.
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.states[spec.TaskID] {
		if stopped("db")(s) && !stopped("app")(s) {
			t.Fatalf("db stopped before app: %+v", s)
		}
	}
}

func TestDependsOnHealthy(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	db := container("db", withCommand("-listen", ":8081"))
	db.Essential = ptr(false)
	db.HealthCheck = &model.HealthCheck{
		Command:  []string{"CMD", "/testserver", "probe", "http://127.0.0.1:8081/healthz"},
		Interval: ptr(int32(1)), Retries: ptr(int32(1)), StartPeriod: ptr(int32(5)),
	}
	app := container("app", withPort(8080))
	app.DependsOn = []model.ContainerDependency{{ContainerName: "db", Condition: model.DependsOnHealthy}}
	spec := taskSpec(db, app)
	e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "app RUNNING", running("app"))
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.states[spec.TaskID] {
		if running("app")(s) {
			if c := findContainer(s, "db"); c.Health != model.HealthHealthy {
				t.Fatalf("app started before db was HEALTHY: %+v", s)
			}
			return
		}
	}
}

func TestHealthCheckMissingCommandIsUnhealthy(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	def := container("web")
	def.HealthCheck = &model.HealthCheck{Command: []string{"CMD-SHELL", "exit 0"}, Interval: ptr(int32(1)), Retries: ptr(int32(2))}
	spec := taskSpec(def)
	e.start(spec)
	// The image has no /bin/sh: the check cannot succeed.
	e.waitState(spec.TaskID, 15*time.Second, "UNHEALTHY", func(s TaskState) bool {
		c := findContainer(s, "web")
		return c != nil && c.Health == model.HealthUnhealthy
	})
}

func TestUDPPortMapping(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	def := container("dns", withCommand("-listen", ":8080", "-udp-echo", ":5353"))
	def.PortMappings = []model.PortMapping{{ContainerPort: ptr(int32(5353)), Protocol: ptr("udp")}}
	spec := taskSpec(def)
	st := e.start(spec)
	port := st.HostPorts["5353/udp"]
	if port == 0 {
		t.Fatalf("no udp host port: %v", st.HostPorts)
	}
	e.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("dns"))
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 100)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		_, _ = conn.Write([]byte("ping"))
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := conn.Read(buf); err == nil {
			if got := string(buf[:n]); got != "echo:ping" {
				t.Fatalf("udp answer = %q", got)
			}
			// The proxy's flow sends from the client's own address inside the task's namespace.
			_, _ = conn.Write([]byte("remote"))
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := conn.Read(buf)
			if want := "remote:" + conn.LocalAddr().String(); err != nil || string(buf[:n]) != want {
				t.Errorf("udp remote = %q (%v), want %q", buf[:n], err, want)
			}
			return
		}
	}
	t.Fatal("no udp answer through the proxy")
}

func TestStartTimeoutAndSecrets(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	slow := container("slow", withCommand("-sleep", "30s", "-exit", "0"))
	slow.Essential = ptr(false)
	app := container("app")
	app.StartTimeout = ptr(int32(1))
	app.DependsOn = []model.ContainerDependency{{ContainerName: "slow", Condition: model.DependsOnComplete}}
	spec := taskSpec(slow, app)
	e.start(spec)
	st := e.waitState(spec.TaskID, 20*time.Second, "StartFailure", func(s TaskState) bool { return s.StartFailure != "" })
	if !strings.Contains(st.StartFailure, "startTimeout of 1s") {
		t.Errorf("StartFailure = %q", st.StartFailure)
	}

	withSecret := container("web", withPort(8080), withCommand("-listen", ":8080"))
	withSecret.Secrets = []model.Secret{{Name: "DB_PASSWORD", ValueFrom: "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-abcdef"}}
	spec2 := taskSpec(withSecret)
	e.start(spec2)
	st = e.waitState(spec2.TaskID, 10*time.Second, "StartFailure", func(s TaskState) bool { return s.StartFailure != "" })
	if !strings.HasPrefix(st.StartFailure, "ResourceInitializationError: ") || !strings.Contains(st.StartFailure, "DB_PASSWORD") {
		t.Errorf("StartFailure = %q", st.StartFailure)
	}

	// Resolved by the caller, the secret is in the container's environment.
	spec3 := taskSpec(withSecret)
	spec3.Secrets = map[string][]model.KeyValuePair{"web": {{Name: ptr("DB_PASSWORD"), Value: ptr("s3cret")}}}
	h := e.start(spec3)
	e.waitState(spec3.TaskID, 20*time.Second, "RUNNING", running("web"))
	if got := get(t, h.HostPorts["8080/tcp"], "/env?name=DB_PASSWORD"); got != "s3cret" {
		t.Errorf("DB_PASSWORD in the container = %q", got)
	}
}

// TestManyTasksAtOnce starts, stops and removes tasks concurrently (run it with -race).
func TestManyTasksAtOnce(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	const n = 10
	specs := make([]TaskSpec, n)
	states := make([]store.TaskRuntimeState, n)
	errs := make(chan error, n)
	for i := range specs {
		specs[i] = taskSpec(container("web", withPort(8080), withCommand("-listen", ":8080", "-term-exit", "0")),
			container("side", withCommand("-listen", ":9000", "-term-exit", "0")))
	}
	var wg sync.WaitGroup
	for i := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := e.rt.Start(context.Background(), specs[i])
			states[i] = st
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	t.Cleanup(func() { // Remove is idempotent: this only matters when the test stops early
		for i, spec := range specs {
			_ = e.rt.Remove(context.Background(), spec.TaskID, states[i])
		}
	})
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ports := map[int32]bool{}
	for i, spec := range specs {
		e.waitState(spec.TaskID, 60*time.Second, "RUNNING", func(s TaskState) bool { return running("web")(s) && running("side")(s) })
		p := states[i].HostPorts["8080/tcp"]
		if ports[p] {
			t.Fatalf("host port %d given twice", p)
		}
		ports[p] = true
		get(t, p, "/")
	}
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if err := e.rt.Stop(ctx, spec.TaskID); err != nil {
				t.Error(err)
			}
			if err := e.rt.Remove(ctx, spec.TaskID, states[i]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	containers, err := e.rt.Client().Containers(context.Background())
	if err != nil || len(containers) != 0 {
		t.Errorf("containers left after Remove: %d, %v", len(containers), err)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.stateDir, "netns")); len(entries) != 0 {
		t.Errorf("network namespaces left: %d", len(entries))
	}
}
