package pods_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testimage"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

// cluster is one `nodeless up` (control plane, controllers, virtual node, local data plane) as a
// user sees it, with the clients a test looks through.
type cluster struct {
	env  *testenv.Env
	bin  string
	kube kubernetes.Interface
	ecs  *ecs.Client
	// secrets is the data plane's Secrets Manager, where nodeless mirrors ConfigMaps and Secrets.
	secrets *secretsmanager.Client
	// pod is an HTTP client whose connections are dialed from inside the data plane's VPC, so
	// that a Pod's IP is reachable as it is from another Pod.
	pod *http.Client
}

// startCluster runs `nodeless up` for t, or skips t with the reason it cannot run here. At the end
// of t it deletes every namespace the test made and waits until no task runs, so that `nodeless up`
// stops with nothing left behind; on failure it first prints what the cluster and the data plane
// looked like.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("runs nodeless up with real containers; skipped with -short")
	}
	if err := dataplane.Preflight(); err != nil {
		t.Skipf("the local data plane cannot run here: %v", err)
	}
	env := testenv.Start(t, testenv.WithNodelessParts())
	bin, err := testenv.Binary()
	if err != nil {
		t.Fatalf("nodeless binary: %v", err)
	}
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatalf("Kubernetes client: %v", err)
	}
	c := &cluster{env: env, bin: bin, kube: kube}
	c.ecs, c.secrets = c.awsClients(t)
	nsPath := vpc.NamespacePath(env.StateDir)
	c.pod = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return vpc.DialInNamespace(ctx, nsPath, network, addr, nil)
		},
	}}
	t.Cleanup(func() { c.cleanUp(t) }) // runs before testenv stops nodeless up (cleanups run last first)
	return c
}

// awsClients are the data plane's ECS and Secrets Manager, as `nodeless up` set them up (the
// endpoint it listens on, the credentials in its state dir).
func (c *cluster) awsClients(t *testing.T) (*ecs.Client, *secretsmanager.Client) {
	t.Helper()
	creds, err := credentials.LoadOrCreate(filepath.Join(c.env.StateDir, "credentials"))
	if err != nil {
		t.Fatalf("data plane credentials: %v", err)
	}
	opts := ecsapi.Options{
		Endpoint: c.env.DataPlaneEndpoint, Region: dataplane.DefaultRegion,
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
	}
	e, err := ecsapi.NewClient(context.Background(), opts)
	if err != nil {
		t.Fatalf("ECS client: %v", err)
	}
	sm, err := secretsapi.NewClient(context.Background(), opts)
	if err != nil {
		t.Fatalf("Secrets Manager client: %v", err)
	}
	return e, sm
}

