package pod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/podstart"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Sync runs the Pod as a kubelet would: admit it (or reject it, naming every field nodeless
// cannot honour), start its task once, mirror the task into the Pod's status, run it again
// under its restart policy with the kubelet's back-off, and stop it at its active deadline.
func (r *Reconciler) Sync(ctx context.Context, pod *corev1.Pod) *reconciler.Problem {
	if pod.Spec.NodeName != r.opts.NodeName {
		return nil
	}
	st := r.pods.of(pod)
	_, hasRec := st.record()
	if !hasRec && terminal(pod) {
		return nil // rejected, or finished before this controller knew it
	}
	tr, err := r.translation(ctx, st, pod)
	var refused *translate.RefusedError
	switch {
	case errors.As(err, &refused) && !hasRec:
		return r.reject(pod, st, refused)
	case errors.As(err, &refused):
		// A running Pod whose spec changed into one nodeless refuses keeps its task.
		ctrl.LoggerFrom(ctx).Info("pod spec no longer translates; its task runs on", "problems", refused.Error())
		tr = st.tr
	case err != nil:
		return reconciler.AsProblem(err)
	}
	if !hasRec {
		return r.start(ctx, pod, st, tr)
	}
	return r.follow(ctx, pod, st, tr)
}

// terminal reports whether the Pod's phase is final.
func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// translation is the Pod's translation, made once per generation with the Options its task
// starts with (effectiveOptions: the controller's, completed by the Cluster object's defaults).
func (r *Reconciler) translation(ctx context.Context, st *podState, pod *corev1.Pod) (*translate.Translation, error) {
	if st.tr != nil && st.gen == pod.Generation {
		return st.tr, nil
	}
	opts, err := r.effectiveOptions(ctx, pod, st)
	if err != nil {
		return nil, err
	}
	if p := opts.needsExecutionRole(); p != nil {
		r.emit(pod, st, podEvent{corev1.EventTypeWarning, p.Reason, p.Message, "no-execution-role"})
		return nil, p
	}
	tr, err := translate.Translate(pod, opts.translate())
	if err != nil {
		return nil, err
	}
	st.tr, st.gen, st.family, st.opts = tr, pod.Generation, tr.Revision.Family, &opts
	return tr, nil
}

// options are the Options of the Pod's task: those of its translation, the controller's before
// there is one.
func (r *Reconciler) options(st *podState) *Options {
	if st.opts != nil {
		return st.opts
	}
	return &r.opts
}

// reject fails the Pod as the kubelet fails a Pod it cannot admit: phase Failed, the first
// problem's reason, a message listing every problem (field path, what is wrong, what to do),
// and a Warning Event per problem.
func (r *Reconciler) reject(pod *corev1.Pod, st *podState, refused *translate.RefusedError) *reconciler.Problem {
	parts := make([]string, len(refused.Problems))
	for i, p := range refused.Problems {
		parts[i] = p.String()
		r.emit(pod, st, podEvent{corev1.EventTypeWarning, p.Reason, p.Path + ": " + p.Message, "rejected/" + p.Path + "/" + p.Reason})
	}
	pod.Status.Phase = corev1.PodFailed
	pod.Status.Reason = refused.Reason()
	pod.Status.Message = "Pod was rejected: " + strings.Join(parts, "; ")
	return nil
}

// warn records the translation's warnings (and the start's) as Warning Events, once.
func (r *Reconciler) warn(pod *corev1.Pod, st *podState, problems []translate.Problem) {
	for _, p := range problems {
		r.emit(pod, st, podEvent{corev1.EventTypeWarning, p.Reason, p.Path + ": " + p.Message, "warning/" + p.Path + "/" + p.Reason})
	}
}

// start runs the Pod's first task.
func (r *Reconciler) start(ctx context.Context, pod *corev1.Pod, st *podState, tr *translate.Translation) *reconciler.Problem {
	r.warn(pod, st, tr.Warnings)
	return r.launch(ctx, pod, st, tr, 0, Record{})
}

// launch resolves the Pod's start-time values and runs its task as run (0 for the first,
// n for the n-th re-run, whose previous task was prev).
func (r *Reconciler) launch(ctx context.Context, pod *corev1.Pod, st *podState, tr *translate.Translation, run int, prev Record) *reconciler.Problem {
	cluster, p := r.ensureCluster(ctx)
	if p != nil {
		return r.startFailed(pod, st, tr, p)
	}
	start, err := podstart.Resolve(ctx, pod, tr, r.deps(pod, st))
	var waiting *podstart.Waiting
	var refused *translate.RefusedError
	switch {
	case errors.As(err, &waiting):
		return r.waitFor(pod, st, tr, waiting)
	case errors.As(err, &refused):
		if run > 0 {
			return r.startFailed(pod, st, tr, &reconciler.Problem{Reason: refused.Reason(), Message: refused.Error(), RequeueAfter: time.Minute})
		}
		return r.reject(pod, st, refused)
	case err != nil:
		return r.startFailed(pod, st, tr, reconciler.AsProblem(fmt.Errorf("resolving the values of pod %s/%s at start: %w", pod.Namespace, pod.Name, err)))
	}
	st.waitDelay = 0
	r.warn(pod, st, start.Warnings)
	return r.runTask(ctx, pod, st, tr, cluster, start, run, prev)
}

