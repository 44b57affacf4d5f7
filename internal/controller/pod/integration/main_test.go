package integration

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/controllertest"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

func TestMain(m *testing.M) {
	// Errors only: the Pods' status and Events are what the tests assert.
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(testenv.Main(m))
}

// image is what the test Pods run; the fake runtime runs any image.
const image = "nodeless.local/app:1"

// env is one test's namespace on the shared control plane, its in-memory ECS and the running
// controllers with a Pod controller for the test's own node.
type env struct {
	t    *testing.T
	ctx  context.Context
	c    client.WithWatch
	ns   string
	node string
	ecs  *ecsmem.ECS
	// api is what the controllers call ECS through, counted.
	api  *ecsapi.Counting
	te   *testenv.Env
	opts pod.Options
	stop func()
	// pods is the Pod controller the manager registered (Config.Pods), of the current run.
	pods *pod.Controller
}

// start joins the control plane, starts an in-memory ECS and runs the controllers with the
// Pod controller of a node named after the test's namespace. tweak, when set, changes the Pod
// controller's options (the in-memory ECS, e.ecs, is running by then).
func start(t *testing.T, tweak func(*env, *pod.Options)) *env {
	t.Helper()
	c, te := controllertest.Kube(t)
	e := &env{t: t, ctx: context.Background(), c: c, ns: te.Namespace, node: "node-" + te.Namespace, te: te}
	e.ecs = ecsmem.Start(t, ecsmem.Options{})
	e.api = ecsapi.NewCounting(e.ecs.Client)
	e.opts = pod.Options{
		NodeName: e.node, PollInterval: 200 * time.Millisecond, StablePollInterval: 2 * time.Second,
		SweepInterval: time.Hour, AgentImage: "nodeless.local/nodeless-agent:test",
		Backoff: pod.Backoff{Initial: 500 * time.Millisecond, Max: 2 * time.Second, Reset: 10 * time.Minute},
	}
	if tweak != nil {
		tweak(e, &e.opts)
	}
	e.run()
	return e
}

// run starts the controllers (again, after stop: a restart of nodeless).
func (e *env) run() {
	e.t.Helper()
	sm, err := secretsapi.NewClient(e.ctx, ecsapi.Options{Endpoint: e.ecs.Endpoint, Region: e.ecs.Region,
		AccessKeyID: e.ecs.Credentials.AccessKeyID, SecretAccessKey: e.ecs.Credentials.SecretAccessKey})
	if err != nil {
		e.t.Fatal(err)
	}
	opts := e.opts
	m, stop := controllertest.Run(e.t, controller.Config{
		RestConfig: e.te.Config,
		ECS:        e.api,
		Limits:     controller.NoRateLimit(),
		Controllers: managed.Options{
			PollInterval: 300 * time.Millisecond, StablePollInterval: 2 * time.Second,
		},
		Namespaces:     []string{e.ns},
		AllowRestart:   true,
		Pods:           &opts,
		SecretsManager: sm,
	})
	e.stop = stop
	e.pods = m.PodTasks()
	if e.pods == nil {
		e.t.Fatal("the manager did not register the Pod controller though Config.Pods is set")
	}
}

// newPod is a Pod bound to the test's node running one container "app".
func (e *env) newPod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: corev1.PodSpec{
			NodeName:   e.node,
			Containers: []corev1.Container{{Name: "app", Image: image}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// create creates pod, waiting for the namespace's default ServiceAccount that admission needs.
func (e *env) create(p *corev1.Pod) *corev1.Pod {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cp := p.DeepCopy()
		err := e.c.Create(e.ctx, cp)
		if err == nil {
			return cp
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			e.t.Fatalf("creating pod %s: %v", p.Name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *env) get(name string) *corev1.Pod {
	e.t.Helper()
	p := &corev1.Pod{}
	if err := e.c.Get(e.ctx, client.ObjectKey{Namespace: e.ns, Name: name}, p); err != nil {
		e.t.Fatalf("getting pod %s: %v", name, err)
	}
	return p
}

// waitPod waits until cond holds for the Pod name.
func (e *env) waitPod(name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p := &corev1.Pod{}
		err := e.c.Get(e.ctx, client.ObjectKey{Namespace: e.ns, Name: name}, p)
		if err == nil && cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("pod %s: timed out after %v waiting for %s; last: %v %s", name, timeout, what, err, describe(p))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eventually polls cond every 100ms until it holds or timeout passes.
// eventTimeout bounds the wait for an Event the controller records: the recorder sends Events
// asynchronously, and on a loaded 2-core CI machine that can take seconds. It only ends a test
// that would hang; nothing is timed against it.
const eventTimeout = 30 * time.Second

func (e *env) eventually(timeout time.Duration, what string, cond func() (bool, string)) {
	e.t.Helper()
	testwait.For(e.t, timeout, 100*time.Millisecond, what, cond)
}

// describe is a one-line summary of a Pod's status for failure messages.
func describe(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s reason=%s message=%q", p.Status.Phase, p.Status.Reason, p.Status.Message)
	for _, cs := range p.Status.ContainerStatuses {
		fmt.Fprintf(&b, " [%s ready=%v restarts=%d %s]", cs.Name, cs.Ready, cs.RestartCount, state(cs.State))
	}
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	return b.String()
}

func state(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated(%s %d)", s.Terminated.Reason, s.Terminated.ExitCode)
	case s.Waiting != nil:
		return "waiting(" + s.Waiting.Reason + ")"
	}
	return "none"
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// running: the Pod is Running and Ready with an address.
func running(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && ready(p) && p.Status.PodIP != ""
}

// taskOf is the task recorded in the Pod's status ("" before there is one).
func taskOf(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == pod.ConditionTask {
			arn, _, _ := strings.Cut(c.Message, " ")
			return arn
		}
	}
	return ""
}

func taskID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// tasksStarted counts the tasks ECS started for the Pod, running or stopped (ListTasks by its
// startedBy, through the test's own client).
func (e *env) tasksStarted(p *corev1.Pod) int {
	e.t.Helper()
	n := 0
	for _, status := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		out, err := e.ecs.Client.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String(pod.DefaultCluster),
			StartedBy: aws.String("nodeless/" + string(p.UID)), DesiredStatus: status})
		if err != nil {
			e.t.Fatal(err)
		}
		n += len(out.TaskArns)
	}
	return n
}

// events returns the Events of the Pod name as "Type Reason: Message".
func (e *env) events(name string) []string {
	e.t.Helper()
	var list corev1.EventList
	if err := e.c.List(e.ctx, &list, client.InNamespace(e.ns)); err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name == name && ev.InvolvedObject.Kind == "Pod" {
			out = append(out, ev.Type+" "+ev.Reason+": "+ev.Message)
		}
	}
	return out
}

