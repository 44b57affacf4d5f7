// Package up_test runs the whole of `nodeless up` as a user does: the built binary with its control
// plane, CRDs, controllers and local data plane, driven with kubectl and the README's example
// manifest, against real containers.
package up_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// waitTimeout bounds every wait for a condition; generous, because CI machines are slow and
// nothing here is a timing assertion.
const waitTimeout = 3 * time.Minute

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestUpRunsTheExampleService applies examples/ecs/web.yaml (with the test image), waits for its
// tasks to answer HTTP, rolls it to a new revision by editing the TaskDefinition, restarts
// `nodeless up` and checks that the same tasks are still running, then deletes the Service.
func TestUpRunsTheExampleService(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nodeless up with real containers; skipped with -short")
	}
	if err := dataplane.Preflight(); err != nil {
		t.Skipf("the local data plane cannot run here: %v", err)
	}
	env := testenv.Start(t, testenv.WithNodelessParts())
	u := &user{t: t, env: env, bin: mustBinary(t)}
	u.ecs = u.ecsClient()

	u.nodeless("image", "load", "--state-dir", env.StateDir, testimage.Tarball(t, "nodeless.test/web:v1"))
	u.kubectlApply(exampleManifest(t, "nodeless.test/web:v1"))

	u.waitService("revision 1 rolled out", func(s serviceStatus) bool {
		return s.ready == "True" && s.revision == "1" && s.running == "2"
	})
	first := u.runningTasks(2)
	u.expectHTTP(first)

	u.kubectl("patch", "taskdefinition", "web", "--type=json",
		"-p", `[{"op":"add","path":"/spec/containerDefinitions/0/environment","value":[{"name":"GREETING","value":"bonjour"}]}]`)
	u.waitService("revision 2 rolled out", func(s serviceStatus) bool {
		return s.ready == "True" && s.revision == "2" && s.rollout == "COMPLETED" && s.running == "2"
	})
	second := u.runningTasks(2)
	for _, task := range second {
		if !strings.HasSuffix(aws.ToString(task.TaskDefinitionArn), ":2") {
			t.Errorf("task %s runs %s after the rollout, want revision 2", aws.ToString(task.TaskArn), aws.ToString(task.TaskDefinitionArn))
		}
	}
	u.expectHTTP(second)

	env.Stop(t)
	env.Restart(t)
	u.waitService("service ready after the restart", func(s serviceStatus) bool { return s.ready == "True" && s.running == "2" })
	afterRestart := u.runningTasks(2)
	if diff := diffTasks(second, afterRestart); diff != "" {
		t.Errorf("a restart of nodeless up must re-attach the running tasks, not replace them: %s", diff)
	}
	u.expectHTTP(afterRestart)

	u.kubectl("delete", "services.ecs.nodeless.dev", "web", "--wait=true", "--timeout=3m")
	u.waitECSServiceGone()
}

type user struct {
	t   *testing.T
	env *testenv.Env
	bin string
	ecs *ecs.Client
}

func mustBinary(t *testing.T) string {
	bin, err := testenv.Binary()
	if err != nil {
		t.Fatalf("nodeless binary: %v", err)
	}
	return bin
}

// exampleManifest is the README's example with the image a test can run offline.
func exampleManifest(t *testing.T, image string) string {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "ecs", "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := string(raw)
	for old, repl := range map[string]string{
		"image: public.ecr.aws/nginx/nginx:stable-alpine": "image: " + image,
		"containerPort: 80}":                              fmt.Sprintf("containerPort: %d}", testimage.Port),
	} {
		if !strings.Contains(m, old) {
			t.Fatalf("examples/ecs/web.yaml no longer contains %q: update this test with it", old)
		}
		m = strings.ReplaceAll(m, old, repl)
	}
	return m
}

