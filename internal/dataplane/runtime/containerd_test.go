package runtime

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// env is a running Containerd runtime on a temporary state dir, with the test image loaded.
type env struct {
	t        *testing.T
	rt       *Containerd
	stateDir string
	cancel   context.CancelFunc
	done     chan error

	mu     sync.Mutex
	states map[string][]TaskState
	wake   chan struct{}
}

func requireContainerd(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping a test that runs containerd and containers")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd and runc")
	}
	for _, bin := range []string{"containerd", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s on PATH: %v", bin, err)
		}
	}
}

// newEnv starts a runtime on stateDir ("" for a new temporary one).
func newEnv(t *testing.T, stateDir string) *env { return newEnvWith(t, stateDir, nil) }

// killContainerd kills the env's containerd with SIGKILL (its pid from containerd.pid) and
// returns that pid; the supervisor starts a new one.
func (e *env) killContainerd() int {
	e.t.Helper()
	raw, err := os.ReadFile(filepath.Join(ContainerdDir(e.stateDir), "containerd.pid"))
	if err != nil {
		e.t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(raw))
	if err != nil {
		e.t.Fatalf("containerd.pid %q: %v", raw, err)
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		e.t.Fatal(err)
	}
	return pid
}

// newEnvWith starts a runtime on stateDir ("" for a new temporary one) whose tasks may join v.
func newEnvWith(t *testing.T, stateDir string, v *vpc.VPC) *env {
	t.Helper()
	return newEnvOptions(t, stateDir, ContainerdOptions{VPC: v})
}

// newEnvOptions starts a runtime with opts on stateDir ("" for a new temporary one); StateDir,
// Observer and Logger are the env's.
func newEnvOptions(t *testing.T, stateDir string, opts ContainerdOptions) *env {
	t.Helper()
	requireContainerd(t)
	if stateDir == "" {
		stateDir = t.TempDir()
		t.Cleanup(func() { unmountUnder(t, stateDir) })
	}
	e := &env{t: t, stateDir: stateDir, states: map[string][]TaskState{}, wake: make(chan struct{}), done: make(chan error, 1)}
	opts.StateDir, opts.Observer, opts.Logger = stateDir, e.observe, testr.New(t)
	rt, err := NewContainerd(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.rt = rt
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- rt.Run(ctx) }()
	select {
	case <-rt.Ready():
	case err := <-e.done:
		t.Fatalf("runtime failed before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("runtime not ready after 30s")
	}
	t.Cleanup(e.stop)
	return e
}

// stop ends the runtime (containerd stops; containers left are the test's to remove).
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	if err := <-e.done; err != nil {
		e.t.Errorf("runtime Run: %v", err)
	}
}

func (e *env) observe(taskID string, st TaskState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.states[taskID] = append(e.states[taskID], st)
	close(e.wake)
	e.wake = make(chan struct{})
}

// waitState waits until the task's latest state satisfies ok.
func (e *env) waitState(taskID string, timeout time.Duration, what string, ok func(TaskState) bool) TaskState {
	e.t.Helper()
	deadline := time.After(timeout)
	for {
		e.mu.Lock()
		hist := e.states[taskID]
		wake := e.wake
		e.mu.Unlock()
		if len(hist) > 0 && ok(hist[len(hist)-1]) {
			return hist[len(hist)-1]
		}
		select {
		case <-wake:
		case <-deadline:
			last := TaskState{}
			if len(hist) > 0 {
				last = hist[len(hist)-1]
			}
			e.t.Fatalf("task %s: %s not reached in %s; last state %+v", taskID, what, timeout, last)
		}
	}
}

func (e *env) loadImage() {
	e.t.Helper()
	f, err := os.Open(testimage.Tarball(e.t, ""))
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	names, err := e.rt.LoadImage(context.Background(), f)
	if err != nil {
		e.t.Fatalf("LoadImage: %v", err)
	}
	if len(names) != 1 || names[0] != testimage.DefaultRef {
		e.t.Fatalf("LoadImage names = %v, want [%s]", names, testimage.DefaultRef)
	}
}

