package dataplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd"
	"github.com/go-logr/logr"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/containerdproc"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// DownReason is the stoppedReason `nodeless down` gives the tasks it stops.
const DownReason = "Task stopped by nodeless down"

// DefaultDownGrace is how long `nodeless down` lets a container exit after SIGTERM before SIGKILL.
const DefaultDownGrace = 10 * time.Second

// DownOptions configure Down.
type DownOptions struct {
	// StateDir is the state dir of `nodeless up` or `nodeless dataplane` (required; it must exist).
	StateDir string
	// Purge removes the whole state dir afterwards: the store, the credentials, images, logs and,
	// under `up`, the control plane's etcd data, certificates and kubeconfig.
	Purge bool
	// Grace is how long a container may take to exit after SIGTERM (default DefaultDownGrace).
	Grace time.Duration
	// ContainerdBin is the containerd executable (default "containerd" from PATH).
	ContainerdBin string
	Logger        logr.Logger
}

// DownReport says what Down did.
type DownReport struct {
	// StoppedTasks are the ARNs of the tasks Down marked STOPPED in the store (desiredStatus
	// STOPPED, stoppedReason DownReason; the next data plane finishes stopping them).
	StoppedTasks []string
	// Containers are the IDs of the containers it stopped and deleted.
	Containers []string
	// Processes are leftover processes it killed ("pid name"): the uplink, shims, a containerd.
	Processes []string
	// Unmounted are the mount points under the state dir it unmounted (network namespaces, root
	// filesystems).
	Unmounted []string
	// Removed are the paths it removed.
	Removed []string
}

// Down stops everything a data plane of opts.StateDir left running and removes what only running
// tasks need, for `nodeless down`: the store's tasks are marked stopped; every container of the
// private containerd is stopped (SIGTERM, SIGKILL after Grace) and deleted with its snapshot; the
// containerd daemon, its leftover shims and the VPC's uplink (slirp4netns) are stopped; every
// network namespace (the tasks' and the VPC's, and with them every veth pair) and every other mount
// under the state dir is unmounted; containerd's runtime state and the tasks' generated files and
// ephemeral volumes are removed. The store, the credentials, images and logs stay, so the next `up`
// or `dataplane` keeps every cluster, task definition and service (services start their tasks
// again), unless Purge.
//
// It refuses, changing nothing, while a nodeless process uses the state dir (the store's or etcd's
// file lock is held). A step that fails does not stop the others; their errors are joined.
func Down(ctx context.Context, opts DownOptions) (*DownReport, error) {
	dir, err := checkStateDir(opts.StateDir)
	if err != nil {
		return nil, err
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultDownGrace
	}
	if err := refuseInUse(dir); err != nil {
		return nil, err
	}
	rep := &DownReport{}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(stopTasksInStore(dir, rep))
	add(removeContainers(ctx, dir, opts, rep))
	add(killLeftovers(dir, rep))
	add(removeNamespaces(dir, rep))
	add(unmountUnder(dir, rep))
	for _, p := range []string{filepath.Join(runtime.ContainerdDir(dir), "state"), filepath.Join(dir, "tasks")} {
		add(removePath(p, rep))
	}
	if opts.Purge && len(errs) == 0 {
		add(removePath(dir, rep))
	} else if opts.Purge {
		errs = append(errs, fmt.Errorf("not purging %s: cleaning up failed first", dir))
	}
	return rep, errors.Join(errs...)
}

// stateDirMarkers are entries of which a nodeless state dir has at least one: Down refuses a
// directory with none, so a mistyped --state-dir (say, /) is never purged. logs/nodeless.log is
// the first thing `nodeless up` writes, so the state dir of an up that stopped at its checks (a
// port in use, a bad flag) can be purged too.
var stateDirMarkers = []string{"state.db", "containerd", "etcd", "kubeconfig", "netns", "logs/nodeless.log"}

func checkStateDir(stateDir string) (string, error) {
	if stateDir == "" {
		return "", errors.New("down: the state dir is required (--state-dir)")
	}
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return "", fmt.Errorf("resolving the state dir %s: %w", stateDir, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("state dir %s does not exist: pass the --state-dir that `nodeless up` or `nodeless dataplane` used", dir)
	}
	for _, m := range stateDirMarkers {
		if _, err := os.Lstat(filepath.Join(dir, m)); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%s is not a nodeless state dir (it holds none of %s): pass the --state-dir that `nodeless up` or `nodeless dataplane` used",
		dir, strings.Join(stateDirMarkers, ", "))
}

// lockedFiles are the files a running nodeless holds an exclusive flock on: the data plane's store,
// `up`'s lock of the state dir and the embedded etcd's database.
func lockedFiles(dir string) []string {
	return []string{filepath.Join(dir, "state.db"), filepath.Join(dir, "lock"), filepath.Join(dir, "etcd", "member", "snap", "db")}
}

// refuseInUse fails when a nodeless process holds the lock of one of lockedFiles.
func refuseInUse(dir string) error {
	for _, p := range lockedFiles(dir) {
		if InUse(p) {
			return fmt.Errorf("a nodeless process is running on %s (it holds %s): stop `nodeless up` or `nodeless dataplane` first (Ctrl-C), then run down again", dir, p)
		}
	}
	return nil
}

