package pods_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// webManifest is a ConfigMap, a Secret and the Deployment web of 3 replicas of image (maxSurge 1,
// maxUnavailable 0) with env from both, the Secret as a volume, the Pod's name from the downward
// API, and an httpGet readiness probe (the image has no curl).
func webManifest(image string) string {
	return `apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {GREETING: "hello from a ConfigMap"}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
stringData: {password: "s3cret-value"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: ` + image + `
        args: ["-listen", ":8080", "-print-env", "POD_NAME"]
        ports: [{containerPort: 8080}]
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: web-config, key: GREETING}}
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: web-secret, key: password}}
        volumeMounts:
        - {name: secret, mountPath: /etc/web-secret, readOnly: true}
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
      volumes:
      - name: secret
        secret: {secretName: web-secret}
`
}

// webAnswers is what every Pod of webManifest answers besides its name.
var webAnswers = map[string]string{
	"/env?name=GREETING":                  "hello from a ConfigMap",
	"/env?name=PASSWORD":                  "s3cret-value",
	"/file?path=/etc/web-secret/password": "s3cret-value",
}

// TestDeployment runs a Deployment of 3 as a user does and checks, in order: the virtual node
// Ready; rollout status; each Pod answering on its IP with its own name and the ConfigMap's and
// Secret's values, the Secret in clear nowhere in ECS; kubectl logs -f, exec and port-forward; an
// image change sampled throughout for maxSurge/maxUnavailable; rollout undo back to the first
// ReplicaSet and its task definition revision; a crashing image (CrashLoopBackOff, logs
// --previous, ProgressDeadlineExceeded, the old ReplicaSet still serving); and the namespace's
// deletion leaving nothing in the data plane.
func TestDeployment(t *testing.T) {
	c := startCluster(t)
	c.loadImages(t)
	ns := c.env.Namespace
	if ready := c.kubectl(t, "get", "node", translate.DefaultNodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); ready != "True" {
		t.Errorf("the virtual node %s is Ready %q, want True", translate.DefaultNodeName, ready)
	}
	c.apply(t, ns, webManifest(webV1))
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout="+kubectlWait)
	v1Pods := c.readyPods(t, ns, "app=web", 3)
	c.expectPodAnswers(t, v1Pods, webAnswers)
	v1Hash := templateHash(t, v1Pods)
	v1Tasks := c.mustTasks(t)
	v1Defs := definitionsOf(t, v1Tasks, v1Pods)
	if len(v1Defs) != 1 {
		t.Errorf("the Pods of one ReplicaSet run %d task definition revisions %v, want one shared", len(v1Defs), v1Defs)
	}
	checkNotInClear(t, c, notStopped(inNamespace(v1Tasks, ns)), "s3cret-value")

	t.Run("logs -f", func(t *testing.T) { checkLogsFollow(t, c, &v1Pods[0]) })
	t.Run("exec", func(t *testing.T) { checkExec(t, c, &v1Pods[1]) })
	t.Run("port-forward", func(t *testing.T) { checkPortForward(t, c, &v1Pods[2]) })

	// An image change, sampled.
	s := sampleRollout(t, c, ns, "app=web")
	c.kubectl(t, "-n", ns, "set", "image", "deployment/web", "web="+webV2)
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout="+kubectlWait)
	s.stop()
	s.check(t, 3, 1, 0, webV1, webV2)
	v2Pods := c.readyPods(t, ns, "app=web", 3)
	c.expectPodAnswers(t, v2Pods, webAnswers)
	v2Defs := definitionsOf(t, c.mustTasks(t), v2Pods)
	if len(v2Defs) != 1 || slices.Equal(v2Defs, v1Defs) {
		t.Errorf("after the image change the Pods run task definitions %v, want one revision other than %v", v2Defs, v1Defs)
	}

	// Undo: back to the first ReplicaSet and its revision.
	c.kubectl(t, "-n", ns, "rollout", "undo", "deployment/web")
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout="+kubectlWait)
	undone := c.readyPods(t, ns, "app=web", 3)
	if got := templateHash(t, undone); got != v1Hash {
		t.Errorf("after rollout undo the Pods have pod-template-hash %s, want the first ReplicaSet's %s", got, v1Hash)
	}
	if diff := cmp.Diff(v1Defs, definitionsOf(t, c.mustTasks(t), undone)); diff != "" {
		t.Errorf("after rollout undo the tasks must re-use the first revision (-want +got):\n%s", diff)
	}
	c.expectPodAnswers(t, undone, webAnswers)

	t.Run("crashing image", func(t *testing.T) { checkCrashingImage(t, c, ns, v1Hash) })
	t.Run("delete namespace", func(t *testing.T) { checkDeleteNamespace(t, c, ns) })
}

// templateHash is the pod-template-hash all pods share; it fails t when they differ.
func templateHash(t *testing.T, pods []corev1.Pod) string {
	t.Helper()
	var hashes []string
	for _, p := range pods {
		hashes = append(hashes, p.Labels[appsv1.DefaultDeploymentUniqueLabelKey])
	}
	slices.Sort(hashes)
	if hashes = slices.Compact(hashes); len(hashes) != 1 || hashes[0] == "" {
		t.Fatalf("the Pods have pod-template-hash labels %v, want one", hashes)
	}
	return hashes[0]
}

