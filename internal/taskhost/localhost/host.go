package localhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"syscall"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// Host is taskhost.Host over a local data plane.
type Host struct {
	dp       *dataplane.DataPlane
	stateDir string
}

var _ taskhost.Host = (*Host)(nil)

// New returns the Host of the data plane dp whose state dir is stateDir.
func New(dp *dataplane.DataPlane, stateDir string) *Host {
	return &Host{dp: dp, stateDir: stateDir}
}

// Dial connects into the local VPC.
func (h *Host) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return h.dp.Dial(ctx, network, address)
}

// VolumeDir is runtime.VolumeDir.
func (h *Host) VolumeDir(t taskhost.Task, volume string) (string, error) {
	return h.dp.Runtime().VolumeDir(t.ID, volume)
}

// Signal sends sig to the container's main process (SIGKILL to all its processes).
func (h *Host) Signal(ctx context.Context, t taskhost.Task, container string, sig syscall.Signal) error {
	proc, _, err := h.process(ctx, t, container)
	if err != nil {
		return err
	}
	var opts []containerd.KillOpts
	if sig == syscall.SIGKILL {
		opts = append(opts, containerd.WithKillAll)
	}
	if err := proc.Kill(ctx, sig, opts...); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("signalling container %s of task %s: %w", container, t.ID, err)
	}
	return nil
}

// client is the data plane's containerd client.
func (h *Host) client() (*containerd.Client, error) {
	c := h.dp.Runtime().Client()
	if c == nil {
		return nil, errors.New("the local data plane's containerd is not running")
	}
	return c, nil
}

// process finds the running process of a task's container.
func (h *Host) process(ctx context.Context, t taskhost.Task, container string) (containerd.Task, containerd.Container, error) {
	client, err := h.client()
	if err != nil {
		return nil, nil, err
	}
	cont, err := client.LoadContainer(ctx, runtime.ContainerID(t.ID, container))
	if errdefs.IsNotFound(err) {
		return nil, nil, fmt.Errorf("task %s has no container %q (yet)", t.ID, container)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loading container %s of task %s: %w", container, t.ID, err)
	}
	proc, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, nil, fmt.Errorf("container %s of task %s is not running", container, t.ID)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loading the process of container %s of task %s: %w", container, t.ID, err)
	}
	return proc, cont, nil
}

// running reports whether the container's main process runs (false when it is gone).
func (h *Host) running(ctx context.Context, id string) (bool, error) {
	client, err := h.client()
	if err != nil {
		return false, err
	}
	cont, err := client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	proc, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st, err := proc.Status(ctx)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return st.Status == containerd.Running || st.Status == containerd.Paused || st.Status == containerd.Pausing, nil
}

// fifoDir is where exec's FIFOs are made: under the data plane's containerd directory.
func (h *Host) fifoDir() string { return filepath.Join(runtime.ContainerdDir(h.stateDir), "fifo") }