// cleanUp deletes the test's namespaces and waits until the data plane runs no task of theirs.
func (c *cluster) cleanUp(t *testing.T) {
	if t.Failed() {
		c.dump(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	list, err := c.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("cleaning up: listing namespaces: %v", err)
		return
	}
	for _, ns := range list.Items {
		if strings.HasPrefix(ns.Name, "t-") && ns.DeletionTimestamp == nil {
			_ = c.kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		}
	}
	var left []task
	for ctx.Err() == nil {
		tasks, err := c.tasks(ctx)
		left = notStopped(tasks)
		if err == nil && len(left) == 0 {
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("cleaning up: tasks still not STOPPED %s after their namespaces were deleted: %v", waitTimeout, left)
}

// dump logs the cluster's workloads, events and tasks, and the end of nodeless's log.
func (c *cluster) dump(t *testing.T) {
	out, _ := c.kubectlOutput("get", "nodes,deploy,rs,pods,jobs,cronjobs,svc", "-A", "-o", "wide")
	t.Logf("kubectl get (at the failure):\n%s", out)
	out, _ = c.kubectlOutput("get", "events", "-A", "--sort-by=.lastTimestamp")
	t.Logf("events:\n%s", tail(out, 150))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tasks, err := c.tasks(ctx)
	t.Logf("tasks (error %v):", err)
	for _, tk := range tasks {
		t.Logf("  %s", tk)
	}
	log, logErr := os.ReadFile(filepath.Join(c.env.StateDir, "logs", "nodeless.log"))
	c.dumpNotReady(t, string(log))
	if logErr == nil {
		t.Logf("end of %s/logs/nodeless.log:\n%s", c.env.StateDir, tail(string(log), 200))
	}
	t.Logf("nodeless up printed:\n%s", tail(c.env.Output(), 50))
}

// dumpNotReady logs the status of every Pod of the test's namespaces that runs but is not Ready,
// and the lines of nodeless's log that name it.
func (c *cluster) dumpNotReady(t *testing.T, log string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, err := c.kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("listing Pods: %v", err)
		return
	}
	for _, p := range pods.Items {
		if !strings.HasPrefix(p.Namespace, "t-") || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || isReady(&p) {
			continue
		}
		st, _ := yaml.Marshal(p.Status)
		t.Logf("Pod %s/%s runs but is not Ready; its status:\n%s", p.Namespace, p.Name, st)
		var lines []string
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, p.Name) {
				lines = append(lines, l)
			}
		}
		t.Logf("nodeless.log lines naming %s:\n%s", p.Name, tail(strings.Join(lines, "\n"), 60))
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// loadImage loads the docker-save tarball at path into the data plane's containerd.
func (c *cluster) loadImage(t *testing.T, path string) {
	t.Helper()
	if _, stderr, err := run("", c.bin, "image", "load", "--state-dir", c.env.StateDir, path); err != nil {
		t.Fatalf("nodeless image load %s: %v\n%s", path, err, stderr)
	}
}

// loadImages loads webV1, webV2 (the test image) and crashV1 (the test image exiting 2 at start
// whatever its args).
func (c *cluster) loadImages(t *testing.T) {
	t.Helper()
	c.loadImage(t, testimage.Tarball(t, webV1))
	c.loadImage(t, testimage.Tarball(t, webV2))
	// A Pod's args replace an image's CMD: the crash is in the ENTRYPOINT, so that it happens
	// whatever the Deployment's args say.
	c.loadImage(t, testimage.TarballEntrypoint(t, crashV1, "/testserver", "-stdout", "crashing", "-exit", "2", "-sleep", "1ms"))
}

// run runs a command (bounded by commandTimeout) with stdin and returns its stdout and stderr.
func run(stdin, name string, args ...string) (stdout, stderr string, err error) {
	return runEnv(nil, stdin, name, args...)
}

// runEnv is run with env added to the test's environment.
func runEnv(env []string, stdin, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func (c *cluster) kubectlArgs(args []string) []string {
	return append([]string{"kubectl", "--kubeconfig", c.env.Kubeconfig}, args...)
}

// kubectlOutput runs `nodeless kubectl ARGS` and returns its stdout; the error carries stderr.
func (c *cluster) kubectlOutput(args ...string) (string, error) {
	out, stderr, err := run("", c.bin, c.kubectlArgs(args)...)
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return out, nil
}

// kubectl runs `nodeless kubectl ARGS` and returns its stdout; it fails t when kubectl fails.
func (c *cluster) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.kubectlOutput(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apply runs `kubectl apply` of manifest in namespace ns.
func (c *cluster) apply(t *testing.T, ns, manifest string) {
	t.Helper()
	if out, stderr, err := run(manifest, c.bin, c.kubectlArgs([]string{"-n", ns, "apply", "-f", "-"})...); err != nil {
		t.Fatalf("kubectl apply: %v\n%s%s\n%s", err, out, stderr, manifest)
	}
}

// eventually polls cond every 500 ms until it says done, or fails t after waitTimeout with what
// cond last said.
func eventually(t *testing.T, what string, cond func() (done bool, state string)) {
	t.Helper()
	testwait.For(t, waitTimeout, 500*time.Millisecond, what, cond)
}

// pods lists the Pods of namespace ns matching the label selector.
func (c *cluster) pods(t *testing.T, ns, selector string) []corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("listing Pods %s in %s: %v", selector, ns, err)
	}
	return list.Items
}

// readyPods waits until exactly want Pods of ns match selector, none terminating and all Ready,
// and returns them.
func (c *cluster) readyPods(t *testing.T, ns, selector string, want int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, fmt.Sprintf("%d Ready Pods %s", want, selector), func() (bool, string) {
		pods = c.pods(t, ns, selector)
		ready := 0
		for i := range pods {
			if pods[i].DeletionTimestamp == nil && isReady(&pods[i]) {
				ready++
			}
		}
		return ready == want && len(pods) == want, describePods(pods)
	})
	return pods
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// describePods is one line per Pod: name, phase, readiness, IP, image, container states.
func describePods(pods []corev1.Pod) string {
	var b strings.Builder
	for i := range pods {
		p := &pods[i]
		fmt.Fprintf(&b, "\n  %s phase=%s ready=%v ip=%s terminating=%v", p.Name, p.Status.Phase, isReady(p), p.Status.PodIP, p.DeletionTimestamp != nil)
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, " [%s %s restarts=%d %s]", cs.Name, cs.Image, cs.RestartCount, containerState(cs.State))
		}
	}
	return b.String()
}

