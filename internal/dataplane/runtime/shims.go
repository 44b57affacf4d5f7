package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/procwatch"
)

// shimBinary is the executable of the runc v2 shim containerd starts for each container's task.
const shimBinary = "containerd-shim-runc-v2"

// killForgottenShims kills the runc shims that the containerd listening on address started for
// container id, with their child processes, and returns their pids. Call it once the container is
// deleted: no shim of it is needed any more.
//
// containerd deletes a container's shim with its task, but only a shim it knows: when containerd
// is killed while it creates a task (after it started the shim, before it recorded the task), the
// restarted daemon does not know the shim, the task's creation fails ("container not created"), and
// the shim keeps running with its logging process, with no one left to stop it (found by the chaos
// soak, bench/chaos). A shim's command line names its container (-id) and its daemon's socket
// (-address), which is what this matches on.
func killForgottenShims(address, id string) []int {
	return killShims(address, id, func(int) bool { return true })
}

// killStrandedShims kills the runc shims of container id (started by the containerd listening on
// address) whose bundle containerd has deleted, with their child processes, waits until they have
// exited (up to 5 s), and returns their pids. Call it before creating the task of a container that
// an earlier process created: such a shim serves no task containerd knows, and would take the new
// one's creation.
//
// A SIGKILL of nodeless while containerd starts a container's shim strands one (found by the chaos
// soak, bench/chaos, bug 6): containerd runs the shim's start command with the request's context,
// so it kills the start when the client dies; if that happens after the start forked the shim
// daemon, containerd closes the reader of the bundle's log FIFO and deletes the bundle, and the
// daemon, which had not opened the FIFO yet, blocks opening it for ever, before it serves its
// socket. containerd's next start of a shim for the container finds that socket accepting
// connections and hands the task's creation to the daemon, which never answers: NewTask then waits
// out its whole timeout. The stranded daemon is known by its working directory: the bundle it was
// started in, now deleted.
func killStrandedShims(address, id string) []int {
	shims := killShims(address, id, bundleDeleted)
	for _, pid := range shims {
		waitExited(pid, 5*time.Second)
	}
	return shims
}

// bundleDeleted reports whether pid's working directory (a shim's bundle) has been deleted.
func bundleDeleted(pid int) bool {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return err == nil && strings.HasSuffix(cwd, " (deleted)")
}

