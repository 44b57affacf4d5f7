package vpc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/procwatch"
)

// Files of the uplink under StateDir/vpc.
const (
	uplinkPidFile = "slirp4netns.pid"
	uplinkLogFile = "slirp4netns.log"
)

const (
	// maxUplinkRestarts is how many starts of slirp4netns in a row may fail before Run gives up.
	maxUplinkRestarts = 5
	// uplinkStartTimeout bounds the wait for slirp4netns to report its tap configured.
	uplinkStartTimeout = 30 * time.Second
	// uplinkStopTimeout bounds the wait for slirp4netns to exit after SIGTERM before SIGKILL.
	uplinkStopTimeout = 5 * time.Second
)

// uplink is a running slirp4netns: started by this process (cmd set) or adopted from the pid file.
type uplink struct {
	pid    int
	cmd    *exec.Cmd
	exited chan struct{}
}

// superviseUplink keeps slirp4netns running for the VPC's namespace until ctx ends, then stops it.
// Ready is closed once the first one runs.
func (v *VPC) superviseUplink(ctx context.Context) error {
	failures := 0
	for {
		u, err := v.startOrAdoptUplink(ctx)
		switch {
		case ctx.Err() != nil:
			if u != nil {
				v.stopUplink(u)
			}
			return nil
		case err != nil:
			failures++
			if failures > maxUplinkRestarts {
				return fmt.Errorf("slirp4netns failed to start %d times in a row: %w", failures, err)
			}
			v.log.Error(err, "starting slirp4netns failed", "attempt", failures)
			if !sleep(ctx, time.Duration(failures)*time.Second) {
				return nil
			}
			continue
		}
		failures = 0
		v.log.Info("VPC uplink running", "pid", u.pid, "adopted", u.cmd == nil, "subnet", v.opts.Subnet.String(),
			"namespace", v.nsPath)
		v.readyOnce.Do(func() { close(v.ready) })
		select {
		case <-ctx.Done():
			v.stopUplink(u)
			return nil
		case <-u.exited:
			v.log.Info("slirp4netns exited, restarting it", "pid", u.pid)
		}
	}
}

func (v *VPC) startOrAdoptUplink(ctx context.Context) (*uplink, error) {
	if u := v.adoptUplink(); u != nil {
		return u, nil
	}
	return v.startUplink(ctx)
}

// adoptUplink returns the slirp4netns recorded in the pid file when it still runs for this
// namespace and its tap is there; one that runs without its tap is stopped.
func (v *VPC) adoptUplink() *uplink {
	raw, err := os.ReadFile(filepath.Join(v.dir, uplinkPidFile))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return nil
	}
	if !isUplinkProcess(pid, v.nsPath) {
		return nil
	}
	u := &uplink{pid: pid, exited: make(chan struct{})}
	go procwatch.Watch(pid, u.exited)
	if err := v.checkUplink(); err != nil {
		v.log.Info("slirp4netns runs without its tap, replacing it", "pid", pid, "reason", err.Error())
		v.stopUplink(u)
		return nil
	}
	return u
}

// isUplinkProcess reports whether pid is a live slirp4netns attached to the namespace at nsPath.
func isUplinkProcess(pid int, nsPath string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || procwatch.Zombie(pid) {
		return false
	}
	args := bytes.Split(cmdline, []byte{0})
	return len(args) > 0 && filepath.Base(string(args[0])) == "slirp4netns" &&
		bytes.Contains(cmdline, append([]byte(nsPath), 0))
}

// checkUplink verifies that the tap is up in the VPC's namespace with slirp4netns's address.
func (v *VPC) checkUplink() error {
	return withHandle(v.nsPath, func(h *netlink.Handle) error {
		l, err := h.LinkByName(UplinkName)
		if err != nil {
			return fmt.Errorf("%s: %w", UplinkName, err)
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			return fmt.Errorf("%s is down", UplinkName)
		}
		addrs, err := addrList(h, l, unix.AF_INET)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a.IP.Equal(uplinkAddress.AsSlice()) {
				return nil
			}
		}
		return fmt.Errorf("%s lacks its address %s", UplinkName, uplinkAddress)
	})
}

// startUplink starts slirp4netns on the VPC's namespace in its own process group (a Ctrl-C to
// nodeless's group must not reach it) and waits until it reports the tap configured.
func (v *VPC) startUplink(ctx context.Context) (*uplink, error) {
	if err := os.MkdirAll(v.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", v.dir, err)
	}
	logf, err := os.OpenFile(filepath.Join(v.dir, uplinkLogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the slirp4netns log: %w", err)
	}
	defer func() { _ = logf.Close() }()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating slirp4netns's ready pipe: %w", err)
	}
	defer func() { _ = readyR.Close() }()
	// The child's fd 3 is ExtraFiles[0]. No --enable-sandbox: its private mount namespace unmounts
	// bind mounts that propagate back (seen with the VPC's own namespace mount).
	cmd := exec.Command(v.opts.Slirp4netnsBin, "--configure", "--mtu="+strconv.Itoa(uplinkMTU), "--ready-fd=3",
		"--netns-type=path", v.nsPath, UplinkName)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	_ = readyW.Close()
	if err != nil {
		return nil, fmt.Errorf("starting %s (install it with apt-get install slirp4netns): %w", v.opts.Slirp4netnsBin, err)
	}
	u := &uplink{pid: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(u.exited)
	}()
	if err := os.WriteFile(filepath.Join(v.dir, uplinkPidFile), []byte(strconv.Itoa(u.pid)), 0o600); err != nil {
		v.stopUplink(u)
		return nil, fmt.Errorf("writing slirp4netns's pid file: %w", err)
	}
	if err := v.waitUplink(ctx, u, readyR); err != nil {
		v.stopUplink(u)
		return nil, err
	}
	return u, nil
}

// waitUplink waits for slirp4netns to write to its ready fd.
func (v *VPC) waitUplink(ctx context.Context, u *uplink, ready *os.File) error {
	got := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := ready.Read(b)
		got <- err
	}()
	timer := time.NewTimer(uplinkStartTimeout)
	defer timer.Stop()
	logPath := filepath.Join(v.dir, uplinkLogFile)
	select {
	case err := <-got:
		if err != nil {
			return fmt.Errorf("slirp4netns exited before its tap was configured; see %s", logPath)
		}
		return nil
	case <-u.exited:
		return fmt.Errorf("slirp4netns exited during start-up; see %s", logPath)
	case <-timer.C:
		return fmt.Errorf("slirp4netns did not configure its tap within %s; see %s", uplinkStartTimeout, logPath)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopUplink sends SIGTERM, then SIGKILL after uplinkStopTimeout, and removes the pid file when it
// still names u.
func (v *VPC) stopUplink(u *uplink) {
	_ = unix.Kill(u.pid, unix.SIGTERM)
	select {
	case <-u.exited:
	case <-time.After(uplinkStopTimeout):
		_ = unix.Kill(u.pid, unix.SIGKILL)
		<-u.exited
	}
	path := filepath.Join(v.dir, uplinkPidFile)
	if raw, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(raw)) == strconv.Itoa(u.pid) {
		_ = os.Remove(path)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
