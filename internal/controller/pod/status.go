package pod

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/prober"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// writeStatus sets pod's status from its task (nil before there is one) and the node's state
// (restarting: the task stopped and the node will run the Pod again), with the task record, and
// records the Events the change means. The skeleton writes it when it differs from what the API
// server has (never at rest: times are whole seconds, as stored).
func (r *Reconciler) writeStatus(pod *corev1.Pod, st *podState, tr *translate.Translation, task *ecstypes.Task, restarting bool) {
	next, err := r.statusOf(pod, st, tr, task, restarting)
	if err != nil {
		return // a PodStatus always encodes; keep the status as it is rather than write half of it
	}
	r.emit(pod, st, statusEvents(pod, st.rec.Run, &pod.Status, &next)...)
	pod.Status = next
}

// statusOf is the status writeStatus sets, as the API server stores it.
func (r *Reconciler) statusOf(pod *corev1.Pod, st *podState, tr *translate.Translation, task *ecstypes.Task, restarting bool) (corev1.PodStatus, error) {
	now := metav1.NewTime(r.now().Truncate(time.Second))
	next := translate.PodStatus(translate.StatusInput{
		Pod: pod, Task: task, Node: r.nodeState(pod, st, tr, task, restarting), Now: now, HostIP: r.opts.HostIP,
	})
	if rec, ok := st.record(); ok {
		setRecord(&next, rec, now)
	}
	err := normalize(&next)
	return next, err
}

// nodeState is what the node knows beyond the task: restart counts, last terminations and
// waiting reasons, the probes' results (without a prober, a running container is ready and
// started, as one without probes), the deadline.
func (r *Reconciler) nodeState(pod *corev1.Pod, st *podState, tr *translate.Translation, task *ecstypes.Task, restarting bool) translate.NodeState {
	ns := translate.NodeState{Containers: map[string]translate.ContainerState{}, Restarting: restarting, DeadlineExceeded: st.deadline}
	var results map[string]prober.Result
	probing := r.opts.Probes != nil && tr != nil
	if probing {
		results = r.opts.Probes.Results(client.ObjectKeyFromObject(pod))
	}
	for _, c := range podContainers(pod) {
		cs := *st.container(c.Name)
		if task != nil && aws.ToString(task.LastStatus) == statusRunning && containerRunning(task, c.Name) {
			cs.Waiting = nil
			st.container(c.Name).Waiting = nil
		}
		probeStates(pod, results, probing, c, &cs)
		ns.Containers[c.Name] = cs
	}
	return ns
}

func ptrTrue() *bool {
	t := true
	return &t
}

// containerRunning reports whether the task's container name runs.
func containerRunning(task *ecstypes.Task, name string) bool {
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == name {
			return aws.ToString(c.LastStatus) == statusRunning
		}
	}
	return false
}

// hostTask is the taskhost view of the Pod's current task.
func hostTask(task *ecstypes.Task) taskhost.Task {
	arn := aws.ToString(task.TaskArn)
	return taskhost.Task{Cluster: clusterOf(arn), TaskArn: arn, ID: taskID(arn), IP: taskIP(task)}
}

// deadlineLeft is how long the Pod may still run under activeDeadlineSeconds, counted from its
// startTime as the kubelet counts it; 0 without a deadline (or before it started).
func (r *Reconciler) deadlineLeft(pod *corev1.Pod) time.Duration {
	d := pod.Spec.ActiveDeadlineSeconds
	if d == nil || pod.Status.StartTime == nil {
		return 0
	}
	left := pod.Status.StartTime.Add(time.Duration(*d) * time.Second).Sub(r.now())
	if left <= 0 {
		return -1
	}
	return left
}

// checkDeadline stops the task of a Pod past its activeDeadlineSeconds; the Pod fails with
// reason DeadlineExceeded (as the kubelet's activeDeadlineHandler decides).
func (r *Reconciler) checkDeadline(ctx context.Context, pod *corev1.Pod, st *podState, tr *translate.Translation, task *ecstypes.Task) *reconciler.Problem {
	if r.deadlineLeft(pod) >= 0 {
		return nil
	}
	st.deadline = true
	r.emit(pod, st, podEvent{corev1.EventTypeNormal, EventDeadlineExceeded,
		"Pod was active on the node longer than the specified deadline", "deadline"})
	r.writeStatus(pod, st, tr, task, false)
	msg := fmt.Sprintf("Pod %s/%s exceeded its activeDeadlineSeconds (%d s)", pod.Namespace, pod.Name, *pod.Spec.ActiveDeadlineSeconds)
	return r.stopTask(ctx, pod, st, task, msg)
}

// stopTask stops the Pod's task (SIGTERM, then SIGKILL after the containers' stopTimeout) unless
// it is stopping already, with the kubelet's Killing Events, and asks to be reconciled again
// while it stops (the poller wakes the Pod when it has).
func (r *Reconciler) stopTask(ctx context.Context, pod *corev1.Pod, st *podState, task *ecstypes.Task, reason string) *reconciler.Problem {
	arn := aws.ToString(task.TaskArn)
	if aws.ToString(task.DesiredStatus) == statusStopped || st.stopRequested == arn {
		return requeue(r.opts.PollInterval)
	}
	key := client.ObjectKeyFromObject(pod)
	r.withdraw(pod, task)
	r.poller.Invalidate(key)
	begin := r.now()
	out, err := r.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(clusterOf(arn)), Task: aws.String(arn), Reason: aws.String(truncate(reason, 255))})
	if err != nil && !ecsapi.IsNotFound(err) {
		return ecscall.FromECS("stopping task "+arn, err)
	}
	st.stopRequested = arn
	ctrl.LoggerFrom(ctx).Info("stopping ECS task", "arn", arn, "reason", reason)
	r.emit(pod, st, killingEvents(&pod.Status, "")...)
	if out != nil && out.Task != nil {
		r.poller.Put(key, out.Task, begin)
	}
	return requeue(r.opts.PollInterval)
}

// withdraw tells the Withdrawers that the Pod's task address must no longer be answered.
func (r *Reconciler) withdraw(pod *corev1.Pod, task *ecstypes.Task) {
	ip := taskIP(task)
	if ip == "" {
		return
	}
	for _, w := range r.opts.Withdrawers {
		w.Withdraw(pod.UID, ip)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
