package vpc

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

// IsNamespace reports whether path is a mounted network namespace.
func IsNamespace(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// EnsureNamespace creates a network namespace with loopback up and bind-mounts it at path; an
// existing one is kept (creation is idempotent, and a restarted process finds it again). The
// namespace lives as long as the mount, whatever happens to the process that made it.
func EnsureNamespace(path string) error {
	if IsNamespace(path) {
		return nil
	}
	if err := mountPoint(path); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- newNamespaceAt(path) }()
	if err := <-errc; err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// newNamespaceAt runs on its own locked thread: unshare a new network namespace, bind-mount it,
// bring lo up, and switch back. A thread that cannot switch back stays locked and dies with its
// goroutine.
func newNamespaceAt(path string) error {
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
	err = setupNamespace(path)
	if serr := netns.Set(host); serr != nil {
		return errors.Join(err, fmt.Errorf("returning to the host network namespace: %w", serr))
	}
	goruntime.UnlockOSThread()
	return err
}

func setupNamespace(path string) error {
	src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting the network namespace at %s: %w", path, err)
	}
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bringing lo up in the network namespace %s: %w", path, err)
	}
	return nil
}

// RemoveNamespace unmounts and deletes the namespace at path; a missing one is not an error. The
// kernel destroys the namespace, and the interfaces in it, once nothing else holds it.
func RemoveNamespace(path string) error {
	if IsNamespace(path) {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmounting network namespace %s: %w", path, err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing network namespace %s: %w", path, err)
	}
	return nil
}

// DialInNamespace opens a connection (network "tcp" or "udp") to addr from a socket created inside
// the namespace at nsPath, bound to local when it is not nil. Only the socket's creation needs the
// namespace; the connection then lives there.
func DialInNamespace(ctx context.Context, nsPath, network, addr string, local net.Addr) (net.Conn, error) {
	var conn net.Conn
	err := inNamespace(nsPath, func() error {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}
		var err error
		conn, err = d.DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// inNamespace runs fn on a locked OS thread that has entered the namespace at nsPath: sockets fn
// creates, and files under /proc/sys/net it opens, belong to that namespace. A thread that cannot
// return to the host namespace stays locked and dies with its goroutine.
func inNamespace(nsPath string, fn func() error) error {
	goruntime.LockOSThread()
	host, err := netns.Get()
	if err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("opening the host network namespace: %w", err)
	}
	defer func() { _ = host.Close() }()
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("opening network namespace %s: %w", nsPath, err)
	}
	defer func() { _ = target.Close() }()
	if err := netns.Set(target); err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("entering network namespace %s: %w", nsPath, err)
	}
	err = fn()
	if serr := netns.Set(host); serr == nil {
		goruntime.UnlockOSThread()
	}
	return err
}

// mountPoint creates the empty file at path (and its directory) that a namespace is bind-mounted
// on.
func mountPoint(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating netns directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("creating netns mount point: %w", err)
	}
	return f.Close()
}
