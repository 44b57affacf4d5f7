package pod

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func running(id string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "app", Image: "example.com/app:1", ContainerID: id,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func waiting(reason, msg string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "app", Image: "example.com/app:1",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
}

func TestStatusEvents(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1"}}
	for name, tc := range map[string]struct {
		old, cur corev1.ContainerStatus
		want     []string // type reason: message
	}{
		"started": {waiting("ContainerCreating", ""), running("containerd://1"), []string{
			`Normal Pulled: Successfully pulled image "example.com/app:1"`,
			"Normal Created: Created container: app",
			"Normal Started: Started container app",
		}},
		"still running": {running("containerd://1"), running("containerd://1"), nil},
		"restarted": {running("containerd://1"), running("containerd://2"), []string{
			`Normal Pulled: Successfully pulled image "example.com/app:1"`,
			"Normal Created: Created container: app",
			"Normal Started: Started container app",
		}},
		"pull failed": {waiting("ContainerCreating", ""), waiting("ErrImagePull", "CannotPullContainerError: not found"), []string{
			`Warning Failed: Failed to pull image "example.com/app:1": CannotPullContainerError: not found`,
			"Warning Failed: Error: ErrImagePull",
		}},
		"pull back-off": {waiting("ErrImagePull", "x"), waiting("ImagePullBackOff", `Back-off pulling image "example.com/app:1"`), []string{
			`Normal BackOff: Back-off pulling image "example.com/app:1"`,
			"Warning Failed: Error: ImagePullBackOff",
		}},
		"crash loop": {running("containerd://1"), waiting("CrashLoopBackOff", "back-off 10s"), []string{
			"Warning BackOff: Back-off restarting failed container app in pod web_shop(u1)",
		}},
		"still in the crash loop": {waiting("CrashLoopBackOff", "back-off 10s"), waiting("CrashLoopBackOff", "back-off 10s"), nil},
	} {
		old := corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{tc.old}}
		cur := corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{tc.cur}}
		var got []string
		for _, e := range statusEvents(pod, 0, &old, &cur) {
			got = append(got, e.Type+" "+e.Reason+": "+e.Message)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