func containerState(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return "waiting:" + s.Waiting.Reason
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated:%s:%d", s.Terminated.Reason, s.Terminated.ExitCode)
	}
	return "unknown"
}

// podGet GETs path from the test server of the Pod at ip, dialed from inside the VPC, and returns
// the body of a 200 answer.
func (c *cluster) podGet(ip, path string) (string, error) {
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(ip, fmt.Sprint(podPort)), Path: path}
	if p, q, ok := strings.Cut(path, "?"); ok {
		u.Path, u.RawQuery = p, q
	}
	resp, err := c.pod.Get(u.String())
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", u.String(), resp.Status, b)
	}
	return string(b), nil
}

// expectPodAnswers checks that each Pod answers on its IP with its own name (downward API env
// POD_NAME), and for each of want's paths with want's body.
func (c *cluster) expectPodAnswers(t *testing.T, pods []corev1.Pod, want map[string]string) {
	t.Helper()
	for _, p := range pods {
		if p.Status.PodIP == "" {
			t.Errorf("Pod %s has no status.podIP", p.Name)
			continue
		}
		checks := map[string]string{"/env?name=POD_NAME": p.Name}
		for path, body := range want {
			checks[path] = body
		}
		for path, body := range checks {
			got, err := c.podGet(p.Status.PodIP, path)
			if err != nil {
				t.Errorf("Pod %s at %s: %v", p.Name, p.Status.PodIP, err)
				continue
			}
			if strings.TrimSpace(got) != body {
				t.Errorf("Pod %s at %s answers %s with %q, want %q", p.Name, p.Status.PodIP, path, got, body)
			}
		}
	}
}

// background is a command running while a test drives others (kubectl logs -f, port-forward).
type background struct {
	cmd    *exec.Cmd
	out    *testenv.SyncBuffer
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// start runs name with args until stop (or commandTimeout).
func start(t *testing.T, name string, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	b := &background{cmd: exec.CommandContext(ctx, name, args...), out: &testenv.SyncBuffer{}, cancel: cancel, done: make(chan struct{})}
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(b.stop)
	return b
}

// waitOutput waits until the command printed something that contains s.
func (b *background) waitOutput(t *testing.T, what, s string) {
	t.Helper()
	eventually(t, what, func() (bool, string) {
		select {
		case <-b.done:
			return strings.Contains(b.out.String(), s), fmt.Sprintf("the command ended (%v); it printed:\n%s", b.err, b.out)
		default:
		}
		return strings.Contains(b.out.String(), s), "it printed:\n" + b.out.String()
	})
}

// running says whether the command has not ended.
func (b *background) running() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

func (b *background) stop() {
	b.cancel()
	<-b.done
}

// exitCode is the exit status err carries (-1 when err is not an exit).
func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// getLocal GETs u (on 127.0.0.1) and returns the body of a 200 answer, trimmed.
func getLocal(u string) (string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return strings.TrimSpace(string(b)), nil
}
