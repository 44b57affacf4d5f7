package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsPath is where the task's network namespace is bind-mounted.
func netnsPath(stateDir, taskID string) string {
	return filepath.Join(stateDir, "netns", taskID)
}

// isNetns reports whether path is a mounted network namespace.
func isNetns(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// ensureNetns creates a network namespace with loopback up and bind-mounts it at path; an existing
// one is kept (Start is idempotent and Attach finds it again).
func ensureNetns(path string) error {
	if isNetns(path) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating netns directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("creating netns mount point: %w", err)
	}
	_ = f.Close()
	errc := make(chan error, 1)
	go func() { errc <- newNetnsAt(path) }()
	if err := <-errc; err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// newNetnsAt runs on its own locked thread: unshare a new network namespace, bind-mount it, bring
// lo up, and switch back. A thread that cannot switch back stays locked and dies with its goroutine.
func newNetnsAt(path string) error {
	goruntime.LockOSThread()
	host, err := netns.Get()
	if err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("opening the host network namespace: %w", err)
	}
	defer func() { _ = host.Close() }()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("creating a network namespace: %w", err)
	}
	err = setupNetns(path)
	if serr := netns.Set(host); serr != nil {
		return errors.Join(err, fmt.Errorf("returning to the host network namespace: %w", serr))
	}
	goruntime.UnlockOSThread()
	return err
}

func setupNetns(path string) error {
	src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting the network namespace at %s: %w", path, err)
	}
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bringing lo up in the task's network namespace: %w", err)
	}
	return nil
}

// removeNetns unmounts and deletes the namespace at path; a missing one is not an error.
func removeNetns(path string) error {
	if isNetns(path) {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmounting network namespace %s: %w", path, err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing network namespace %s: %w", path, err)
	}
	return nil
}

// dialInNetns opens a connection (network "tcp" or "udp") to addr from a socket created inside the
// namespace at nsPath. Only the socket's creation needs the namespace; the connection then lives
// there.
func dialInNetns(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	goruntime.LockOSThread()
	host, err := netns.Get()
	if err != nil {
		goruntime.UnlockOSThread()
		return nil, fmt.Errorf("opening the host network namespace: %w", err)
	}
	defer func() { _ = host.Close() }()
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		goruntime.UnlockOSThread()
		return nil, fmt.Errorf("opening network namespace %s: %w", nsPath, err)
	}
	defer func() { _ = target.Close() }()
	if err := netns.Set(target); err != nil {
		goruntime.UnlockOSThread()
		return nil, fmt.Errorf("entering network namespace %s: %w", nsPath, err)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, network, addr)
	if serr := netns.Set(host); serr == nil {
		goruntime.UnlockOSThread()
	}
	return conn, err
}