// waitExited waits until pid has exited (it is gone, or a zombie: this sandbox's pid 1 reaps no
// orphans), polling every 10 ms for up to limit. A killed process has closed its sockets by then.
func waitExited(pid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for !procwatch.Zombie(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// killShims kills the runc shims of container id started by the containerd listening on address
// for which match holds, with their child processes, and returns their pids.
func killShims(address, id string, match func(pid int) bool) []int {
	pids := allPids()
	var shims []int
	for _, pid := range pids {
		if isShimOf(pid, address, id) && match(pid) {
			shims = append(shims, pid)
		}
	}
	if len(shims) == 0 {
		return nil
	}
	for _, pid := range pids {
		if slices.Contains(shims, parentOf(pid)) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	for _, pid := range shims {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	return shims
}

// allPids lists the pids in /proc.
func allPids() []int {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	pids := make([]int, 0, len(dirs))
	for _, d := range dirs {
		if pid, err := strconv.Atoi(d.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isShimOf reports whether pid runs shimBinary with -address address and -id id.
func isShimOf(pid int, address, id string) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(raw) == 0 {
		return false
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	return filepath.Base(args[0]) == shimBinary && flagValue(args, "-id") == id && flagValue(args, "-address") == address
}

// flagValue is the argument after name in args, or "".
func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// parentOf is pid's parent pid from /proc/PID/stat (field 4, after the command name in
// parentheses, which may hold spaces and ')'), or 0.
func parentOf(pid int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// loadOrRecreateTask returns the task of cont that a repeated NewTask found (AlreadyExists: an
// earlier attempt, cut off by a containerd restart, created it). When containerd lists the task but
// its shim has no container ("no running task found: container not created": containerd was killed
// between starting the shim and creating the container in it), the task is deleted — the shim
// with it, or killed when containerd forgot it — and created again, instead of failing the task
// (found by the chaos soak, bench/chaos).
func (c *Containerd) loadOrRecreateTask(ctx context.Context, cont containerd.Container, creator cio.Creator) (containerd.Task, error) {
	proc, err := cont.Task(ctx, nil)
	if !errdefs.IsNotFound(err) {
		return proc, err
	}
	c.log.Info("containerd lists a task whose creation a restart interrupted: creating it again", "container", cont.ID(), "error", err.Error())
	_, derr := c.client.TaskService().Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: cont.ID()})
	if derr = errdefs.FromGRPC(derr); derr != nil && !errdefs.IsNotFound(derr) {
		return nil, fmt.Errorf("deleting the task whose creation a containerd restart interrupted: %w", derr)
	}
	c.killForgottenShims(cont.ID())
	return cont.NewTask(ctx, creator)
}

// taskBundle is the directory of containerd's bundle for the task of container id: containerd
// (1.6 and 1.7, runtime v2) makes it when it starts creating the task and removes it when the task
// is deleted, or once a failed creation has been undone.
func (c *Containerd) taskBundle(id string) string {
	return filepath.Join(ContainerdDir(c.opts.StateDir), "state", "io.containerd.runtime.v2.task", Namespace, id)
}

// awaitInterruptedCreate is called when creating the task of container id, which an earlier
// process created, failed with err, and containerd has no task of it (NewTask did not find one);
// the caller tries again after it, a few times. An earlier creation that a SIGKILL of nodeless cut
// off may still be being undone (found by the chaos soak, bench/chaos): containerd waits for the
// shim to finish creating the container before it deletes it (seconds under load), refuses a new
// creation while the task's bundle exists ("failed to start shim: mkdir …: file exists"), and then
// deletes the bundle twice — once when the shim's connection closes, once more after — so the
// second deletion can remove the bundle of the next creation ("open …/shim-binary-path: no such
// file or directory"). So this waits until the bundle is gone (for up to 15 s), then 200 ms more,
// and kills a shim that creation stranded. A bundle still there after the wait is one containerd
// gave up on: it is removed (removeForgottenBundle).
func (c *Containerd) awaitInterruptedCreate(ctx context.Context, id string, err error) {
	c.log.Info("creating the task failed: waiting for containerd to undo an interrupted creation, then trying again", "container", id, "error", err.Error())
	bundle := c.taskBundle(id)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if _, err := os.Stat(bundle); errors.Is(err, os.ErrNotExist) {
			break
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return
		}
	}
	if _, err := os.Stat(bundle); err == nil && ctx.Err() == nil {
		c.removeForgottenBundle(id)
		return
	}
	sleepCtx(ctx, 200*time.Millisecond)
	c.killStrandedShims(id)
}

// removeForgottenBundle removes the bundle of container id's task, which containerd does not know
// (it refused to create the task because the bundle exists) and has not removed: it gives up
// undoing a creation whose shim does not answer after its cleanup timeouts (2 × 5 s), leaving the
// bundle and the shim. It kills the container's shims and does what containerd's Bundle.Delete
// does: unmount the rootfs, remove the work directory and the bundle.
func (c *Containerd) removeForgottenBundle(id string) {
	bundle := c.taskBundle(id)
	pids := killForgottenShims(c.sup.Address(), id)
	for _, pid := range pids {
		waitExited(pid, 5*time.Second)
	}
	rootfs := filepath.Join(bundle, "rootfs")
	if err := unix.Unmount(rootfs, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		c.log.Info("unmounting the rootfs of a bundle containerd forgot failed", "container", id, "error", err.Error())
	}
	if work, err := os.Readlink(filepath.Join(bundle, "work")); err == nil {
		_ = os.RemoveAll(work)
	}
	err := os.RemoveAll(bundle)
	c.log.Info("removed a task bundle containerd forgot, with its shims", "container", id, "pids", pids, "error", fmt.Sprint(err))
}

// startedBefore reports whether proc, which failed to start, runs after all: an earlier Start
// reached the shim and a containerd restart cut off its answer, so this Start found the process
// running ("cannot start a running process").
func startedBefore(ctx context.Context, proc containerd.Task) bool {
	st, err := proc.Status(ctx)
	return err == nil && st.Status == containerd.Running
}