// checkLogsFollow streams the Pod's log and makes the Pod print a line it chose meanwhile.
func checkLogsFollow(t *testing.T, c *cluster, pod *corev1.Pod) {
	logs := start(t, c.bin, c.kubectlArgs([]string{"-n", pod.Namespace, "logs", "-f", pod.Name})...)
	logs.waitOutput(t, "kubectl logs -f shows the line printed at start", "POD_NAME="+pod.Name)
	marker := fmt.Sprintf("streamed-%d", time.Now().UnixNano())
	if _, err := c.podGet(pod.Status.PodIP, "/log?line="+marker); err != nil {
		t.Fatalf("asking the Pod to print a line: %v", err)
	}
	logs.waitOutput(t, "kubectl logs -f streams a line printed after it started", marker)
	if !logs.running() {
		t.Errorf("kubectl logs -f ended while the container runs: %v\n%s", logs.err, logs.out)
	}
}

// checkExec runs commands in the Pod's container: their output and exit codes come back.
func checkExec(t *testing.T, c *cluster, pod *corev1.Pod) {
	out, err := c.kubectlOutput("-n", pod.Namespace, "exec", pod.Name, "--", "/testserver", "-print-env", "POD_NAME,GREETING", "-exit", "0")
	if err != nil {
		t.Fatalf("kubectl exec: %v", err)
	}
	if want := "POD_NAME=" + pod.Name + "\nGREETING=hello from a ConfigMap\n"; out != want {
		t.Errorf("kubectl exec printed %q, want %q", out, want)
	}
	_, stderr, err := run("", c.bin, c.kubectlArgs([]string{"-n", pod.Namespace, "exec", pod.Name, "--", "/testserver", "-exit", "7"})...)
	if got := exitCode(err); got != 7 {
		t.Errorf("kubectl exec of a command exiting 7 exited %d (%v), want 7\n%s", got, err, stderr)
	}
	_, stderr, err = run("", c.bin, c.kubectlArgs([]string{"-n", pod.Namespace, "exec", pod.Name, "--", "/no/such/command"})...)
	if err == nil {
		t.Errorf("kubectl exec of a missing command succeeded, want an error\n%s", stderr)
	}
}

