package virtualnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	utilexec "k8s.io/utils/exec"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// handlers serve the kubelet routes from PodTasks and the Host.
type handlers struct {
	pods   PodTasks
	host   taskhost.Host
	client kubernetes.Interface
	node   string
}

// task finds the Pod's task and maps the errors to the kubelet API's answers: no such Pod 404,
// no task (yet) 400, as the kubelet answers for a container waiting to start; no previous task
// 400 as the kubelet answers for container (noPreviousRun).
func (h *handlers) task(ctx context.Context, namespace, pod, container string, previous bool) (taskhost.Task, error) {
	t, err := h.pods.Task(ctx, namespace, pod, previous)
	var noTask *NoTaskError
	switch {
	case err == nil:
		return t, nil
	case IsPodNotFound(err):
		return t, errdefs.AsNotFound(err)
	case errors.As(err, &noTask) && noTask.Previous:
		return t, noPreviousRun(noTask, pod, container)
	case errors.As(err, &noTask):
		return t, errdefs.AsInvalidInput(err)
	default:
		return t, fmt.Errorf("finding the task of pod %s/%s: %w", namespace, pod, err)
	}
}

// hostErr maps a Host's error: an unsupported operation is the user's to change (400), with
// its remedy.
func hostErr(err error) error {
	if taskhost.IsUnsupported(err) {
		return errdefs.AsInvalidInput(err)
	}
	return err
}

func (h *handlers) logs(ctx context.Context, namespace, pod, container string, o api.ContainerLogOpts) (io.ReadCloser, error) {
	t, err := h.task(ctx, namespace, pod, container, o.Previous)
	if err != nil {
		return nil, err
	}
	rc, err := h.host.Logs(ctx, t, container, logOptions(o, time.Now()))
	return rc, hostErr(err)
}

// noPreviousRun is the kubelet's answer to `kubectl logs --previous` for a container without an
// earlier run, 400 `previous terminated container "NAME" in pod "POD" not found` (the kubelet's
// validateContainerLogStatus, k8s.io/kubernetes pkg/kubelet/kubelet_pods.go), followed by why
// (e's Reason: a Pod that was never re-run has no previous task).
func noPreviousRun(e *NoTaskError, pod, container string) error {
	msg := fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return errdefs.InvalidInput(msg)
}

// logOptions converts the kubelet API's query (virtual-kubelet's parse of PodLogOptions) to the
// Host's; sinceSeconds becomes a time, counted from now.
func logOptions(o api.ContainerLogOpts, now time.Time) taskhost.LogOptions {
	lo := taskhost.LogOptions{
		Follow:     o.Follow,
		Tail:       int64(o.Tail),
		SinceTime:  o.SinceTime,
		Timestamps: o.Timestamps,
		LimitBytes: int64(o.LimitBytes),
	}
	if o.SinceSeconds > 0 {
		lo.SinceTime = now.Add(-time.Duration(o.SinceSeconds) * time.Second)
	}
	return lo
}

func (h *handlers) exec(ctx context.Context, namespace, pod, container string, cmd []string, io api.AttachIO) error {
	t, err := h.task(ctx, namespace, pod, container, false)
	if err != nil {
		return err
	}
	return exitErr(hostErr(h.host.Exec(ctx, t, container, cmd, streams(ctx, io))))
}

func (h *handlers) attach(ctx context.Context, namespace, pod, container string, io api.AttachIO) error {
	t, err := h.task(ctx, namespace, pod, container, false)
	if err != nil {
		return err
	}
	s := streams(ctx, io)
	if s.StdinOnce, err = h.stdinOnce(ctx, namespace, pod, container); err != nil {
		return err
	}
	return exitErr(hostErr(h.host.Attach(ctx, t, container, s)))
}

// stdinOnce is the container's stdinOnce: whether the end of an attach's input ends the
// container's (the kubelet closes a stdinOnce container's stdin when its first attach detaches).
func (h *handlers) stdinOnce(ctx context.Context, namespace, pod, container string) (bool, error) {
	p, err := h.client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("reading pod %s/%s: %w", namespace, pod, err)
	}
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			return c.StdinOnce, nil
		}
	}
	return false, errdefs.InvalidInputf("pod %s/%s has no container %q", namespace, pod, container)
}

// exitErr turns the Host's *taskhost.ExitError into the error the kubelet's remotecommand
// server reports as the command's exit code (it asserts the type, so it must not be wrapped).
func exitErr(err error) error {
	var ee *taskhost.ExitError
	if errors.As(err, &ee) {
		return utilexec.CodeExitError{Err: err, Code: ee.Code}
	}
	return err
}

// streams converts virtual-kubelet's AttachIO to the Host's Streams; the resize events are
// forwarded until ctx ends.
func streams(ctx context.Context, a api.AttachIO) taskhost.Streams {
	s := taskhost.Streams{Stdin: a.Stdin(), TTY: a.TTY()}
	if w := a.Stdout(); w != nil {
		s.Stdout = w
	}
	if w := a.Stderr(); w != nil {
		s.Stderr = w
	}
	if in := a.Resize(); in != nil {
		out := make(chan taskhost.TermSize)
		s.Resize = out
		go func() {
			defer close(out)
			for {
				select {
				case <-ctx.Done():
					return
				case size, ok := <-in:
					if !ok {
						return
					}
					select {
					case out <- taskhost.TermSize{Width: size.Width, Height: size.Height}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	return s
}

// portForward connects stream to port of the Pod's task (its address in the VPC, or on AWS its
// private IP) until either side closes.
func (h *handlers) portForward(ctx context.Context, namespace, pod string, port int32, stream io.ReadWriteCloser) error {
	defer func() { _ = stream.Close() }()
	t, err := h.task(ctx, namespace, pod, "", false)
	if err != nil {
		return err
	}
	if t.IP == "" {
		return fmt.Errorf("pod %s/%s: its task %s has no address yet", namespace, pod, t.ID)
	}
	conn, err := h.host.Dial(ctx, "tcp", net.JoinHostPort(t.IP, strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("pod %s/%s: connecting to port %d: %w", namespace, pod, port, hostErr(err))
	}
	defer func() { _ = conn.Close() }()
	// The client's end half-closes the connection; the task's end (or ctx) ends the forward, and
	// the deferred closes end the copy from the client.
	go func() { _, _ = io.Copy(conn, stream); closeWrite(conn) }()
	answered := make(chan struct{})
	go func() { _, _ = io.Copy(stream, conn); close(answered) }()
	select {
	case <-answered:
	case <-ctx.Done():
	}
	return nil
}

// closeWrite half-closes a TCP connection, so the task sees EOF while its answer still flows.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// listPods is /pods: the Pods bound to the node, from the API server.
func (h *handlers) listPods(ctx context.Context) ([]*corev1.Pod, error) {
	list, err := h.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", h.node).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of node %s: %w", h.node, err)
	}
	out := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}
