package pod

import (
	"context"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nodeless-dev/nodeless/internal/prober"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// stubProbes answers Results with fixed results; the other calls do nothing.
type stubProbes struct{ results map[string]prober.Result }

func (s *stubProbes) Ensure(types.NamespacedName, types.UID, taskhost.Task, translate.NodePlan, map[string]time.Time) {
}
func (s *stubProbes) Terminating(types.NamespacedName)                      {}
func (s *stubProbes) Remove(types.NamespacedName)                           {}
func (s *stubProbes) Results(types.NamespacedName) map[string]prober.Result { return s.results }
func (s *stubProbes) Source() source.Source                                 { return nil }

var started = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func runningTask(containers ...string) *ecstypes.Task {
	t := &ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task/nodeless/t1"),
		LastStatus: aws.String("RUNNING"), DesiredStatus: aws.String("RUNNING"), StartedAt: aws.Time(started),
		Attachments: []ecstypes.Attachment{{Type: aws.String("ElasticNetworkInterface"), Status: aws.String("ATTACHED"),
			Details: []ecstypes.KeyValuePair{{Name: aws.String("privateIPv4Address"), Value: aws.String("10.0.0.7")}}}}}
	for _, c := range containers {
		t.Containers = append(t.Containers, ecstypes.Container{Name: aws.String(c), LastStatus: aws.String("RUNNING"), RuntimeId: aws.String("t1-" + c)})
	}
	return t
}

func probe() *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}
}

func ready(b bool) prober.Result { return prober.Result{Ready: &b, Started: ptrTrue()} }

