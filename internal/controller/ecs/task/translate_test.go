package task

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

var sdkTypes = cmp.Exporter(func(reflect.Type) bool { return true })

func TestRunInput(t *testing.T) {
	task := &ecsv1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "job", UID: "u-1", Generation: 4},
		Spec: ecsv1alpha1.TaskSpec{
			LaunchType: "FARGATE", Group: "family:job", StartedBy: "ci",
			NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{
				Subnets: []string{"s1"}, AssignPublicIp: "ENABLED",
			}},
			Overrides: &ecsv1alpha1.TaskOverride{ContainerOverrides: []ecsv1alpha1.ContainerOverride{{
				Name: "app", Command: []string{"run"}, Environment: []ecsv1alpha1.KeyValuePair{{Name: "A", Value: "1"}},
			}}},
		},
	}
	want := &ecs.RunTaskInput{
		Cluster: aws.String("c1"), TaskDefinition: aws.String("job:3"), Count: aws.Int32(1),
		LaunchType: ecstypes.LaunchTypeFargate, Group: aws.String("family:job"), StartedBy: aws.String("ci"),
		ClientToken: aws.String("u-1"),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"s1"}, AssignPublicIp: ecstypes.AssignPublicIpEnabled,
		}},
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
			Name: aws.String("app"), Command: []string{"run"}, Environment: []ecstypes.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}},
		}}},
		Tags: []ecstypes.Tag{{Key: aws.String(ecscall.TagOwner), Value: aws.String("u-1")}},
	}
	if diff := cmp.Diff(want, RunInput(task, "c1", "job:3"), sdkTypes); diff != "" {
		t.Errorf("RunInput (-want +got):\n%s", diff)
	}
}

func TestReadiness(t *testing.T) {
	tests := []struct {
		name   string
		st     ecsv1alpha1.TaskStatus
		ok     bool
		reason string
	}{
		{"running", ecsv1alpha1.TaskStatus{LastStatus: "RUNNING"}, true, managed.ReasonRunning},
		{"pending", ecsv1alpha1.TaskStatus{LastStatus: "PENDING"}, false, managed.ReasonStarting},
		{"stopped", ecsv1alpha1.TaskStatus{LastStatus: "STOPPED", StopCode: "EssentialContainerExited",
			Containers: []ecsv1alpha1.ContainerStatus{{Name: "app", ExitCode: aws.Int32(1)}}}, false, managed.ReasonStopped},
		{"completed", ecsv1alpha1.TaskStatus{LastStatus: "STOPPED", StopCode: "EssentialContainerExited",
			Containers: []ecsv1alpha1.ContainerStatus{{Name: "app", ExitCode: aws.Int32(0)}}}, false, managed.ReasonCompleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason, msg := Readiness(&tt.st)
			if ok != tt.ok || reason != tt.reason || msg == "" {
				t.Errorf("Readiness = %v %s %q, want %v %s", ok, reason, msg, tt.ok, tt.reason)
			}
		})
	}
}

func TestPhase(t *testing.T) {
	exit := func(codes ...int32) []ecsv1alpha1.ContainerStatus {
		var out []ecsv1alpha1.ContainerStatus
		for i, c := range codes {
			out = append(out, ecsv1alpha1.ContainerStatus{Name: fmt.Sprint("c", i), ExitCode: aws.Int32(c)})
		}
		return out
	}
	started := &metav1.Time{}
	tests := []struct {
		name string
		st   ecsv1alpha1.TaskStatus
		want ecsv1alpha1.TaskPhase
	}{
		{"not started yet", ecsv1alpha1.TaskStatus{}, ""},
		{"provisioning", ecsv1alpha1.TaskStatus{LastStatus: "PROVISIONING"}, ecsv1alpha1.TaskPending},
		{"running", ecsv1alpha1.TaskStatus{LastStatus: "RUNNING", StartedAt: started}, ecsv1alpha1.TaskRunning},
		{"stopping after it ran", ecsv1alpha1.TaskStatus{LastStatus: "DEACTIVATING", StartedAt: started}, ecsv1alpha1.TaskRunning},
		{"stopping before it ran", ecsv1alpha1.TaskStatus{LastStatus: "STOPPING"}, ecsv1alpha1.TaskPending},
		{"every container exited 0", ecsv1alpha1.TaskStatus{LastStatus: "STOPPED", StopCode: "EssentialContainerExited", Containers: exit(0, 0)}, ecsv1alpha1.TaskSucceeded},
		{"one container failed", ecsv1alpha1.TaskStatus{LastStatus: "STOPPED", StopCode: "EssentialContainerExited", Containers: exit(0, 2)}, ecsv1alpha1.TaskFailed},
		{"stopped by a user", ecsv1alpha1.TaskStatus{LastStatus: "STOPPED", StopCode: "UserInitiated", Containers: exit(0)}, ecsv1alpha1.TaskFailed},
		{"never started", ecsv1alpha1.TaskStatus{LastStatus: "STOPPED", StopCode: "TaskFailedToStart"}, ecsv1alpha1.TaskFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Phase(&tt.st); got != tt.want {
				t.Errorf("Phase = %q, want %q", got, tt.want)
			}
		})
	}
}
