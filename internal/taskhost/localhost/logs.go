package localhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"

	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/crilog"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// Logs returns the container's log. A log in the CRI format (written through the nodeless-agent)
// is read with the kubelet's reader and honours every option; Follow ends when the container's
// process is gone and the log is read to its end. A raw log (a data plane without the agent) is
// served whole, and any option is an UnsupportedError.
func (h *Host) Logs(ctx context.Context, t taskhost.Task, container string, o taskhost.LogOptions) (io.ReadCloser, error) {
	path, cri, err := h.logFile(t, container)
	if err != nil {
		return nil, err
	}
	if !cri {
		return rawLog(path, o)
	}
	pr, pw := io.Pipe()
	go func() { _ = pw.CloseWithError(h.readLogs(ctx, t, container, criOptions(o), pw, pw)) }()
	return pr, nil
}

// logFile is the container's log file and whether it is in the CRI format.
func (h *Host) logFile(t taskhost.Task, container string) (string, bool, error) {
	path := runtime.LogPath(h.stateDir, t.ID, container)
	cri, err := crilog.IsLog(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("container %q of task %s has no log (yet): check the container's name and that it started", container, t.ID)
	}
	if err != nil {
		return "", false, fmt.Errorf("reading the log of container %s of task %s: %w", container, t.ID, err)
	}
	return path, cri, nil
}

// readLogs copies the container's CRI log to stdout and stderr with the kubelet's reader.
func (h *Host) readLogs(ctx context.Context, t taskhost.Task, container string, o *logs.LogOptions, stdout, stderr io.Writer) error {
	path, cri, err := h.logFile(t, container)
	if err != nil {
		return err
	}
	if !cri {
		_, err := rawLog(path, taskhost.LogOptions{Follow: true})
		return err
	}
	return logs.ReadLogs(ctx, path, runtime.ContainerID(t.ID, container), o, &status{host: h}, stdout, stderr)
}

// criOptions converts the Host's log options to the kubelet reader's.
func criOptions(o taskhost.LogOptions) *logs.LogOptions {
	lo := &logs.LogOptions{Follow: o.Follow, Since: o.SinceTime, Timestamp: o.Timestamps}
	if o.Tail > 0 {
		lo.TailLines = &o.Tail
	}
	if o.LimitBytes > 0 {
		lo.LimitBytes = &o.LimitBytes
	}
	return lo
}

// rawLog serves a log without times: whole, and only without options.
func rawLog(path string, o taskhost.LogOptions) (io.ReadCloser, error) {
	if o != (taskhost.LogOptions{}) {
		return nil, &taskhost.UnsupportedError{Op: "kubectl logs with --follow, --tail, --since, --timestamps or --limit-bytes",
			Remedy: "this container's log was written without times, by a data plane that ran without the nodeless-agent (make build puts it beside nodeless); new containers get it once the agent is there; plain kubectl logs works"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening log %s: %w", path, err)
	}
	return f, nil
}

// status is the one call of the CRI runtime service that the kubelet's log reader makes
// (ContainerStatus, to end Follow once the container stopped), answered from containerd. The
// reader calls nothing else; the embedded interface stays nil.
type status struct {
	internalapi.RuntimeService
	host *Host
}

func (s *status) ContainerStatus(ctx context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	state := runtimeapi.ContainerState_CONTAINER_EXITED
	// Like the kubelet when its runtime does not answer: a container that cannot be checked is
	// taken as running, and the reader tries again.
	if running, err := s.host.running(ctx, id); running || err != nil {
		state = runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id, State: state}}, nil
}
