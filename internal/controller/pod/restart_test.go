package pod

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func podWith(policy corev1.RestartPolicy, containers ...string) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: policy}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "example.com/" + c})
	}
	return p
}

// exited is a container that ran and exited with code.
func exited(name string, code int32) ecstypes.Container {
	return ecstypes.Container{Name: aws.String(name), LastStatus: aws.String("STOPPED"), ExitCode: aws.Int32(code), RuntimeId: aws.String("rt-" + name)}
}

func stoppedTask(code ecstypes.TaskStopCode, reason string, containers ...ecstypes.Container) *ecstypes.Task {
	return &ecstypes.Task{LastStatus: aws.String("STOPPED"), StopCode: code, StoppedReason: aws.String(reason), Containers: containers}
}

func TestDecide(t *testing.T) {
	const pull = "CannotPullContainerError: pull image manifest has been retried 1 time(s): example.com/app: not found"
	failedPull := stoppedTask(ecstypes.TaskStopCodeTaskFailedToStart, pull,
		ecstypes.Container{Name: aws.String("app"), LastStatus: aws.String("STOPPED"), Reason: aws.String(pull)})
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		task *ecstypes.Task
		want stopped
	}{
		"always, exit 0": {podWith(corev1.RestartPolicyAlways, "app"),
			stoppedTask(ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", exited("app", 0)),
			stopped{restart: true, crashed: []string{"app"}}},
		"always, crash": {podWith(corev1.RestartPolicyAlways, "app"),
			stoppedTask(ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", exited("app", 1)),
			stopped{restart: true, crashed: []string{"app"}}},
		"on failure, exit 0": {podWith(corev1.RestartPolicyOnFailure, "job"),
			stoppedTask(ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", exited("job", 0)),
			stopped{crashed: []string{"job"}}},
		"on failure, exit 1": {podWith(corev1.RestartPolicyOnFailure, "job"),
			stoppedTask(ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", exited("job", 1)),
			stopped{restart: true, crashed: []string{"job"}}},
		"never, exit 1": {podWith(corev1.RestartPolicyNever, "job"),
			stoppedTask(ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", exited("job", 1)),
			stopped{crashed: []string{"job"}}},
		"never, image not pulled": {podWith(corev1.RestartPolicyNever, "app"), failedPull,
			stopped{restart: true, pulls: []string{"app"}}},
		"always, image not pulled": {podWith(corev1.RestartPolicyAlways, "app"), failedPull,
			stopped{restart: true, pulls: []string{"app"}}},
		"pull failure in the task's reason only": {podWith(corev1.RestartPolicyNever, "app"),
			stoppedTask(ecstypes.TaskStopCodeTaskFailedToStart, pull), stopped{restart: true, pulls: []string{"app"}}},
		"secrets not had": {podWith(corev1.RestartPolicyNever, "app"),
			stoppedTask(ecstypes.TaskStopCodeTaskFailedToStart, "ResourceInitializationError: unable to pull secrets"),
			stopped{restart: true, config: true}},
		"stopped from outside, always": {podWith(corev1.RestartPolicyAlways, "a", "b"),
			stoppedTask(ecstypes.TaskStopCodeUserInitiated, "Task stopped by user"),
			stopped{restart: true, crashed: []string{"a", "b"}}},
		"one of two crashed": {podWith(corev1.RestartPolicyAlways, "a", "b"),
			stoppedTask(ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", exited("a", 2), exited("b", 143)),
			stopped{restart: true, crashed: []string{"a", "b"}}},
	} {
		got := decide(tc.pod, tc.task)
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(stopped{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// TestRan: only a container that ran (it runs, or it has an exit code) is restarted by the next
// run and counted in restartCount; one with a runtimeId whose image could not be pulled never ran.
func TestRan(t *testing.T) {
	const pull = "CannotPullContainerError: example.com/app: not found"
	for name, tc := range map[string]struct {
		c    ecstypes.Container
		want bool
	}{
		"exited":  {exited("app", 1), true},
		"exit 0":  {exited("app", 0), true},
		"running": {ecstypes.Container{Name: aws.String("app"), LastStatus: aws.String("RUNNING"), RuntimeId: aws.String("rt-app")}, true},
		"image not pulled, named by the runtime": {ecstypes.Container{Name: aws.String("app"), LastStatus: aws.String("STOPPED"),
			RuntimeId: aws.String("rt-app"), Reason: aws.String(pull)}, false},
		"image not pulled": {ecstypes.Container{Name: aws.String("app"), LastStatus: aws.String("STOPPED"), Reason: aws.String(pull)}, false},
		"pending, named":   {ecstypes.Container{Name: aws.String("app"), LastStatus: aws.String("PENDING"), RuntimeId: aws.String("rt-app")}, false},
		"not in the task":  {ecstypes.Container{Name: aws.String("other"), LastStatus: aws.String("RUNNING")}, false},
	} {
		task := stoppedTask(ecstypes.TaskStopCodeTaskFailedToStart, pull, tc.c)
		if got := ran(task, "app"); got != tc.want {
			t.Errorf("%s: ran %v, want %v", name, got, tc.want)
		}
	}
}

// TestRecordStopKeepsWhyAContainerCouldNotStart: a container whose process could not be started
// (a command that does not exist: CannotStartContainerError) shows, as the kubelet shows it on
// containerd, lastState terminated with reason StartError, exit code 128 and the runtime's
// message, and the next run counts as a restart; without it the Pod only said CrashLoopBackOff
// and nowhere why. A container whose image could not be pulled still never ran.
func TestRecordStopKeepsWhyAContainerCouldNotStart(t *testing.T) {
	const cannotStart = `CannotStartContainerError: creating task: OCI runtime create failed: exec: "/no/such/binary": stat /no/such/binary: no such file or directory`
	const pull = "CannotPullContainerError: example.com/app: not found"
	stoppedAt := time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		task          *ecstypes.Task
		wantLast      *corev1.ContainerStateTerminated
		wantRestarted []string
	}{
		"could not start": {
			task: stoppedTask(ecstypes.TaskStopCodeTaskFailedToStart, "Essential container app could not start: "+cannotStart,
				ecstypes.Container{Name: aws.String("app"), LastStatus: aws.String("STOPPED"), RuntimeId: aws.String("rt-app"), Reason: aws.String(cannotStart)}),
			wantLast: &corev1.ContainerStateTerminated{ExitCode: 128, Reason: ReasonStartError, Message: cannotStart,
				FinishedAt: metav1.NewTime(stoppedAt), ContainerID: "containerd://rt-app"},
			wantRestarted: []string{"app"},
		},
		"could not start, in the task's reason only": {
			task: stoppedTask(ecstypes.TaskStopCodeTaskFailedToStart, cannotStart,
				ecstypes.Container{Name: aws.String("app"), LastStatus: aws.String("STOPPED")}),
			wantLast:      &corev1.ContainerStateTerminated{ExitCode: 128, Reason: ReasonStartError, Message: cannotStart, FinishedAt: metav1.NewTime(stoppedAt)},
			wantRestarted: []string{"app"},
		},
		"image not pulled": {
			task: stoppedTask(ecstypes.TaskStopCodeTaskFailedToStart, pull,
				ecstypes.Container{Name: aws.String("app"), LastStatus: aws.String("STOPPED"), RuntimeId: aws.String("rt-app"), Reason: aws.String(pull)}),
		},
	} {
		t.Run(name, func(t *testing.T) {
			tc.task.TaskArn = aws.String("arn:aws:ecs:us-east-1:000000000000:task/nodeless/t1")
			tc.task.StoppedAt = aws.Time(stoppedAt)
			r := &Reconciler{now: func() time.Time { return stoppedAt.Add(time.Minute) }}
			st := newState(podWith(corev1.RestartPolicyAlways, "app"))
			r.recordStop(podWith(corev1.RestartPolicyAlways, "app"), st, tc.task)
			if diff := cmp.Diff(tc.wantLast, st.container("app").LastTermination); diff != "" {
				t.Errorf("lastState (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRestarted, st.restarted); diff != "" {
				t.Errorf("restarted (-want +got):\n%s", diff)
			}
		})
	}
}
