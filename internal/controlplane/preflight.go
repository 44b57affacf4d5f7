package controlplane

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// preflight checks what would otherwise fail deep inside a component with a confusing message:
// a state dir that cannot be written, one already used by another `nodeless up`, and ports in use.
// It returns the state dir's lock, to be released (closed) when the control plane has stopped.
func preflight(cfg Config) (*os.File, error) {
	if err := checkWritable(cfg.StateDir); err != nil {
		return nil, err
	}
	lock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	ports := []struct {
		port int
		flag string
	}{
		{cfg.APIServerPort, "--apiserver-port"},
		{cfg.EtcdClientPort, "--etcd-client-port"},
		{cfg.EtcdPeerPort, "--etcd-peer-port"},
	}
	for _, p := range ports {
		if err := checkPortFree(p.port, p.flag); err != nil {
			_ = lock.Close() // releases the lock; already failing
			return nil, err
		}
	}
	return lock, nil
}

func checkWritable(dir string) error {
	hint := "choose another with --state-dir"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir %s cannot be created (%w); %s", dir, err, hint)
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("state dir %s is not writable (%w); %s", dir, err, hint)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		return fmt.Errorf("state dir %s is not writable (%w); %s", dir, err, hint)
	}
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	for _, sub := range []string{pkiDir(dir), filepath.Dir(LogPath(dir))} {
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return fmt.Errorf("state dir %s: %w", dir, err)
		}
	}
	return nil
}

// lockStateDir takes an exclusive flock on <state dir>/lock, so two `nodeless up` never share one
// etcd data dir. The kernel drops the lock when the process dies, so it never goes stale.
func lockStateDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		_ = f.Close() // already failing
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state dir %s is in use by another nodeless up (pid %s); stop it, or use another --state-dir and other ports",
				dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func checkPortFree(port int, flag string) error {
	return CheckAddressFree(net.JoinHostPort(Host, strconv.Itoa(port)), flag)
}

// CheckAddressFree fails with a message naming flag when nothing can listen on addr (host:port).
func CheckAddressFree(addr, flag string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("address %s is in use (by another nodeless or another program); stop it or choose another with %s",
				addr, flag)
		}
		return fmt.Errorf("cannot listen on %s (%w); choose another port with %s", addr, err, flag)
	}
	return l.Close()
}
