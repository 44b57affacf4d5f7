package pods_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// TestKillMidRollout kills `nodeless up` with SIGKILL while a Deployment rolls to a new image, starts
// it again on the same state dir, and checks that every Pod kept its task, that no Pod has two tasks
// and that the rollout completes.
func TestKillMidRollout(t *testing.T) {
	c := startCluster(t)
	c.loadImage(t, testimage.Tarball(t, webV1))
	c.loadImage(t, testimage.Tarball(t, webV2))
	ns := c.env.Namespace
	c.apply(t, ns, webManifest(webV1))
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout="+kubectlWait)
	// minReadySeconds slows the rollout down so that the kill lands in its middle.
	c.kubectl(t, "-n", ns, "patch", "deployment/web", "-p", `{"spec":{"minReadySeconds":5}}`)
	c.kubectl(t, "-n", ns, "set", "image", "deployment/web", "web="+webV2)

	var before map[string]task // Pod UID → its task, once a Pod of the new image has one
	eventually(t, "a Pod of the new image with a task while Pods of the old one run", func() (bool, string) {
		pods := c.pods(t, ns, "app=web")
		tasks, err := c.tasks(t.Context())
		if err != nil {
			return false, err.Error()
		}
		before = liveTasks(pods, tasks)
		var newWithTask, old bool
		for _, p := range pods {
			_, hasTask := before[string(p.UID)]
			newWithTask = newWithTask || (p.Spec.Containers[0].Image == webV2 && hasTask)
			old = old || p.Spec.Containers[0].Image == webV1
		}
		return newWithTask && old, describePods(pods)
	})

	c.env.Kill(t)
	c.env.Restart(t)
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout="+kubectlWait)
	pods := c.readyPods(t, ns, "app=web", 3)
	c.expectPodAnswers(t, pods, webAnswers)
	for _, p := range pods {
		if p.Spec.Containers[0].Image != webV2 {
			t.Errorf("after the rollout Pod %s runs %s, want %s", p.Name, p.Spec.Containers[0].Image, webV2)
		}
	}
	tasks := c.mustTasks(t)
	if d := duplicates(tasks); len(d) > 0 {
		t.Errorf("Pods with more than one task not STOPPED after the restart: %v", d)
	}
	checkOneTaskEach(t, tasks, pods)
	kept := 0
	for _, p := range pods {
		if was, ok := before[string(p.UID)]; ok {
			kept++
			if now := liveTaskOf(t, tasks, &p); now.Arn != was.Arn {
				t.Errorf("Pod %s ran task %s before the kill and %s after: a restart must keep a Pod's task", p.Name, was.Arn, now.Arn)
			}
		}
	}
	if kept == 0 { // the Pod of the new image that had a task before the kill is still wanted
		t.Errorf("none of the Pods that had a task before the kill is among the rollout's Pods: %s", describePods(pods))
	}
	// The tasks of the old Pods stop as those Pods are deleted; nothing else runs.
	eventually(t, "only the Deployment's 3 Pods have running tasks", func() (bool, string) {
		live := notStopped(c.mustTasks(t))
		byPod := liveTasks(pods, live)
		return len(live) == 3 && len(byPod) == 3, fmt.Sprint(live)
	})
}

// liveTasks maps the UID of each of pods to its task that is not STOPPED.
func liveTasks(pods []corev1.Pod, tasks []task) map[string]task {
	m := map[string]task{}
	uids := map[string]bool{}
	for _, p := range pods {
		uids[string(p.UID)] = true
	}
	for _, tk := range notStopped(tasks) {
		if uids[tk.PodUID] {
			m[tk.PodUID] = tk
		}
	}
	return m
}