// deps are podstart's dependencies for pod.
func (r *Reconciler) deps(pod *corev1.Pod, st *podState) podstart.Deps {
	d := podstart.Deps{Reader: r.client, Mirror: r.opts.Mirror, AgentImage: r.opts.AgentImage, Tokens: r.tokens, Options: r.options(st).translate()}
	if pod.Status.PodIP != "" {
		d.PodIPs = []string{pod.Status.PodIP}
	}
	if r.opts.HostIP != "" {
		d.HostIPs = []string{r.opts.HostIP}
	}
	return d
}

// waitFor keeps the Pod Pending as the kubelet does while a ConfigMap, Secret or key it needs
// is missing (CreateContainerConfigError, or ContainerCreating after FailedMount), with the
// kubelet's Event; the Pod is tried again when the object changes (watch) and with back-off.
func (r *Reconciler) waitFor(pod *corev1.Pod, st *podState, tr *translate.Translation, w *podstart.Waiting) *reconciler.Problem {
	for _, c := range podContainers(pod) {
		if w.Container == "" || w.Container == c.Name {
			st.container(c.Name).Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		}
	}
	r.emit(pod, st, podEvent{corev1.EventTypeWarning, w.EventReason, w.EventMessage, "waiting/" + w.EventReason + "/" + w.EventMessage})
	r.writeStatus(pod, st, tr, nil, false)
	st.waitDelay = min(max(2*st.waitDelay, 2*time.Second), time.Minute)
	return requeue(st.waitDelay)
}

// startFailed shows why the task could not be started (an ECS error, RunTask's failures) as the
// containers' waiting reason, with a Warning Event, and returns p (which says when to retry).
func (r *Reconciler) startFailed(pod *corev1.Pod, st *podState, tr *translate.Translation, p *reconciler.Problem) *reconciler.Problem {
	for _, c := range podContainers(pod) {
		st.container(c.Name).Waiting = &corev1.ContainerStateWaiting{Reason: p.Reason, Message: p.Message}
	}
	r.emit(pod, st, podEvent{corev1.EventTypeWarning, EventFailedRunTask, p.Message, "startfailed/" + p.Reason + "/" + p.Message})
	var task *ecstypes.Task
	restarting := false
	if st.hasRec {
		task, _ = r.poller.Get(client.ObjectKeyFromObject(pod))
		restarting = true
	}
	r.writeStatus(pod, st, tr, task, restarting)
	if p.RequeueAfter == 0 && p.Err == nil {
		p.RequeueAfter = time.Minute // waits for a spec change, but ECS may change its mind too
	}
	return p
}

// follow mirrors the Pod's recorded task into its status and acts on it: probes, files kept
// current and the active deadline while it runs; the restart policy once it stopped.
func (r *Reconciler) follow(ctx context.Context, pod *corev1.Pod, st *podState, tr *translate.Translation) *reconciler.Problem {
	task, p := r.observe(ctx, pod, st)
	if p != nil {
		return p
	}
	if task == nil {
		if terminal(pod) {
			r.poller.Untrack(client.ObjectKeyFromObject(pod))
			return nil
		}
		task = lostTask(pod, st.rec.TaskArn)
	}
	if isStopped(task) {
		return r.afterStop(ctx, pod, st, tr, task)
	}
	if terminal(pod) || st.deadline {
		// The Pod ended (its deadline) while its task still runs: make sure it stops.
		r.writeStatus(pod, st, tr, task, false)
		return r.stopTask(ctx, pod, st, task, "the Pod's active deadline passed")
	}
	if p := r.checkDeadline(ctx, pod, st, tr, task); p != nil || st.deadline {
		return p
	}
	r.ensureProbes(pod, st, tr, task)
	killAgain, p := r.killUnhealthy(ctx, pod, st, task)
	if p != nil {
		r.writeStatus(pod, st, tr, task, false)
		return p
	}
	again := r.keepCurrent(ctx, pod, st, tr, task)
	r.writeStatus(pod, st, tr, task, false)
	return requeue(minPositive(minPositive(again, killAgain), r.deadlineLeft(pod)))
}

// afterStop decides what follows the Pod's stopped task: nothing (the Pod succeeded or failed),
// or a new run, now or after the back-off.
func (r *Reconciler) afterStop(ctx context.Context, pod *corev1.Pod, st *podState, tr *translate.Translation, task *ecstypes.Task) *reconciler.Problem {
	key := client.ObjectKeyFromObject(pod)
	if r.opts.Probes != nil {
		r.opts.Probes.Remove(key)
	}
	st.runs, st.kills = nil, nil
	out := decide(pod, task)
	if st.deadline || terminal(pod) || !out.restart {
		r.writeStatus(pod, st, tr, task, false)
		r.poller.Untrack(key)
		r.registry.Touch(st.family)
		return nil
	}
	r.recordStop(pod, st, task)
	now := r.now()
	if wait := st.backoff.wait(r.opts.Backoff, stoppedAt(task, now), now); wait > 0 {
		r.backingOff(pod, st, out, task)
		r.writeStatus(pod, st, tr, task, true)
		return requeue(wait)
	}
	r.rerunWaiting(pod, st, out, task)
	return r.launch(ctx, pod, st, tr, st.rec.Run+1, st.rec)
}