// start starts a task and removes it at cleanup.
func (e *env) start(spec TaskSpec) store.TaskRuntimeState {
	e.t.Helper()
	st, err := e.rt.Start(context.Background(), spec)
	if err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	rt := e.rt
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rt.Remove(ctx, spec.TaskID, st); err != nil {
			e.t.Errorf("Remove: %v", err)
		}
	})
	return st
}

// unmountUnder detaches every mount below dir (what a failed test may leave behind).
func unmountUnder(t *testing.T, dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := unix.Unmount(mounts[i], unix.MNT_DETACH); err == nil {
			t.Logf("unmounted leftover %s", mounts[i])
		}
	}
}

var taskSeq int

func newTaskID() string {
	taskSeq++
	return fmt.Sprintf("%08x%024x", os.Getpid(), time.Now().UnixNano()+int64(taskSeq))
}

func ptr[T any](v T) *T { return &v }

type ctrOpt func(*model.ContainerDefinition)

func container(name string, opts ...ctrOpt) model.ContainerDefinition {
	d := model.ContainerDefinition{Name: ptr(name), Image: ptr("nodeless.test/testserver")}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func withCommand(args ...string) ctrOpt {
	return func(d *model.ContainerDefinition) { d.Command = args }
}

func withPort(p int32) ctrOpt {
	return func(d *model.ContainerDefinition) {
		d.PortMappings = append(d.PortMappings, model.PortMapping{ContainerPort: ptr(p), Protocol: ptr("tcp")})
	}
}

func taskSpec(ctrs ...model.ContainerDefinition) TaskSpec {
	return TaskSpec{
		TaskID:  newTaskID(),
		Cluster: "default",
		Definition: model.TaskDefinition{
			Family: "test", Revision: 1, Memory: ptr("512"), Cpu: ptr("256"),
			ContainerDefinitions: ctrs,
		},
	}
}

func running(name string) func(TaskState) bool {
	return func(st TaskState) bool {
		for _, c := range st.Containers {
			if c.Name == name {
				return c.Status == model.TaskStatusRunning
			}
		}
		return false
	}
}

func stopped(name string) func(TaskState) bool {
	return func(st TaskState) bool {
		c := findContainer(st, name)
		return c != nil && c.Status == model.TaskStatusStopped
	}
}

func findContainer(st TaskState, name string) *ContainerState {
	for i := range st.Containers {
		if st.Containers[i].Name == name {
			return &st.Containers[i]
		}
	}
	return nil
}

// get fetches http://127.0.0.1:port/path, retrying until the container answers.
func get(t *testing.T, port int32, path string) string {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return ""
}

func TestHTTPPortAnswers(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	spec := taskSpec(container("web", withPort(8080)))
	st := e.start(spec)
	if st.ContainerIDs["web"] == "" || st.NetNSPath == "" || st.Namespace != Namespace {
		t.Fatalf("runtime state incomplete: %+v", st)
	}
	port := st.HostPorts["8080/tcp"]
	if port == 0 {
		t.Fatalf("no host port for 8080/tcp: %+v", st.HostPorts)
	}
	e.waitState(spec.TaskID, 20*time.Second, "web RUNNING", running("web"))
	body := get(t, port, "/")
	if !strings.Contains(body, "hello from ip-") {
		t.Fatalf("GET / = %q", body)
	}
	hosts := get(t, port, "/file?path=/etc/hosts")
	if !strings.Contains(hosts, "localhost") {
		t.Errorf("/etc/hosts = %q", hosts)
	}
	if rc := get(t, port, "/file?path=/etc/resolv.conf"); !strings.Contains(rc, "nameserver") || strings.Contains(rc, "nameserver 127.") {
		t.Errorf("/etc/resolv.conf = %q", rc)
	}
	// The proxy connects from the client's own address inside the task's namespace.
	client, remote := rawGet(t, port, "/remote")
	if remote != client {
		t.Errorf("the container saw the client as %s, want the client's own address %s", remote, client)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, "containerd", "containerd.sock")); err != nil {
		t.Errorf("private socket: %v", err)
	}
}

// rawGet sends GET path to 127.0.0.1:port on one connection and returns the connection's local
// address and the response body.
func rawGet(t *testing.T, port int32, path string) (local, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return conn.LocalAddr().String(), string(b)
}

func testimageTarball(t *testing.T) string { return testimage.Tarball(t, "") }