// hasEvent reports whether the Pod has an Event starting with prefix ("Type Reason: ...").
func (e *env) hasEvent(name, prefix string) (bool, string) {
	evs := e.events(name)
	for _, ev := range evs {
		if strings.HasPrefix(ev, prefix) {
			return true, ""
		}
	}
	return false, strings.Join(evs, " | ")
}

// history records every status a watch delivered for the Pods of the namespace.
type history struct {
	mu   sync.Mutex
	seen map[string][]corev1.PodStatus
	mods int
}

// watchPods watches the namespace's Pods until the test ends.
func (e *env) watchPods() *history {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	w, err := e.c.Watch(ctx, &corev1.PodList{}, client.InNamespace(e.ns))
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	h := &history{seen: map[string][]corev1.PodStatus{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			h.mu.Lock()
			h.seen[p.Name] = append(h.seen[p.Name], *p.Status.DeepCopy())
			if ev.Type == watch.Modified {
				h.mods++
			}
			h.mu.Unlock()
		}
	}()
	e.t.Cleanup(func() {
		w.Stop()
		cancel()
		<-done
	})
	return h
}

// waitingReasons lists the waiting reasons the container showed, in order, without repeats.
func (h *history) waitingReasons(pod, container string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, st := range h.seen[pod] {
		for _, cs := range st.ContainerStatuses {
			if cs.Name != container || cs.State.Waiting == nil {
				continue
			}
			if r := cs.State.Waiting.Reason; len(out) == 0 || out[len(out)-1] != r {
				out = append(out, r)
			}
		}
	}
	return out
}

func (h *history) modifications() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mods
}

// task describes the task arn (with its tags) through the test's own client.
func (e *env) task(arn string) ecstypes.Task {
	e.t.Helper()
	out, err := e.ecs.Client.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String(pod.DefaultCluster), Tasks: []string{arn},
		Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Tasks) != 1 {
		e.t.Fatalf("task %s not described: %+v", arn, out.Failures)
	}
	return out.Tasks[0]
}

// taskDefinition describes the revision arn through the test's own client.
func (e *env) taskDefinition(arn string) *ecstypes.TaskDefinition {
	e.t.Helper()
	out, err := e.ecs.Client.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.TaskDefinition
}

// gone waits until the Pod name no longer exists.
func (e *env) gone(name string, timeout time.Duration) {
	e.t.Helper()
	e.eventually(timeout, "pod "+name+" deleted", func() (bool, string) {
		p := &corev1.Pod{}
		err := e.c.Get(e.ctx, client.ObjectKey{Namespace: e.ns, Name: name}, p)
		return apierrors.IsNotFound(err), describe(p)
	})
}

// override is the value of variable name in the task's overrides of container ("" when absent).
func override(t ecstypes.Task, container, name string) string {
	if t.Overrides == nil {
		return ""
	}
	for _, co := range t.Overrides.ContainerOverrides {
		if aws.ToString(co.Name) != container {
			continue
		}
		for _, kv := range co.Environment {
			if aws.ToString(kv.Name) == name {
				return aws.ToString(kv.Value)
			}
		}
	}
	return ""
}

func conditionOf(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// taskIPOf is the task's private IPv4 address as ECS reports it.
func taskIPOf(t ecstypes.Task) string {
	for _, a := range t.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}