// TestProbeStatus: the probes' results decide containerStatuses[].ready/started and the
// ContainersReady and Ready conditions, as the kubelet's status manager does.
func TestProbeStatus(t *testing.T) {
	type want struct {
		Ready, Started  bool
		ContainersReady corev1.ConditionStatus
	}
	withReadiness := func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = probe() }
	withStartup := func(p *corev1.Pod) { p.Spec.Containers[0].StartupProbe = probe() }
	wasReady := func(ready bool) func(p *corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: ready, Started: ptrBool(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}
	}
	for name, tc := range map[string]struct {
		mutate  []func(*corev1.Pod)
		probes  bool
		results map[string]prober.Result
		want    want
	}{
		"no prober: ready once running":               {want: want{true, true, corev1.ConditionTrue}},
		"no readiness probe: ready once running":      {probes: true, results: map[string]prober.Result{"app": ready(true)}, want: want{true, true, corev1.ConditionTrue}},
		"no result yet, no readiness probe":           {probes: true, want: want{true, true, corev1.ConditionTrue}},
		"readiness probe not yet succeeded":           {mutate: []func(*corev1.Pod){withReadiness}, probes: true, results: map[string]prober.Result{"app": ready(false)}, want: want{false, true, corev1.ConditionFalse}},
		"readiness probe, no result yet":              {mutate: []func(*corev1.Pod){withReadiness}, probes: true, want: want{false, true, corev1.ConditionFalse}},
		"readiness probe succeeded":                   {mutate: []func(*corev1.Pod){withReadiness}, probes: true, results: map[string]prober.Result{"app": ready(true)}, want: want{true, true, corev1.ConditionTrue}},
		"startup probe pending":                       {mutate: []func(*corev1.Pod){withStartup}, probes: true, results: map[string]prober.Result{"app": {Ready: ptrBool(false)}}, want: want{false, false, corev1.ConditionFalse}},
		"startup probe failed":                        {mutate: []func(*corev1.Pod){withStartup}, probes: true, results: map[string]prober.Result{"app": {Ready: ptrBool(false), Started: ptrBool(false)}}, want: want{false, false, corev1.ConditionFalse}},
		"startup probe succeeded, no readiness":       {mutate: []func(*corev1.Pod){withStartup}, probes: true, results: map[string]prober.Result{"app": ready(true)}, want: want{true, true, corev1.ConditionTrue}},
		"adopted after a restart: keeps ready":        {mutate: []func(*corev1.Pod){withReadiness, wasReady(true)}, probes: true, results: map[string]prober.Result{"app": {}}, want: want{true, true, corev1.ConditionTrue}},
		"adopted after a restart: keeps unready":      {mutate: []func(*corev1.Pod){withReadiness, wasReady(false)}, probes: true, results: map[string]prober.Result{"app": {}}, want: want{false, true, corev1.ConditionFalse}},
		"adopted, then the probe concludes":           {mutate: []func(*corev1.Pod){withReadiness, wasReady(true)}, probes: true, results: map[string]prober.Result{"app": ready(false)}, want: want{false, true, corev1.ConditionFalse}},
		"a kill pending does not change ready":        {mutate: []func(*corev1.Pod){withReadiness}, probes: true, results: map[string]prober.Result{"app": {Ready: ptrBool(true), Started: ptrTrue(), Kill: &prober.Kill{Reason: "LivenessProbe"}}}, want: want{true, true, corev1.ConditionTrue}},
		"results of another container are no verdict": {mutate: []func(*corev1.Pod){withReadiness}, probes: true, results: map[string]prober.Result{"other": ready(true)}, want: want{false, true, corev1.ConditionFalse}},
	} {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1"},
				Spec: corev1.PodSpec{NodeName: translate.DefaultNodeName, RestartPolicy: corev1.RestartPolicyAlways,
					Containers: []corev1.Container{{Name: "app", Image: "example.com/app", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}
			for _, m := range tc.mutate {
				m(pod)
			}
			tr, err := translate.Translate(pod, translate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := &Reconciler{now: func() time.Time { return started.Add(time.Minute) }}
			if tc.probes {
				r.opts.Probes = &stubProbes{results: tc.results}
			}
			st, err := r.statusOf(pod, newState(pod), tr, runningTask("app"), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.ContainerStatuses) != 1 {
				t.Fatalf("container statuses: %+v", st.ContainerStatuses)
			}
			cs := st.ContainerStatuses[0]
			got := want{Ready: cs.Ready, Started: cs.Started != nil && *cs.Started, ContainersReady: condition(st, corev1.ContainersReady)}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			if c := condition(st, corev1.PodReady); c != got.ContainersReady {
				t.Errorf("Ready %s, ContainersReady %s: want them equal without readiness gates", c, got.ContainersReady)
			}
			if st.Phase != corev1.PodRunning {
				t.Errorf("phase %s", st.Phase)
			}
		})
	}
}

