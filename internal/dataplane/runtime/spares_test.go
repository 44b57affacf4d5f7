package runtime

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// spareNames lists the spare namespaces under stateDir.
func spareNames(t *testing.T, stateDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(stateDir, "netns"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "spare-") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// waitSpares waits until stateDir holds n spares other than those in not, and returns them.
func waitSpares(t *testing.T, stateDir string, n int, not []string) []string {
	t.Helper()
	skip := map[string]bool{}
	for _, s := range not {
		skip[s] = true
	}
	var got []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = spareNames(t, stateDir)
		fresh := 0
		for _, s := range got {
			if !skip[s] {
				fresh++
			}
		}
		if len(got) == n && fresh >= n-len(not) {
			return got
		}
	}
	t.Fatalf("spares %v, want %d (not counting %v)", got, n, not)
	return nil
}

// poolEnv is a runtime on a VPC with a pool of two spares, the test image loaded, and the pool
// full: its state dir, VPC, env and the two spares' names.
func poolEnv(t *testing.T) (string, *vpc.VPC, *env, []string) {
	t.Helper()
	stateDir := t.TempDir()
	t.Cleanup(func() { unmountUnder(t, stateDir) })
	v := newVPC(t, stateDir)
	e := newEnvOptions(t, stateDir, ContainerdOptions{VPC: v, SpareNamespaces: 2})
	e.loadImage()
	return stateDir, v, e, waitSpares(t, stateDir, 2, nil)
}

// TestStartTakesASpare: with SpareNamespaces the runtime makes spares once the VPC is ready, a
// task on the VPC starts in one (its network as without a pool: address, files, reachable by
// Dial), the pool refills once the start is over, Remove leaves only spares, and the runtime's stop
// removes those too.
func TestStartTakesASpare(t *testing.T) {
	stateDir, v, e, before := poolEnv(t)

	a := onVPC(v, taskSpec(container("web", withCommand("-listen", ":8080"), withPort(8080))), 10)
	st, err := e.rt.Start(context.Background(), a) // not e.start: its cleanup would Remove after the stop below
	if err != nil {
		t.Fatal(err)
	}
	e.waitState(a.TaskID, 20*time.Second, "RUNNING", running("web"))
	after := waitSpares(t, stateDir, 2, before[:1]) // one was taken, one made since
	left := 0
	for _, s := range before {
		for _, s2 := range after {
			if s == s2 {
				left++
			}
		}
	}
	if left != 1 {
		t.Errorf("spares %v before the start, %v after: want exactly one taken and one made", before, after)
	}
	if got := get(t, st.HostPorts["8080/tcp"], "/file?path=/etc/hosts"); !strings.Contains(got, "10.78.0.10\tip-") {
		t.Errorf("the task's /etc/hosts does not name its address:\n%s", got)
	}
	var resp *http.Response
	dialed := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: v.Dial}}
	resp, err = dialed.Get("http://10.78.0.10:8080/remote")
	if err != nil {
		t.Fatalf("GET the task through the VPC: %v", err)
	}
	resp.Body.Close()
	if got := vethCount(t, v); got != 3 {
		t.Errorf("%d veths in the VPC with one task and two spares, want 3", got)
	}

	ctx := context.Background()
	if err := e.rt.Stop(ctx, a.TaskID); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.Remove(ctx, a.TaskID, st); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(after, spareNames(t, stateDir)); diff != "" {
		t.Errorf("after Remove, the spares changed (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "netns", a.TaskID)); !os.IsNotExist(err) {
		t.Errorf("the task's namespace is left after Remove: %v", err)
	}
	e.stop()
	if got := spareNames(t, stateDir); len(got) != 0 {
		t.Errorf("spares left after the runtime stopped: %v", got)
	}
	if got := vethCount(t, v); got != 0 {
		t.Errorf("%d veths left in the VPC after the runtime stopped, want 0", got)
	}
}

// TestRefillNotHeldByAWaitingDependency: a container waiting for its dependsOn condition counts as
// starting, but holds the refill back only for spareHoldLimit: the pool is full again while the
// dependent container still waits, and the task's start is unchanged (it runs once init succeeds).
func TestRefillNotHeldByAWaitingDependency(t *testing.T) {
	defer func(d time.Duration) { spareHoldLimit = d }(spareHoldLimit)
	spareHoldLimit = 300 * time.Millisecond
	stateDir, v, e, before := poolEnv(t)

	initC := container("init", withCommand("-sleep", "60s", "-exit", "0"))
	initC.Essential = ptr(false)
	app := container("app", withPort(8080))
	app.DependsOn = []model.ContainerDependency{{ContainerName: "init", Condition: model.DependsOnSuccess}}
	spec := onVPC(v, taskSpec(initC, app), 10)
	e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "init RUNNING", running("init"))
	// The start still holds one container back (app waits for init's exit, 60 s away): the pool
	// is full again long before (waitSpares gives up after 30 s).
	waitSpares(t, stateDir, 2, before[:1])
	if got := e.rt.starting.Load(); got != 1 {
		t.Errorf("%d starts under way while app waits for init, want 1", got)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.states[spec.TaskID] {
		if running("app")(s) {
			t.Fatalf("app ran while init was still running: %+v", s)
		}
	}
}

// TestSweepWithoutPool: a runtime started without a pool (SpareNamespaces 0, as after a restart
// with --spare-namespaces 0) still removes the spares an earlier process left (made here by a pool
// that was never drained, as a kill leaves them): no mount point, namespace or veth of them stays,
// and a task on the VPC starts in a namespace of its own.
func TestSweepWithoutPool(t *testing.T) {
	stateDir := t.TempDir()
	t.Cleanup(func() { unmountUnder(t, stateDir) })
	v := newVPC(t, stateDir)
	earlier := vpc.NewSpares(stateDir, v, 2)
	if err := earlier.Fill(func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	if got := spareNames(t, stateDir); len(got) != 2 {
		t.Fatalf("the earlier pool made spares %v, want 2", got)
	}

	e := newEnvOptions(t, stateDir, ContainerdOptions{VPC: v})
	waitSpares(t, stateDir, 0, nil)
	if got := vethCount(t, v); got != 0 {
		t.Errorf("%d veths left in the VPC after the sweep, want 0", got)
	}

	e.loadImage()
	a := onVPC(v, taskSpec(container("web", withCommand("-listen", ":8080"), withPort(8080))), 11)
	st := e.start(a)
	e.waitState(a.TaskID, 20*time.Second, "RUNNING", running("web"))
	if got := get(t, st.HostPorts["8080/tcp"], "/file?path=/etc/hosts"); !strings.Contains(got, "10.78.0.11\tip-") {
		t.Errorf("the task's /etc/hosts does not name its address:\n%s", got)
	}
	if got := spareNames(t, stateDir); len(got) != 0 {
		t.Errorf("spares made without a pool: %v", got)
	}
}
