package pod

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionTask is the Pod condition in which the node records the Pod's ECS task, so that a
// restarted controller re-attaches from the Pod alone (DESIGN.md: "ARNs and IDs recorded in
// status"). It is written in the same status patch as the rest of the status the task gives.
//
//	type: nodeless.dev/Task
//	status: "True"
//	reason: ECSTask
//	message: arn:aws:ecs:us-east-1:123456789012:task/nodeless/0f3c... run=2 previous=arn:aws:ecs:...
//
// A condition rather than a containerID (each container's is containerd://<runtimeId>, as
// translate writes it and as tools expect it, and a container that never started has none) or an
// annotation (a metadata write of its own, outside the status patch and its optimistic lock).
// Kubernetes keeps conditions of types it does not know (readiness gates use them too), and
// translate.PodStatus carries them over.
const ConditionTask corev1.PodConditionType = "nodeless.dev/Task"

// ReasonTaskRecord is the reason of the ConditionTask condition.
const ReasonTaskRecord = "ECSTask"

// Record is what the Pod's status records of its task.
type Record struct {
	// TaskArn is the Pod's current task (its cluster is the ARN's; tasks have long ARNs:
	// arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID).
	TaskArn string
	// Run numbers the node's runs of the Pod: 0 for the first task, n for the n-th re-run. It is
	// the attempt of RunTask's clientToken (translate.ClientToken(uid, Run)).
	Run int
	// PreviousTaskArn is the task of the run before, for `kubectl logs --previous`; "" for run 0.
	PreviousTaskArn string
}

// String is the condition's message.
func (r Record) String() string {
	s := r.TaskArn + " run=" + strconv.Itoa(r.Run)
	if r.PreviousTaskArn != "" {
		s += " previous=" + r.PreviousTaskArn
	}
	return s
}

// parseRecord reads a condition message written by Record.String.
func parseRecord(msg string) (Record, error) {
	fields := strings.Fields(msg)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "arn:") {
		return Record{}, fmt.Errorf("task record %q: want \"<task ARN> run=<n> [previous=<task ARN>]\"", msg)
	}
	rec := Record{TaskArn: fields[0]}
	seenRun := false
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "run":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Record{}, fmt.Errorf("task record %q: run %q is not a number", msg, v)
			}
			rec.Run, seenRun = n, true
		case "previous":
			rec.PreviousTaskArn = v
		default:
			return Record{}, fmt.Errorf("task record %q: unknown field %q", msg, f)
		}
	}
	if !seenRun {
		return Record{}, fmt.Errorf("task record %q: no run", msg)
	}
	return rec, nil
}

// recordOf returns the task recorded in the Pod's status; false when there is none (or it
// cannot be read, which is reported as an error).
func recordOf(st *corev1.PodStatus) (Record, bool, error) {
	for _, c := range st.Conditions {
		if c.Type == ConditionTask {
			rec, err := parseRecord(c.Message)
			return rec, err == nil, err
		}
	}
	return Record{}, false, nil
}

// setRecord records rec in st, keeping the condition's transition time while it is unchanged.
func setRecord(st *corev1.PodStatus, rec Record, now metav1.Time) {
	c := corev1.PodCondition{Type: ConditionTask, Status: corev1.ConditionTrue, Reason: ReasonTaskRecord,
		Message: rec.String(), LastTransitionTime: now}
	for i := range st.Conditions {
		if st.Conditions[i].Type != ConditionTask {
			continue
		}
		if st.Conditions[i].Message == c.Message {
			c.LastTransitionTime = st.Conditions[i].LastTransitionTime
		}
		st.Conditions[i] = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

// clusterOf is the cluster named by a task's long ARN (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID);
// "" for anything else.
func clusterOf(taskArn string) string {
	_, res, ok := strings.Cut(taskArn, ":task/")
	if !ok {
		return ""
	}
	cluster, _, ok := strings.Cut(res, "/")
	if !ok {
		return ""
	}
	return cluster
}

// taskID is the last element of a task ARN.
func taskID(taskArn string) string {
	return taskArn[strings.LastIndexByte(taskArn, '/')+1:]
}
