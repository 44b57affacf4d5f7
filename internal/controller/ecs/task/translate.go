package task

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

// MaxClientToken is the longest clientToken RunTask accepts.
const MaxClientToken = 64

// RunInput translates a Task into the RunTask request, for cluster and task definition already
// resolved. The spec is immutable, so the token depends only on the object's UID.
func RunInput(t *ecsv1alpha1.Task, cluster, taskDefinition string) *ecs.RunTaskInput {
	s := &t.Spec
	in := &ecs.RunTaskInput{
		Cluster:         aws.String(cluster),
		TaskDefinition:  aws.String(taskDefinition),
		Count:           aws.Int32(1),
		PlatformVersion: ecscall.OptString(s.PlatformVersion),
		Group:           ecscall.OptString(s.Group),
		StartedBy:       ecscall.OptString(s.StartedBy),
		ClientToken:     aws.String(string(t.UID)),
		Tags:            managed.Tags(s.Tags, ecscall.OwnerTag(t)),
	}
	if s.LaunchType != "" {
		in.LaunchType = ecstypes.LaunchType(s.LaunchType)
	}
	if nc := s.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		a := nc.AwsvpcConfiguration
		in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: a.Subnets, SecurityGroups: a.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIp(a.AssignPublicIp),
		}}
	}
	if o := s.Overrides; o != nil {
		in.Overrides = &ecstypes.TaskOverride{Cpu: ecscall.OptString(o.Cpu), Memory: ecscall.OptString(o.Memory)}
		for _, c := range o.ContainerOverrides {
			in.Overrides.ContainerOverrides = append(in.Overrides.ContainerOverrides, ecstypes.ContainerOverride{
				Name: aws.String(c.Name), Command: c.Command, Environment: managed.KeyValuePairs(c.Environment),
			})
		}
	}
	runMembers(s, in)
	return in
}

// MirrorStatus copies what ECS reports about the task into status.
func MirrorStatus(st *ecsv1alpha1.TaskStatus, t *ecstypes.Task) {
	st.TaskArn = aws.ToString(t.TaskArn)
	st.ClusterArn = aws.ToString(t.ClusterArn)
	st.TaskDefinitionArn = aws.ToString(t.TaskDefinitionArn)
	st.LastStatus = aws.ToString(t.LastStatus)
	st.DesiredStatus = aws.ToString(t.DesiredStatus)
	st.StopCode = string(t.StopCode)
	st.StoppedReason = aws.ToString(t.StoppedReason)
	st.StartedAt = timeOf(t.StartedAt)
	st.StoppedAt = timeOf(t.StoppedAt)
	st.Containers = nil
	for _, c := range t.Containers {
		st.Containers = append(st.Containers, ecsv1alpha1.ContainerStatus{
			Name: aws.ToString(c.Name), LastStatus: aws.ToString(c.LastStatus), ExitCode: c.ExitCode,
			Reason: aws.ToString(c.Reason), HealthStatus: string(c.HealthStatus),
		})
	}
	st.Phase = Phase(st)
}

func timeOf(t *time.Time) *metav1.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	return &metav1.Time{Time: t.UTC().Truncate(time.Second)}
}

// Phase sums up the mirrored lifecycle (see ecsv1alpha1.TaskStatus.Phase): "" before the task
// exists; Pending until it has started; Running; once STOPPED, Succeeded when it stopped because
// its essential container exited (stopCode EssentialContainerExited) and every container exited
// 0, Failed otherwise.
func Phase(st *ecsv1alpha1.TaskStatus) ecsv1alpha1.TaskPhase {
	switch {
	case st.LastStatus == "":
		return ""
	case st.LastStatus == "STOPPED" && succeeded(st):
		return ecsv1alpha1.TaskSucceeded
	case st.LastStatus == "STOPPED":
		return ecsv1alpha1.TaskFailed
	case st.LastStatus == "RUNNING" || st.StartedAt != nil:
		return ecsv1alpha1.TaskRunning
	}
	return ecsv1alpha1.TaskPending
}

func succeeded(st *ecsv1alpha1.TaskStatus) bool {
	if st.StopCode != "EssentialContainerExited" || len(st.Containers) == 0 {
		return false
	}
	for _, c := range st.Containers {
		if c.ExitCode == nil || *c.ExitCode != 0 {
			return false
		}
	}
	return true
}

// Readiness derives the Ready condition from the mirrored status.
func Readiness(st *ecsv1alpha1.TaskStatus) (bool, string, string) {
	switch Phase(st) {
	case ecsv1alpha1.TaskSucceeded:
		return false, managed.ReasonCompleted, "the task ran to completion: every container exited 0"
	case ecsv1alpha1.TaskFailed:
		var exits []string
		for _, c := range st.Containers {
			if c.ExitCode != nil {
				exits = append(exits, fmt.Sprintf("%s exited %d", c.Name, *c.ExitCode))
			}
		}
		return false, managed.ReasonStopped, strings.TrimSuffix(fmt.Sprintf("the task stopped (%s: %s) %s", st.StopCode, st.StoppedReason, strings.Join(exits, ", ")), " ")
	}
	if st.LastStatus == "RUNNING" {
		return true, managed.ReasonRunning, "the task is RUNNING"
	}
	return false, managed.ReasonStarting, fmt.Sprintf("the task is %s", st.LastStatus)
}

// Fingerprint summarises what, when it changes, needs a reconciliation of the Task.
func Fingerprint(t *ecstypes.Task) string {
	if t == nil {
		return "missing"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%s|%s|%s|%s", t.Version, aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus), t.StopCode, t.HealthStatus)
	for _, c := range t.Containers {
		fmt.Fprintf(&b, "|%s:%s:%d:%s", aws.ToString(c.Name), aws.ToString(c.LastStatus), aws.ToInt32(c.ExitCode), c.HealthStatus)
	}
	return b.String()
}

// Stable reports a task at rest: stopped for good, or running as desired.
func Stable(t *ecstypes.Task) bool {
	if t == nil {
		return true
	}
	last, desired := aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus)
	return last == "STOPPED" || (last == "RUNNING" && desired == "RUNNING")
}