// recordStop records, once per stopped task, how each container that ran ended (its lastState
// while the Pod waits and once it runs again), and which containers the next run restarts.
func (r *Reconciler) recordStop(pod *corev1.Pod, st *podState, task *ecstypes.Task) {
	arn := aws.ToString(task.TaskArn)
	st.restarted = nil
	for _, c := range podContainers(pod) {
		if ran(task, c.Name) || startFailed(task, c.Name) != "" {
			st.restarted = append(st.restarted, c.Name)
		}
	}
	if st.handledStop == arn {
		return
	}
	st.handledStop = arn
	plain := translate.PodStatus(translate.StatusInput{Pod: pod, Task: task, Now: metav1.NewTime(r.now())})
	for _, list := range [][]corev1.ContainerStatus{plain.InitContainerStatuses, plain.ContainerStatuses} {
		for _, cs := range list {
			if t := cs.State.Terminated; t != nil && ran(task, cs.Name) {
				st.container(cs.Name).LastTermination = t.DeepCopy()
			} else if msg := startFailed(task, cs.Name); msg != "" {
				st.container(cs.Name).LastTermination = startError(task, cs.Name, msg, r.now())
			}
		}
	}
}

// startError is the lastState of a container whose process could not be started, as the
// kubelet on containerd records it: StartError, exit code 128, the runtime's message.
func startError(task *ecstypes.Task, name, msg string, now time.Time) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{ExitCode: startErrorExitCode, Reason: ReasonStartError, Message: msg,
		FinishedAt: metav1.NewTime(stoppedAt(task, now))}
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == name && aws.ToString(c.RuntimeId) != "" {
			t.ContainerID = "containerd://" + aws.ToString(c.RuntimeId)
		}
	}
	return t
}

// backingOff shows the kubelet's waiting reasons while the Pod waits to run again.
func (r *Reconciler) backingOff(pod *corev1.Pod, st *podState, out stopped, task *ecstypes.Task) {
	for _, name := range out.pulls {
		st.container(name).Waiting = &corev1.ContainerStateWaiting{Reason: translate.ReasonImagePullBackOff,
			Message: fmt.Sprintf("Back-off pulling image %q", imageOf(pod, name))}
	}
	if out.config {
		for _, c := range podContainers(pod) {
			st.container(c.Name).Waiting = &corev1.ContainerStateWaiting{Reason: translate.ReasonCreateContainerConfigError,
				Message: aws.ToString(task.StoppedReason)}
		}
	}
	if len(out.pulls) > 0 || out.config {
		return
	}
	for _, name := range out.crashed {
		st.container(name).Waiting = &corev1.ContainerStateWaiting{Reason: translate.ReasonCrashLoopBackOff,
			Message: crashLoopMessage(st.backoff.delay, name, podRef(pod))}
	}
}

// rerunWaiting sets what the containers show while the new run starts: an image that could not
// be pulled keeps ErrImagePull (and secrets that could not be had CreateContainerConfigError)
// until the pull succeeds; a crashed container starts over.
func (r *Reconciler) rerunWaiting(pod *corev1.Pod, st *podState, out stopped, task *ecstypes.Task) {
	for _, c := range podContainers(pod) {
		st.container(c.Name).Waiting = nil
	}
	for _, name := range out.pulls {
		st.container(name).Waiting = &corev1.ContainerStateWaiting{Reason: translate.ReasonErrImagePull, Message: containerReason(task, name)}
	}
	if out.config {
		for _, c := range podContainers(pod) {
			st.container(c.Name).Waiting = &corev1.ContainerStateWaiting{Reason: translate.ReasonCreateContainerConfigError,
				Message: aws.ToString(task.StoppedReason)}
		}
	}
}

// stoppedAt is when the task stopped (now when ECS does not say).
func stoppedAt(task *ecstypes.Task, now time.Time) time.Time {
	for _, t := range []*time.Time{task.ExecutionStoppedAt, task.StoppedAt, task.StoppingAt} {
		if t != nil && !t.IsZero() {
			return *t
		}
	}
	return now
}

func imageOf(pod *corev1.Pod, name string) string {
	for _, c := range podContainers(pod) {
		if c.Name == name {
			return c.Image
		}
	}
	return ""
}

// containerReason is a container's reason in the task, else the task's stoppedReason.
func containerReason(task *ecstypes.Task, name string) string {
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == name && aws.ToString(c.Reason) != "" {
			return aws.ToString(c.Reason)
		}
	}
	return aws.ToString(task.StoppedReason)
}

func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}
