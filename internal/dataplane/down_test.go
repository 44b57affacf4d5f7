package dataplane_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/go-logr/logr/testr"
	"github.com/moby/sys/mountinfo"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
)

// TestDown: a data plane stops with a service task and a standalone task running (their containers
// keep running, as after Ctrl-C); down refuses while it runs, then, once it stopped, leaves no
// process, mount or network namespace of the state dir behind and keeps the database: the next data
// plane reports the standalone task stopped by down and the service runs a new task. down --purge
// removes the state dir.
func TestDown(t *testing.T) {
	env := dataplanetest.Start(t)
	dir := env.StateDir
	t.Cleanup(func() { killLeftovers(t, dir) })
	env.LoadTestImage(t)
	registerWeb(t, env.ECS)
	ctx := context.Background()
	if _, err := env.ECS.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("svc"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	run, err := env.ECS.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	standalone := aws.ToString(run.Tasks[0].TaskArn)
	waitTask(t, env.ECS, standalone, "RUNNING", time.Minute)
	waitService(t, env.ECS, "svc", 1, time.Minute)
	serviceTask := ""
	for _, arn := range listTasks(t, env.ECS) {
		if arn != standalone {
			serviceTask = arn
		}
	}

	checkWhileRunning(t, env)
	env.Stop()
	if left := leftovers(t, dir); len(left) == 0 {
		t.Fatal("no process or mount of the state dir after the data plane stopped: the test proves nothing")
	}
	st, err := dataplane.ReadStatus(ctx, dir)
	if err != nil || st.DataPlane != nil || len(st.Tasks) != 2 || st.TasksFrom != "store" {
		t.Errorf("status after stopping: %+v, %v; want no data plane and 2 tasks from the store", st, err)
	}

	rep, err := dataplane.Down(ctx, dataplane.DownOptions{StateDir: dir, Grace: 2 * time.Second, Logger: testr.New(t)})
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	t.Logf("down: %+v", rep)
	if len(rep.StoppedTasks) != 2 || len(rep.Containers) != 2 {
		t.Errorf("down stopped tasks %v and removed containers %v, want 2 of each", rep.StoppedTasks, rep.Containers)
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("left after down: %s", strings.Join(left, "; "))
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); err != nil {
		t.Errorf("the database is gone after down without --purge: %v", err)
	}

	env = dataplanetest.StartIn(t, dir)
	stopped := waitTask(t, env.ECS, standalone, "STOPPED", time.Minute)
	if aws.ToString(stopped.StoppedReason) != dataplane.DownReason || stopped.StopCode != "UserInitiated" {
		t.Errorf("the standalone task after down: %q %s, want %q UserInitiated", aws.ToString(stopped.StoppedReason), stopped.StopCode, dataplane.DownReason)
	}
	waitTask(t, env.ECS, serviceTask, "STOPPED", time.Minute)
	waitService(t, env.ECS, "svc", 1, time.Minute)
	env.Stop()

	if _, err := dataplane.Down(ctx, dataplane.DownOptions{StateDir: dir, Purge: true, Grace: 2 * time.Second}); err != nil {
		t.Fatalf("down --purge: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the state dir after down --purge: %v, want it gone", err)
	}
}

// checkWhileRunning: down refuses while the data plane runs; status shows its endpoint and the two
// tasks through its API.
func checkWhileRunning(t *testing.T, env *dataplanetest.Env) {
	t.Helper()
	ctx := context.Background()
	if _, err := dataplane.Down(ctx, dataplane.DownOptions{StateDir: env.StateDir}); err == nil || !strings.Contains(err.Error(), "stop `nodeless up` or `nodeless dataplane` first") {
		t.Fatalf("down while the data plane runs: %v, want a refusal", err)
	}
	st, err := dataplane.ReadStatus(ctx, env.StateDir)
	if err != nil || st.DataPlane == nil || st.DataPlane.Endpoint != env.Endpoint || len(st.Tasks) != 2 || st.TasksFrom != "ECS API" {
		t.Errorf("status while running: %+v, %v; want the endpoint %s and 2 tasks from the ECS API", st, err, env.Endpoint)
	}
}

// TestDownRefusesWhatIsNotAStateDir: a mistyped --state-dir is never cleaned up, let alone purged.
func TestDownRefusesWhatIsNotAStateDir(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "precious")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "missing")} {
		_, err := dataplane.Down(context.Background(), dataplane.DownOptions{StateDir: d, Purge: true})
		if err == nil || !strings.Contains(err.Error(), "--state-dir") {
			t.Errorf("down --purge on %s: %v, want an error naming --state-dir", d, err)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("down touched a directory that is not a state dir: %v", err)
	}
}

// TestDownPurgesTheStateDirOfAFailedUp: an up that stopped at its checks left only its lock, its
// log and its pki; down --purge removes that directory.
func TestDownPurgesTheStateDirOfAFailedUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	for _, d := range []string{"logs", "pki"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"lock", "logs/nodeless.log"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dataplane.Down(context.Background(), dataplane.DownOptions{StateDir: dir, Purge: true}); err != nil {
		t.Fatalf("down --purge of a failed up's state dir: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("state dir still there after down --purge: %v", err)
	}
}

// leftovers lists the processes whose command line names dir or whose root is under it, and the
// mounts under dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		root, _ := os.Readlink(filepath.Join("/proc", e.Name(), "root"))
		if err == nil && (strings.Contains(string(cmdline), dir+"/") || strings.HasPrefix(root, dir+"/")) {
			out = append(out, "process "+strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " "))
		}
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		out = append(out, "mount "+m.Mountpoint)
	}
	return out
}