func condition(st corev1.PodStatus, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

// TestStartTimes: the prober is given each running container's run start: the task's start for
// the first run seen in a task (also after a controller restart), the time a new runtimeId was
// first seen for a run ECS restarted inside the task, nothing for a container not running.
func TestStartTimes(t *testing.T) {
	st := &podState{}
	now := started.Add(time.Hour)
	task := runningTask("app", "side")
	task.Containers[1].LastStatus = aws.String("PENDING")
	if d := cmp.Diff(map[string]time.Time{"app": started}, st.startTimes(task, now)); d != "" {
		t.Errorf("first look (-want +got)\n%s", d)
	}
	if d := cmp.Diff(map[string]time.Time{"app": started}, st.startTimes(task, now.Add(time.Minute))); d != "" {
		t.Errorf("same run later (-want +got)\n%s", d)
	}
	task.Containers[0].RuntimeId = aws.String("t1-app-2")
	task.Containers[1].LastStatus = aws.String("RUNNING")
	later := now.Add(2 * time.Minute)
	if d := cmp.Diff(map[string]time.Time{"app": later, "side": started}, st.startTimes(task, later)); d != "" {
		t.Errorf("restarted in the task (-want +got)\n%s", d)
	}
	next := runningTask("app")
	next.TaskArn = aws.String("arn:aws:ecs:us-east-1:000000000000:task/nodeless/t2")
	next.StartedAt = aws.Time(later.Add(time.Minute))
	if d := cmp.Diff(map[string]time.Time{"app": later.Add(time.Minute)}, st.startTimes(next, later.Add(2*time.Minute))); d != "" {
		t.Errorf("a new task (-want +got)\n%s", d)
	}
	pending := runningTask("app")
	pending.LastStatus = aws.String("PENDING")
	if got := st.startTimes(pending, now); len(got) != 0 {
		t.Errorf("a task not running: %v", got)
	}
}

// signals is a taskhost.Host that records the signals sent; everything else is unsupported.
type signals struct {
	sent []string
	err  error
}

func (h *signals) Dial(context.Context, string, string) (net.Conn, error) {
	return nil, h.unsupported()
}
func (h *signals) Logs(context.Context, taskhost.Task, string, taskhost.LogOptions) (io.ReadCloser, error) {
	return nil, h.unsupported()
}
func (h *signals) Exec(context.Context, taskhost.Task, string, []string, taskhost.Streams) error {
	return h.unsupported()
}
func (h *signals) Attach(context.Context, taskhost.Task, string, taskhost.Streams) error {
	return h.unsupported()
}
func (h *signals) Signal(_ context.Context, t taskhost.Task, container string, sig syscall.Signal) error {
	if h.err != nil {
		return h.err
	}
	h.sent = append(h.sent, t.ID+"/"+container+" "+sig.String())
	return nil
}
func (h *signals) VolumeDir(taskhost.Task, string) (string, error) { return "", h.unsupported() }
func (h *signals) unsupported() error {
	return &taskhost.UnsupportedError{Op: "test", Remedy: "none"}
}

// TestKillUnhealthy: a liveness failure kills the container as the kubelet does: SIGTERM with
// the Killing Event once, SIGKILL after the grace period, nothing for healthy containers.
func TestKillUnhealthy(t *testing.T) {
	host := &signals{}
	now := started.Add(time.Minute)
	rec := record.NewFakeRecorder(10)
	const msg = "Container app failed liveness probe, will be restarted"
	r := &Reconciler{now: func() time.Time { return now }, recorder: rec,
		opts: Options{Host: host, PollInterval: time.Second, Probes: &stubProbes{results: map[string]prober.Result{
			"app":  {Ready: ptrBool(true), Started: ptrTrue(), Kill: &prober.Kill{Reason: "LivenessProbe", Message: msg, GracePeriodSeconds: 30}},
			"side": ready(true),
		}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1"}}
	st := newState(pod)
	task := runningTask("app", "side")

	again, p := r.killUnhealthy(context.Background(), pod, st, task)
	if p != nil || again != 30*time.Second {
		t.Fatalf("first: again %v, problem %v; want 30s, none", again, p)
	}
	now = now.Add(10 * time.Second)
	if again, p = r.killUnhealthy(context.Background(), pod, st, task); p != nil || again != 20*time.Second {
		t.Fatalf("within the grace period: again %v, problem %v; want 20s, none", again, p)
	}
	now = now.Add(20 * time.Second)
	if _, p = r.killUnhealthy(context.Background(), pod, st, task); p != nil {
		t.Fatal(p)
	}
	if _, p = r.killUnhealthy(context.Background(), pod, st, task); p != nil {
		t.Fatal(p)
	}
	if d := cmp.Diff([]string{"t1/app terminated", "t1/app killed"}, host.sent); d != "" {
		t.Errorf("signals (-want +got)\n%s", d)
	}
	var events []string
	for len(rec.Events) > 0 {
		events = append(events, <-rec.Events)
	}
	if d := cmp.Diff([]string{"Normal Killing " + msg}, events); d != "" {
		t.Errorf("events (-want +got)\n%s", d)
	}

	// The container's next run (a new runtimeId) is killed afresh when its probe fails again.
	task.Containers[0].RuntimeId = aws.String("t1-app-2")
	host.sent = nil
	if _, p = r.killUnhealthy(context.Background(), pod, st, task); p != nil || len(host.sent) != 1 {
		t.Errorf("a new run: %v, problem %v", host.sent, p)
	}
}
