package pod

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/prober"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// containerRun is one run of a container as the controller hands it to the prober: its ECS
// runtimeId and the start time given for it.
type containerRun struct {
	task, runtimeID string
	at              time.Time
}

// killing is the kill of one container run whose liveness or startup probe failed: SIGTERM at
// termAt, SIGKILL once grace has passed (the kubelet's killContainer).
type killing struct {
	termAt time.Time
	grace  time.Duration
	hard   bool
}

// ensureProbes hands the Pod's task to the prober (on every reconcile while the task has not
// stopped, as the prober asks): the task, the Pod's plan, and the start time of each running
// container's run.
func (r *Reconciler) ensureProbes(pod *corev1.Pod, st *podState, tr *translate.Translation, task *ecstypes.Task) {
	if r.opts.Probes == nil || tr == nil {
		return
	}
	r.opts.Probes.Ensure(client.ObjectKeyFromObject(pod), st.uid, hostTask(task), tr.Node, st.startTimes(task, r.now()))
}

// startTimes maps each running container of task to the start of its current run. ECS reports
// per-task times only, so the first run of a container seen in a task started with the task
// (the same after a controller restart, so the prober adopts the run and keeps the Pod's
// readiness), and a later run in the same task (ECS restarted it: a new runtimeId) when it was
// first seen.
func (st *podState) startTimes(task *ecstypes.Task, now time.Time) map[string]time.Time {
	arn := aws.ToString(task.TaskArn)
	if st.runs == nil {
		st.runs = map[string]containerRun{}
	}
	out := map[string]time.Time{}
	if aws.ToString(task.LastStatus) != statusRunning {
		return out
	}
	for _, c := range task.Containers {
		name, id := aws.ToString(c.Name), aws.ToString(c.RuntimeId)
		if aws.ToString(c.LastStatus) != statusRunning {
			continue
		}
		prev, ok := st.runs[name]
		switch {
		case ok && prev.task == arn && prev.runtimeID == id:
		case ok && prev.task == arn:
			st.runs[name] = containerRun{task: arn, runtimeID: id, at: now}
		default:
			at := now
			if task.StartedAt != nil && !task.StartedAt.IsZero() {
				at = *task.StartedAt
			}
			st.runs[name] = containerRun{task: arn, runtimeID: id, at: at}
		}
		out[name] = st.runs[name].at
	}
	return out
}

// probeStates sets the containers' Ready and Started from the probes' results. A container the
// prober has no verdict on yet (nil: one it adopted after a controller restart, until its probes
// conclude) keeps what the Pod's status said, as the kubelet keeps it after its own restart, so
// that a controller restart does not take the Pod out of its Services. Without a prober (or a
// translation) a running container counts as ready and started, as one without probes does.
func probeStates(pod *corev1.Pod, results map[string]prober.Result, probing bool, c *corev1.Container, cs *translate.ContainerState) {
	if !probing {
		cs.Ready, cs.Started = ptrTrue(), ptrTrue()
		return
	}
	res, ok := results[c.Name]
	if !ok {
		return
	}
	cs.Ready, cs.Started = res.Ready, res.Started
	prev := previousStatus(pod, c.Name)
	if prev == nil || prev.State.Running == nil {
		return
	}
	if cs.Started == nil && prev.Started != nil {
		cs.Started = ptrBool(*prev.Started)
	}
	if cs.Ready == nil {
		cs.Ready = ptrBool(prev.Ready)
	}
}

// previousStatus is the container's status as the Pod has it (nil when it has none).
func previousStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func ptrBool(b bool) *bool { return &b }

// killUnhealthy kills, as the kubelet does, every running container whose liveness or startup
// probe failed (Result.Kill): SIGTERM through the Host with the kubelet's Killing Event
// (Kill.Message), then SIGKILL after Kill.GracePeriodSeconds. Locally an essential container's
// exit stops the task, and the node runs the Pod again under its restart policy with back-off
// (ADR 0005, "Restarts"). Where the Host cannot signal (no Host, or IsUnsupported), the task is
// stopped instead. It returns when to look again (0: nothing pending) or a Problem.
func (r *Reconciler) killUnhealthy(ctx context.Context, pod *corev1.Pod, st *podState, task *ecstypes.Task) (time.Duration, *reconciler.Problem) {
	if r.opts.Probes == nil || aws.ToString(task.LastStatus) != statusRunning {
		return 0, nil
	}
	results := r.opts.Probes.Results(client.ObjectKeyFromObject(pod))
	var again time.Duration
	for _, c := range task.Containers {
		name, id := aws.ToString(c.Name), aws.ToString(c.RuntimeId)
		res, ok := results[name]
		if !ok || res.Kill == nil || aws.ToString(c.LastStatus) != statusRunning || id == "" {
			continue
		}
		wait, p := r.kill(ctx, pod, st, task, name, id, res.Kill)
		if p != nil {
			return 0, p
		}
		again = minPositive(again, wait)
	}
	return again, nil
}

// kill moves the kill of one container run on: SIGTERM first, SIGKILL after the grace period.
func (r *Reconciler) kill(ctx context.Context, pod *corev1.Pod, st *podState, task *ecstypes.Task, name, runtimeID string, k *prober.Kill) (time.Duration, *reconciler.Problem) {
	if st.kills == nil {
		st.kills = map[string]*killing{}
	}
	now := r.now()
	kl := st.kills[runtimeID]
	if kl == nil {
		kl = &killing{termAt: now, grace: time.Duration(max(k.GracePeriodSeconds, 0)) * time.Second}
		st.kills[runtimeID] = kl
		r.emit(pod, st, podEvent{corev1.EventTypeNormal, EventKilling, k.Message, "killing/containerd://" + runtimeID})
		ctrl.LoggerFrom(ctx).Info("killing container after probe failure", "container", name, "reason", k.Reason)
		done, p := r.signal(ctx, pod, st, task, name, syscall.SIGTERM, k.Message)
		if p != nil {
			delete(st.kills, runtimeID) // SIGTERM again on the retry
			return 0, p
		}
		if done {
			return r.opts.PollInterval, nil
		}
	}
	left := kl.termAt.Add(kl.grace).Sub(now)
	if left > 0 {
		return left, nil
	}
	if !kl.hard {
		kl.hard = true
		if _, p := r.signal(ctx, pod, st, task, name, syscall.SIGKILL, k.Message); p != nil {
			return 0, p
		}
	}
	return r.opts.PollInterval, nil
}

// signal sends sig to the container through the Host; where the Host cannot (none, or
// unsupported), it stops the whole task (done: nothing more to send).
func (r *Reconciler) signal(ctx context.Context, pod *corev1.Pod, st *podState, task *ecstypes.Task, name string, sig syscall.Signal, why string) (done bool, p *reconciler.Problem) {
	if r.opts.Host != nil {
		err := r.opts.Host.Signal(ctx, hostTask(task), name, sig)
		if err == nil {
			return false, nil
		}
		if !taskhost.IsUnsupported(err) {
			return false, reconciler.AsProblem(fmt.Errorf("sending %v to container %s of task %s: %w", sig, name, hostTask(task).TaskArn, err))
		}
	}
	if p := r.stopTask(ctx, pod, st, task, why); !isRequeue(p) {
		return true, p
	}
	return true, nil
}