var forwarding = regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> 8080`)

// checkPortForward forwards a free local port on 127.0.0.1 to the Pod's port 8080 and asks it its name.
func checkPortForward(t *testing.T, c *cluster, pod *corev1.Pod) {
	pf := start(t, c.bin, c.kubectlArgs([]string{"-n", pod.Namespace, "port-forward", "--address", "127.0.0.1", "pod/" + pod.Name, ":8080"})...)
	pf.waitOutput(t, "kubectl port-forward listens", "Forwarding from 127.0.0.1:")
	m := forwarding.FindStringSubmatch(pf.out.String())
	if m == nil {
		t.Fatalf("kubectl port-forward printed no port: %s", pf.out)
	}
	body, err := getLocal("http://127.0.0.1:" + m[1] + "/env?name=POD_NAME")
	if err != nil {
		t.Fatalf("through kubectl port-forward: %v\n%s", err, pf.out)
	}
	if body != pod.Name {
		t.Errorf("through kubectl port-forward the Pod answered %q, want its name %q", body, pod.Name)
	}
}

// rolloutSampler lists a Deployment's Pods throughout a rollout.
type rolloutSampler struct {
	mu      sync.Mutex
	samples []rolloutSample
	err     error
	cancel  context.CancelFunc
	done    chan struct{}
}

// rolloutSample is one list of the Pods: how many are not terminating, how many of those are
// Ready, how many of those are neither Succeeded nor Failed (a Job's active Pods), and their images.
type rolloutSample struct {
	live, ready, active int
	images              []string
}

func sampleRollout(t *testing.T, c *cluster, ns, selector string) *rolloutSampler {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	s := &rolloutSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				if ctx.Err() == nil {
					s.record(rolloutSample{}, err)
				}
				return
			}
			s.record(sampleOf(list.Items), nil)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func sampleOf(pods []corev1.Pod) rolloutSample {
	var s rolloutSample
	for i := range pods {
		if pods[i].DeletionTimestamp != nil {
			continue
		}
		s.live++
		if isReady(&pods[i]) {
			s.ready++
		}
		if ph := pods[i].Status.Phase; ph != corev1.PodSucceeded && ph != corev1.PodFailed {
			s.active++
		}
		s.images = append(s.images, pods[i].Spec.Containers[0].Image)
	}
	slices.Sort(s.images)
	s.images = slices.Compact(s.images)
	return s
}

func (s *rolloutSampler) record(sample rolloutSample, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.err = err
		return
	}
	s.samples = append(s.samples, sample)
}

func (s *rolloutSampler) stop() {
	s.cancel()
	<-s.done
}

// check asserts that no sample had more than replicas+maxSurge Pods or fewer than
// replicas-maxUnavailable Ready ones, and that some sample saw from and to side by side (the
// sampling saw the rollout happen).
func (s *rolloutSampler) check(t *testing.T, replicas, maxSurge, maxUnavailable int, from, to string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		t.Errorf("sampling the rollout: %v", s.err)
	}
	mixed := false
	for i, sm := range s.samples {
		if sm.live > replicas+maxSurge {
			t.Errorf("sample %d of %d: %d Pods, more than replicas %d + maxSurge %d", i, len(s.samples), sm.live, replicas, maxSurge)
		}
		if sm.ready < replicas-maxUnavailable {
			t.Errorf("sample %d of %d: %d Ready Pods, fewer than replicas %d - maxUnavailable %d", i, len(s.samples), sm.ready, replicas, maxUnavailable)
		}
		if slices.Contains(sm.images, from) && slices.Contains(sm.images, to) {
			mixed = true
		}
	}
	if !mixed {
		t.Errorf("none of %d samples saw Pods of %s and %s side by side: the rollout was not observed", len(s.samples), from, to)
	}
	t.Logf("rollout sampled %d times", len(s.samples))
}

// checkCrashingImage rolls web to an image that exits at once: its Pod goes to CrashLoopBackOff
// with restarts counted, rollout status fails with ProgressDeadlineExceeded, and the Pods of the
// previous ReplicaSet (oldHash) keep serving.
func checkCrashingImage(t *testing.T, c *cluster, ns, oldHash string) {
	c.kubectl(t, "-n", ns, "patch", "deployment/web", "-p", `{"spec":{"progressDeadlineSeconds":20}}`)
	c.kubectl(t, "-n", ns, "set", "image", "deployment/web", "web="+crashV1)
	var crashing string
	eventually(t, "a Pod of the crashing image in CrashLoopBackOff with restarts", func() (bool, string) {
		pods := c.pods(t, ns, "app=web")
		for _, p := range pods {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Image == crashV1 && cs.RestartCount >= 1 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" &&
					cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode == 2 {
					crashing = p.Name
					return true, ""
				}
			}
		}
		return false, describePods(pods)
	})
	if logs, err := c.kubectlOutput("-n", ns, "logs", "--previous", crashing); err != nil || !strings.Contains(logs, "crashing\n") {
		t.Errorf("kubectl logs --previous of the crashing Pod %s: %q (%v), want the line %q", crashing, logs, err, "crashing")
	}
	out, stderr, err := run("", c.bin, c.kubectlArgs([]string{"-n", ns, "rollout", "status", "deployment/web", "--timeout=" + kubectlWait})...)
	if err == nil || !strings.Contains(stderr, "exceeded its progress deadline") {
		t.Errorf("kubectl rollout status of the crashing image: %v, want an error saying the progress deadline was exceeded\n%s%s", err, out, stderr)
	}
	cond := c.kubectl(t, "-n", ns, "get", "deployment/web", "-o", `jsonpath={.status.conditions[?(@.type=="Progressing")].reason}`)
	if cond != "ProgressDeadlineExceeded" {
		t.Errorf("the Deployment's Progressing condition has reason %q, want ProgressDeadlineExceeded", cond)
	}
	old := c.readyPods(t, ns, "app=web,"+appsv1.DefaultDeploymentUniqueLabelKey+"="+oldHash, 3)
	c.expectPodAnswers(t, old, webAnswers)
}

// checkDeleteNamespace deletes ns and waits until every task of its Pods is STOPPED and nothing of
// it is left in the data plane: no task running, no mirrored ConfigMap or Secret.
func checkDeleteNamespace(t *testing.T, c *cluster, ns string) {
	before := notStopped(inNamespace(c.mustTasks(t), ns))
	if len(before) == 0 {
		t.Fatalf("namespace %s runs no task before its deletion", ns)
	}
	if m, err := c.mirrored(t.Context(), ns); err != nil || len(m) == 0 {
		t.Logf("before the deletion, the data plane's Secrets Manager holds %v of namespace %s (%v)", m, ns, err)
	}
	c.kubectl(t, "delete", "namespace", ns, "--wait=true", "--timeout="+kubectlWait)
	eventually(t, "every task of the deleted namespace STOPPED", func() (bool, string) {
		tasks := c.mustTasks(t)
		left := notStopped(inNamespace(tasks, ns)) // a task not stopped keeps its tags
		for _, tk := range tasks {
			if slices.ContainsFunc(before, func(b task) bool { return b.Arn == tk.Arn }) && tk.LastStatus != "STOPPED" {
				left = append(left, tk)
			}
		}
		return len(left) == 0, fmt.Sprint(left)
	})
	// nodeless's Pod controller mirrors the ConfigMaps and Secrets its Pods use into the data
	// plane's Secrets Manager; their values must not outlive the namespace.
	eventually(t, "no ConfigMap or Secret of the deleted namespace left in the data plane's Secrets Manager", func() (bool, string) {
		m, err := c.mirrored(t.Context(), ns)
		return err == nil && len(m) == 0, fmt.Sprintf("%v %v", m, err)
	})
}