func (u *user) nodeless(args ...string) string {
	u.t.Helper()
	out, err := exec.Command(u.bin, args...).CombinedOutput()
	if err != nil {
		u.t.Fatalf("nodeless %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (u *user) kubectl(args ...string) string {
	u.t.Helper()
	return u.nodeless(append([]string{"kubectl", "--kubeconfig", u.env.Kubeconfig}, args...)...)
}

func (u *user) kubectlApply(manifest string) {
	u.t.Helper()
	cmd := exec.Command(u.bin, "kubectl", "--kubeconfig", u.env.Kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		u.t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

type serviceStatus struct{ ready, revision, rollout, running string }

func (u *user) serviceStatus() (serviceStatus, error) {
	out, err := exec.Command(u.bin, "kubectl", "--kubeconfig", u.env.Kubeconfig, "get", "services.ecs.nodeless.dev", "web", "-o",
		`jsonpath={.status.conditions[?(@.type=="Ready")].status}|{.status.revision}|{.status.rolloutState}|{.status.runningCount}`).Output()
	if err != nil {
		return serviceStatus{}, err
	}
	f := strings.Split(string(out), "|")
	if len(f) != 4 {
		return serviceStatus{}, fmt.Errorf("unexpected status %q", out)
	}
	return serviceStatus{ready: f[0], revision: f[1], rollout: f[2], running: f[3]}, nil
}

func (u *user) waitService(what string, ok func(serviceStatus) bool) {
	u.t.Helper()
	var last serviceStatus
	var lastErr error
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if last, lastErr = u.serviceStatus(); lastErr == nil && ok(last) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	u.t.Fatalf("%s: not reached within %s; last status %+v (error %v)\n%s", what, waitTimeout, last, lastErr,
		u.kubectl("get", "services.ecs.nodeless.dev", "web", "-o", "yaml"))
}

func (u *user) ecsClient() *ecs.Client {
	u.t.Helper()
	creds, err := credentials.LoadOrCreate(filepath.Join(u.env.StateDir, "credentials"))
	if err != nil {
		u.t.Fatal(err)
	}
	c, err := ecsapi.NewClient(context.Background(), ecsapi.Options{
		Endpoint: u.env.DataPlaneEndpoint, Region: dataplane.DefaultRegion,
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
	})
	if err != nil {
		u.t.Fatal(err)
	}
	return c
}

// runningTasks returns the cluster's tasks that are not STOPPED, once there are exactly want of them
// and all are RUNNING.
func (u *user) runningTasks(want int) []taskView {
	u.t.Helper()
	ctx := context.Background()
	var tasks []taskView
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		tasks = tasks[:0]
		list, err := u.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("dev")})
		if err == nil && len(list.TaskArns) > 0 {
			var out *ecs.DescribeTasksOutput
			out, err = u.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("dev"), Tasks: list.TaskArns})
			if err == nil {
				for _, task := range out.Tasks {
					tasks = append(tasks, taskView{task.TaskArn, task.TaskDefinitionArn, aws.ToString(task.LastStatus), task.StartedAt, hostPort(task.Containers)})
				}
			}
		}
		if err == nil && len(tasks) == want && allRunning(tasks) {
			return tasks
		}
		time.Sleep(500 * time.Millisecond)
	}
	u.t.Fatalf("want %d RUNNING tasks in cluster dev, have %+v", want, tasks)
	return nil
}

type taskView struct {
	TaskArn, TaskDefinitionArn *string
	LastStatus                 string
	StartedAt                  *time.Time
	HostPort                   int32
}

func allRunning(tasks []taskView) bool {
	return !slices.ContainsFunc(tasks, func(v taskView) bool { return v.LastStatus != "RUNNING" })
}

func hostPort(containers []ecstypes.Container) int32 {
	for _, c := range containers {
		for _, b := range c.NetworkBindings {
			if aws.ToInt32(b.ContainerPort) == testimage.Port {
				return aws.ToInt32(b.HostPort)
			}
		}
	}
	return 0
}

func (u *user) expectHTTP(tasks []taskView) {
	u.t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, task := range tasks {
		if task.HostPort == 0 {
			u.t.Errorf("task %s has no network binding for port %d", aws.ToString(task.TaskArn), testimage.Port)
			continue
		}
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", task.HostPort))
		if err != nil {
			u.t.Errorf("task %s does not answer on 127.0.0.1:%d: %v", aws.ToString(task.TaskArn), task.HostPort, err)
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			u.t.Errorf("task %s answered %s", aws.ToString(task.TaskArn), resp.Status)
		}
	}
}

// diffTasks says how two views of the running tasks differ in identity or start time.
func diffTasks(before, after []taskView) string {
	key := func(v taskView) string {
		return aws.ToString(v.TaskArn) + "@" + aws.ToTime(v.StartedAt).UTC().Format(time.RFC3339Nano)
	}
	var b, a []string
	for _, v := range before {
		b = append(b, key(v))
	}
	for _, v := range after {
		a = append(a, key(v))
	}
	slices.Sort(b)
	slices.Sort(a)
	if slices.Equal(a, b) {
		return ""
	}
	return fmt.Sprintf("before %v, after %v", b, a)
}

func (u *user) waitECSServiceGone() {
	u.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		out, err := u.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("dev"), Services: []string{"web"}})
		if err == nil && (len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE") {
			list, err := u.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("dev")})
			if err == nil && len(list.TaskArns) == 0 {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	u.t.Fatal("the ECS service web was not deleted (INACTIVE, no running tasks) after its Kubernetes object was deleted")
}
