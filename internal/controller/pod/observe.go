package pod

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// Task lifecycle states the controller tests for (ECS's lastStatus and desiredStatus).
const (
	statusRunning = "RUNNING"
	statusStopped = "STOPPED"
)

// describe calls DescribeTasks once for ids (at most 100) of cluster.
func (r *Reconciler) describe(ctx context.Context, cluster string, ids []string) (map[string]*ecstypes.Task, error) {
	out, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: ids})
	if err != nil {
		return nil, err
	}
	got := make(map[string]*ecstypes.Task, len(out.Tasks))
	for i := range out.Tasks {
		got[aws.ToString(out.Tasks[i].TaskArn)] = &out.Tasks[i]
	}
	return got, nil
}

// observe returns the Pod's recorded task as ECS describes it: the poller's description when it
// has a fresh one, else one DescribeTasks (and the task is tracked from then on). nil: ECS does
// not know the task (it forgets stopped tasks after a while).
func (r *Reconciler) observe(ctx context.Context, pod *corev1.Pod, st *podState) (*ecstypes.Task, *reconciler.Problem) {
	key := client.ObjectKeyFromObject(pod)
	arn := st.rec.TaskArn
	if task, ok := r.poller.Get(key); ok && (task == nil || aws.ToString(task.TaskArn) == arn) {
		r.observed(st, task)
		return task, nil
	}
	cluster := clusterOf(arn)
	begin := r.now()
	got, err := r.describe(ctx, cluster, []string{arn})
	if err != nil {
		return nil, ecscall.FromECS("describing task "+arn, err)
	}
	task := got[arn]
	r.poller.Track(key, cluster, arn)
	r.poller.Put(key, task, begin)
	r.observed(st, task)
	return task, nil
}

// observed notes what the sweeper and PodTasks read of the current task.
func (r *Reconciler) observed(st *podState, task *ecstypes.Task) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if task == nil {
		st.live = false
		return
	}
	st.taskDef = aws.ToString(task.TaskDefinitionArn)
	st.live = aws.ToString(task.LastStatus) != statusStopped
	st.ip = taskIP(task)
}

// taskIP is the task's private IPv4 address (its ENI's privateIPv4Address); "" before it has one.
func taskIP(task *ecstypes.Task) string {
	for _, a := range task.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" && aws.ToString(d.Value) != "" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

// fingerprint summarises what, when it changes, needs a reconciliation of the Pod: the task's
// lifecycle, every container's (a new runtimeId is a restart inside the task) and the address.
func fingerprint(t *ecstypes.Task) string {
	if t == nil {
		return "missing"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%s|%s|%s|%s", t.Version, aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus), t.StopCode, taskIP(t))
	for _, c := range t.Containers {
		fmt.Fprintf(&b, "|%s:%s:%s:%d:%s", aws.ToString(c.Name), aws.ToString(c.LastStatus), aws.ToString(c.RuntimeId),
			aws.ToInt32(c.ExitCode), aws.ToString(c.Reason))
	}
	return b.String()
}

// stable reports a task at rest: stopped, or running as desired.
func stable(t *ecstypes.Task) bool {
	if t == nil {
		return true
	}
	last, desired := aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus)
	return last == statusStopped || (last == statusRunning && desired == statusRunning)
}

// isStopped reports whether the task has stopped for good.
func isStopped(t *ecstypes.Task) bool { return aws.ToString(t.LastStatus) == statusStopped }

// lostTask stands for a recorded task ECS no longer knows: stopped, every container terminated
// with the kubelet's ContainerStatusUnknown (exit code 137).
func lostTask(pod *corev1.Pod, arn string) *ecstypes.Task {
	const msg = "ContainerStatusUnknown: The container could not be located when the pod was terminated (ECS no longer knows task %s)"
	t := &ecstypes.Task{TaskArn: aws.String(arn), LastStatus: aws.String(statusStopped), DesiredStatus: aws.String(statusStopped),
		StoppedReason: aws.String(fmt.Sprintf(msg, arn))}
	for _, c := range podContainers(pod) {
		t.Containers = append(t.Containers, ecstypes.Container{Name: aws.String(c.Name), LastStatus: aws.String(statusStopped),
			ExitCode: aws.Int32(137), Reason: aws.String(fmt.Sprintf(msg, arn))})
	}
	return t
}
