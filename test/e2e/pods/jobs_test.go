package pods_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// jobManifest is a Job whose Pods run the test image with args (restartPolicy Never); spec holds
// the Job's other spec fields, as YAML lines indented by two spaces.
func jobManifest(name, spec string, args ...string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	return `apiVersion: batch/v1
kind: Job
metadata: {name: ` + name + `}
spec:
` + spec + `
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 5
      containers:
      - name: work
        image: ` + webV1 + `
        args: [` + strings.Join(quoted, ", ") + `]
`
}

const cronJobManifest = `apiVersion: batch/v1
kind: CronJob
metadata: {name: every-minute}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: work
            image: ` + webV1 + `
            args: ["-stdout", "cron ran", "-exit", "0"]
`

// TestJobsAndPods runs, as a user does: a Job of 5 completions with parallelism 2, an Indexed Job,
// a Job failing past its backoffLimit, a CronJob every minute, `kubectl run -it --rm` driven through
// a pipe, and bare Pods with restartPolicy Never; and checks the upstream statuses and conditions.
func TestJobsAndPods(t *testing.T) {
	c := startCluster(t)
	c.loadImage(t, testimage.Tarball(t, webV1))
	ns := c.env.Namespace
	c.apply(t, ns, cronJobManifest) // first: its first run is up to a minute away

	t.Run("completions 5 parallelism 2", func(t *testing.T) { checkParallelJob(t, c, ns) })
	t.Run("indexed", func(t *testing.T) { checkIndexedJob(t, c, ns) })
	t.Run("past backoffLimit", func(t *testing.T) { checkFailingJob(t, c, ns) })
	t.Run("bare Pods restartPolicy Never", func(t *testing.T) { checkBarePods(t, c, ns) })
	t.Run("run -it --rm", func(t *testing.T) { checkRunInteractive(t, c, ns) })
	t.Run("cronjob", func(t *testing.T) { checkCronJob(t, c, ns) })
}

func checkParallelJob(t *testing.T, c *cluster, ns string) {
	s := sampleRollout(t, c, ns, "batch.kubernetes.io/job-name=five")
	c.apply(t, ns, jobManifest("five", "  completions: 5\n  parallelism: 2", "-sleep", "2s", "-stdout", "worked"))
	c.kubectl(t, "-n", ns, "wait", "--for=condition=Complete", "job/five", "--timeout="+kubectlWait)
	s.stop()
	s.mu.Lock()
	most := 0
	for _, sm := range s.samples {
		most = max(most, sm.active)
	}
	s.mu.Unlock()
	if most > 2 {
		t.Errorf("up to %d Pods of the Job ran at once, more than its parallelism 2", most)
	}
	job := c.job(t, ns, "five")
	if job.Status.Succeeded != 5 || job.Status.Failed != 0 {
		t.Errorf("Job five: succeeded %d failed %d, want 5 and 0", job.Status.Succeeded, job.Status.Failed)
	}
	pods := c.pods(t, ns, "batch.kubernetes.io/job-name=five")
	c.expectFinished(t, pods, corev1.PodSucceeded, 0)
	if len(pods) != 5 {
		t.Errorf("Job five made %d Pods, want 5:%s", len(pods), describePods(pods))
	}
	checkOneTaskEach(t, c.mustTasks(t), pods)
}

func checkIndexedJob(t *testing.T, c *cluster, ns string) {
	c.apply(t, ns, jobManifest("indexed", "  completions: 3\n  parallelism: 3\n  completionMode: Indexed",
		"-print-env", "JOB_COMPLETION_INDEX", "-stdout", "index=$(JOB_COMPLETION_INDEX)", "-exit", "0"))
	c.kubectl(t, "-n", ns, "wait", "--for=condition=Complete", "job/indexed", "--timeout="+kubectlWait)
	job := c.job(t, ns, "indexed")
	if job.Status.Succeeded != 3 || job.Status.CompletedIndexes != "0-2" {
		t.Errorf("Job indexed: succeeded %d, completedIndexes %q; want 3 and 0-2", job.Status.Succeeded, job.Status.CompletedIndexes)
	}
	pods := c.pods(t, ns, "batch.kubernetes.io/job-name=indexed")
	c.expectFinished(t, pods, corev1.PodSucceeded, 0)
	for _, p := range pods {
		index := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		logs, err := c.kubectlOutput("-n", ns, "logs", p.Name)
		if err != nil {
			t.Errorf("logs of Pod %s: %v", p.Name, err)
			continue
		}
		if want := "JOB_COMPLETION_INDEX=" + index + "\nindex=" + index + "\n"; index == "" || logs != want {
			t.Errorf("Pod %s (index annotation %q) printed %q, want %q", p.Name, index, logs, want)
		}
	}
}

func checkFailingJob(t *testing.T, c *cluster, ns string) {
	c.apply(t, ns, jobManifest("fails", "  backoffLimit: 1", "-stdout", "failing", "-exit", "3"))
	c.kubectl(t, "-n", ns, "wait", "--for=condition=Failed", "job/fails", "--timeout="+kubectlWait)
	job := c.job(t, ns, "fails")
	if reason := jobCondition(job, batchv1.JobFailed); reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Errorf("Job fails: Failed condition reason %q, want %s", reason, batchv1.JobReasonBackoffLimitExceeded)
	}
	if job.Status.Failed != 2 || job.Status.Succeeded != 0 {
		t.Errorf("Job fails: failed %d succeeded %d, want 2 (backoffLimit 1 + 1) and 0", job.Status.Failed, job.Status.Succeeded)
	}
	pods := c.pods(t, ns, "batch.kubernetes.io/job-name=fails")
	c.expectFinished(t, pods, corev1.PodFailed, 3)
	checkOneTaskEach(t, c.mustTasks(t), pods)
}