// InUse reports whether another process holds an exclusive flock on path (as bbolt does on the
// store and etcd on its database while they run); false when the file does not exist.
func InUse(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// stopTasksInStore marks every task that is not STOPPED as to be stopped by the user, so that the
// next data plane finishes stopping it (its containers are gone) instead of reporting it lost, and
// services start new tasks in its place.
func stopTasksInStore(dir string, rep *DownReport) error {
	path := filepath.Join(dir, "state.db")
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	return st.Update(func(tx *store.Tx) error {
		clusters, err := tx.Clusters()
		if err != nil {
			return err
		}
		for _, c := range clusters {
			if err := stopClusterTasks(tx, c.Cluster.ClusterName, rep); err != nil {
				return err
			}
		}
		return nil
	})
}

func stopClusterTasks(tx *store.Tx, cluster string, rep *DownReport) error {
	tasks, err := tx.Tasks(cluster)
	if err != nil {
		return err
	}
	for _, r := range tasks {
		t := &r.Task
		if t.LastStatus == model.TaskStatusStopped || t.DesiredStatus == model.TaskStatusStopped {
			continue
		}
		t.DesiredStatus = model.TaskStatusStopped
		code, reason := model.StopCodeUserInitiated, DownReason
		t.StopCode, t.StoppedReason = &code, &reason
		if err := tx.PutTask(cluster, taskIDOf(t.TaskArn), r); err != nil {
			return err
		}
		rep.StoppedTasks = append(rep.StoppedTasks, t.TaskArn)
	}
	return nil
}

// taskIDOf is the last element of a task ARN.
func taskIDOf(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// removeContainers starts (or adopts) the private containerd, deletes every container and stops
// the daemon again.
func removeContainers(ctx context.Context, dir string, opts DownOptions, rep *DownReport) error {
	cdir := runtime.ContainerdDir(dir)
	if _, err := os.Stat(filepath.Join(cdir, "root")); err != nil {
		return nil // containerd never ran here
	}
	err := containerdproc.RunFor(ctx, containerdproc.Options{Dir: cdir, Binary: opts.ContainerdBin, Logger: opts.Logger}, func(address string) error {
		client, err := containerd.New(address, containerd.WithDefaultNamespace(runtime.Namespace))
		if err != nil {
			return fmt.Errorf("connecting to containerd at %s: %w", address, err)
		}
		defer func() { _ = client.Close() }()
		rep.Containers, err = runtime.RemoveAllContainers(ctx, client, opts.Grace)
		return err
	})
	if err != nil {
		return fmt.Errorf("removing the containers of %s: %w", cdir, err)
	}
	return nil
}

// leftoverNames are the executables of processes a data plane starts that outlive it (the
// nodeless-agent runs as containerd's logging binary of every container).
var leftoverNames = []string{"containerd", "containerd-shim-runc-v2", "slirp4netns", "nodeless-agent"}

// killLeftovers stops the VPC's uplink and kills what is left of the state dir's processes:
// containerd, shims and slirp4netns whose command line names the state dir, and processes whose
// root is under it (a container a dead shim left behind).
func killLeftovers(dir string, rep *DownReport) error {
	pid, err := vpc.StopUplink(dir)
	if pid > 0 {
		rep.Processes = append(rep.Processes, fmt.Sprintf("%d slirp4netns", pid))
	}
	entries, rerr := os.ReadDir("/proc")
	if rerr != nil {
		return errors.Join(err, fmt.Errorf("listing processes: %w", rerr))
	}
	var killed []int
	for _, e := range entries {
		pid, perr := strconv.Atoi(e.Name())
		if perr != nil || pid == os.Getpid() {
			continue
		}
		if name, ok := leftover(pid, dir); ok {
			if unix.Kill(pid, unix.SIGKILL) == nil {
				killed = append(killed, pid)
				rep.Processes = append(rep.Processes, fmt.Sprintf("%d %s", pid, name))
			}
		}
	}
	waitGone(killed, 5*time.Second)
	return err
}

// leftover reports whether pid is one of leftoverNames working for dir, or runs in a root under
// dir, and its name.
func leftover(pid int, dir string) (string, bool) {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmdline) == 0 {
		return "", false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	name := filepath.Base(args[0])
	if root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", pid)); err == nil && strings.HasPrefix(root, dir+"/") {
		return name, true
	}
	for _, n := range leftoverNames {
		if name == n && strings.Contains(string(cmdline), dir+"/") {
			return name, true
		}
	}
	return "", false
}

func waitGone(pids []int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for time.Now().Before(deadline) && unix.Kill(pid, 0) == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// removeNamespaces unmounts and removes every network namespace under dir/netns (the tasks' and
// the VPC's); the kernel deletes their interfaces, veth pairs included, with them.
func removeNamespaces(dir string, rep *DownReport) error {
	nsDir := filepath.Join(dir, "netns")
	entries, err := os.ReadDir(nsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing network namespaces: %w", err)
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(nsDir, e.Name())
		mounted := vpc.IsNamespace(p)
		if err := vpc.RemoveNamespace(p); err != nil {
			errs = append(errs, err)
			continue
		}
		if mounted {
			rep.Unmounted = append(rep.Unmounted, p)
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount left under dir, deepest first.
func unmountUnder(dir string, rep *DownReport) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("reading the mount table: %w", err)
	}
	points := make([]string, 0, len(mounts))
	for _, m := range mounts {
		if m.Mountpoint != dir {
			points = append(points, m.Mountpoint)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
			continue
		}
		rep.Unmounted = append(rep.Unmounted, p)
	}
	return errors.Join(errs...)
}

func removePath(p string, rep *DownReport) error {
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("removing %s: %w", p, err)
	}
	rep.Removed = append(rep.Removed, p)
	return nil
}