func checkBarePods(t *testing.T, c *cluster, ns string) {
	for _, tc := range []struct {
		name  string
		code  int
		phase corev1.PodPhase
	}{
		{name: "once", code: 0, phase: corev1.PodSucceeded},
		{name: "fails-once", code: 4, phase: corev1.PodFailed},
	} {
		c.kubectl(t, "-n", ns, "run", tc.name, "--restart=Never", "--image="+webV1, "--",
			"-stdout", "ran "+tc.name, "-exit", strconv.Itoa(tc.code))
		c.kubectl(t, "-n", ns, "wait", "--for=jsonpath={.status.phase}="+string(tc.phase), "pod/"+tc.name, "--timeout="+kubectlWait)
		pods := c.pods(t, ns, "run="+tc.name)
		c.expectFinished(t, pods, tc.phase, int32(tc.code))
		if logs := c.kubectl(t, "-n", ns, "logs", tc.name); logs != "ran "+tc.name+"\n" {
			t.Errorf("logs of Pod %s: %q, want %q", tc.name, logs, "ran "+tc.name+"\n")
		}
		checkOneTaskEach(t, c.mustTasks(t), pods)
	}
}

// checkRunInteractive runs `kubectl run -it --rm` with its stdin a pipe: kubectl attaches, the
// container echoes what it reads, and the Pod is deleted when the session ends.
func checkRunInteractive(t *testing.T, c *cluster, ns string) {
	const line = "hello through stdin"
	out, stderr, err := run(line+"\n", c.bin, c.kubectlArgs([]string{"-n", ns, "run", "talk", "-it", "--rm", "--restart=Never",
		"--image=" + webV1, "--pod-running-timeout=" + kubectlWait, "--command", "--", "/testserver", "-cat"})...)
	if err != nil || !strings.Contains(out, line) {
		t.Errorf("kubectl run -it --rm: %v; want its output to hold %q\nstdout:\n%s\nstderr:\n%s", err, line, out, stderr)
	}
	eventually(t, "the Pod of kubectl run --rm deleted", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := c.kube.CoreV1().Pods(ns).Get(ctx, "talk", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, fmt.Sprintf("%v %s", err, describePods([]corev1.Pod{ptrOr(p)}))
	})
}

func ptrOr(p *corev1.Pod) corev1.Pod {
	if p == nil {
		return corev1.Pod{}
	}
	return *p
}

func checkCronJob(t *testing.T, c *cluster, ns string) {
	eventually(t, "the CronJob every-minute ran a Job to completion", func() (bool, string) {
		out, err := c.kubectlOutput("-n", ns, "get", "cronjob/every-minute", "-o", "jsonpath={.status.lastScheduleTime}|{.status.lastSuccessfulTime}")
		scheduled, succeeded, _ := strings.Cut(out, "|")
		return err == nil && scheduled != "" && strings.TrimSpace(succeeded) != "", fmt.Sprintf("lastScheduleTime|lastSuccessfulTime: %q %v", out, err)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jobs, err := c.kube.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	complete := 0
	for i := range jobs.Items {
		j := &jobs.Items[i]
		if slices.ContainsFunc(j.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Kind == "CronJob" && o.Name == "every-minute" }) &&
			jobCondition(j, batchv1.JobComplete) != "" {
			complete++
		}
	}
	if complete == 0 {
		t.Errorf("no complete Job owned by the CronJob every-minute")
	}
}

func (c *cluster) job(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := c.kube.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting Job %s: %v", name, err)
	}
	return j
}

// jobCondition is the reason of the Job's condition of type typ when it is True ("True" when it
// has no reason), else "".
func jobCondition(j *batchv1.Job, typ batchv1.JobConditionType) string {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			if c.Reason == "" {
				return "True"
			}
			return c.Reason
		}
	}
	return ""
}

// expectFinished checks that every Pod is in phase with its one container terminated with code,
// reason Completed (0) or Error (other codes), never restarted.
func (c *cluster) expectFinished(t *testing.T, pods []corev1.Pod, phase corev1.PodPhase, code int32) {
	t.Helper()
	wantReason := "Error"
	if code == 0 {
		wantReason = "Completed"
	}
	for _, p := range pods {
		ok := p.Status.Phase == phase && len(p.Status.ContainerStatuses) == 1
		if ok {
			cs := p.Status.ContainerStatuses[0]
			ok = cs.RestartCount == 0 && cs.State.Terminated != nil && cs.State.Terminated.ExitCode == code && cs.State.Terminated.Reason == wantReason
		}
		if !ok {
			t.Errorf("Pod %s: want phase %s, its container terminated %s with exit code %d and no restart; got%s", p.Name, phase, wantReason, code, describePods([]corev1.Pod{p}))
		}
	}
}

// checkOneTaskEach checks that each Pod ran as exactly one task.
func checkOneTaskEach(t *testing.T, tasks []task, pods []corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		n := 0
		for _, tk := range tasks {
			if tk.PodUID == string(p.UID) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("Pod %s ran as %d tasks, want 1", p.Name, n)
		}
	}
}
