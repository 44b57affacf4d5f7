package prober

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/probe"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// tick is one step of a table test: at a time (since epoch) something happens to the Pod, then
// one worker steps.
type tick struct {
	at time.Duration
	// restart: the container runs again from this time (Ensure with a new start time);
	// newTask: the Pod's task is a new one (same start time); stop: the container stopped.
	restart, newTask, stop bool
	// c and typ name the worker that steps ("app" when c is "").
	c   string
	typ probeType
	// out is what the probe returns, one per attempt; none: the probe must not run.
	out []outcome
	// wait, when set, is the step's wait for its next step.
	wait time.Duration
	// want, when set, is the container's Result after the tick.
	want *Result
	// kills and events are what the tick must produce (nothing when nil).
	kills  []string
	events []string
}

func ok() outcome                { return outcome{res: probe.Success} }
func fail(out string) outcome    { return outcome{res: probe.Failure, out: out} }
func errored(err string) outcome { return outcome{res: probe.Unknown, err: errors.New(err)} }

func unhealthy(c, probe, out string) string {
	return fmt.Sprintf("Unhealthy spec.containers{%s}: %s probe failed: %s", c, probe, out)
}

func TestWorkerSemantics(t *testing.T) {
	const app = "app"
	name := func(c string, typ probeType) string { return c + "-" + typ.String() }
	probes := func(c string, mods map[probeType][]func(*translate.Probe)) translate.ContainerNode {
		n := translate.ContainerNode{Name: c}
		for typ, m := range mods {
			p := execProbe(name(c, typ), m...)
			switch typ {
			case readiness:
				n.Readiness = p
			case liveness:
				n.Liveness = p
			case startup:
				n.Startup = p
			}
		}
		return n
	}
	grace := func(s int64) func(*translate.Probe) {
		return func(p *translate.Probe) { p.TerminationGracePeriodSeconds = &s }
	}
	liveKill := &Kill{Reason: "LivenessProbe", Message: "Container app failed liveness probe, will be restarted", GracePeriodSeconds: 30}

	tests := []struct {
		name       string
		containers []translate.ContainerNode
		policy     corev1.RestartPolicy
		// startedAt is when the containers started, relative to epoch (the Manager's creation).
		startedAt  time.Duration
		notRunning bool
		initial    map[string]Result
		ticks      []tick
	}{{
		name:       "readiness starts false and turns true after successThreshold successes, false after failureThreshold failures",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){readiness: {thresholds(3, 2)}})},
		initial:    map[string]Result{app: {Ready: no, Started: yes}},
		ticks: []tick{
			{at: 0, typ: readiness, out: []outcome{ok()}, wait: 10 * time.Second, want: &Result{Ready: no, Started: yes}},
			{at: 10 * time.Second, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: no, Started: yes}},
			{at: 20 * time.Second, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
			{at: 30 * time.Second, typ: readiness, out: []outcome{fail("boom")}, want: &Result{Ready: yes, Started: yes, Message: "Readiness probe failed: boom"},
				events: []string{unhealthy(app, "Readiness", "boom")}},
			{at: 40 * time.Second, typ: readiness, out: []outcome{fail("boom")}, want: &Result{Ready: no, Started: yes, Message: "Readiness probe failed: boom"},
				events: []string{unhealthy(app, "Readiness", "boom")}},
			{at: 50 * time.Second, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: no, Started: yes}},
		},
	}, {
		name:       "no probe before initialDelaySeconds, then at once",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){readiness: {initialDelay(15)}})},
		ticks: []tick{
			{at: 0, typ: readiness, wait: 15 * time.Second, want: &Result{Ready: no, Started: yes}},
			{at: 10 * time.Second, typ: readiness, wait: 5 * time.Second},
			{at: 15 * time.Second, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
		},
	}, {
		name:       "liveness: failures in a row past failureThreshold kill once, then the probe holds until the next run",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){liveness: nil})},
		ticks: []tick{
			{at: 0, typ: liveness, out: []outcome{fail("down")}, events: []string{unhealthy(app, "Liveness", "down")}},
			{at: 10 * time.Second, typ: liveness, out: []outcome{fail("down")}, events: []string{unhealthy(app, "Liveness", "down")}},
			{at: 20 * time.Second, typ: liveness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
			{at: 30 * time.Second, typ: liveness, out: []outcome{fail("down")}, events: []string{unhealthy(app, "Liveness", "down")}},
			{at: 40 * time.Second, typ: liveness, out: []outcome{fail("down")}, events: []string{unhealthy(app, "Liveness", "down")}},
			{at: 50 * time.Second, typ: liveness, out: []outcome{fail("down")}, events: []string{unhealthy(app, "Liveness", "down")},
				kills: []string{"app: " + liveKill.Message},
				want:  &Result{Ready: yes, Started: yes, Message: "Liveness probe failed: down", Kill: liveKill}},
			{at: 60 * time.Second, typ: liveness, want: &Result{Ready: yes, Started: yes, Message: "Liveness probe failed: down", Kill: liveKill}},
			{at: 70 * time.Second, restart: true, typ: liveness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
		},
	}, {
		name: "the startup probe gates readiness and liveness, and stops once it succeeded",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){
			startup: {thresholds(1, 3)}, readiness: nil, liveness: nil})},
		initial: map[string]Result{app: {Ready: no}},
		ticks: []tick{
			{at: 0, typ: readiness, want: &Result{Ready: no}},
			{at: 0, typ: liveness},
			{at: 0, typ: startup, out: []outcome{fail("starting")}, want: &Result{Ready: no, Message: "Startup probe failed: starting"},
				events: []string{unhealthy(app, "Startup", "starting")}},
			{at: 10 * time.Second, typ: startup, out: []outcome{ok()}, want: &Result{Ready: no, Started: yes}},
			{at: 20 * time.Second, typ: startup},
			{at: 20 * time.Second, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
			{at: 20 * time.Second, typ: liveness, out: []outcome{ok()}},
		},
	}, {
		name: "a startup probe failing past failureThreshold kills; readiness stays false and liveness never runs",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){
			startup: {thresholds(1, 2), grace(7)}, readiness: nil, liveness: nil})},
		ticks: []tick{
			{at: 0, typ: startup, out: []outcome{fail("no")}, events: []string{unhealthy(app, "Startup", "no")}},
			{at: 10 * time.Second, typ: startup, out: []outcome{fail("no")}, events: []string{unhealthy(app, "Startup", "no")},
				kills: []string{"app: Container app failed startup probe, will be restarted"},
				want: &Result{Ready: no, Started: no, Message: "Startup probe failed: no",
					Kill: &Kill{Reason: "StartupProbe", Message: "Container app failed startup probe, will be restarted", GracePeriodSeconds: 7}}},
			{at: 20 * time.Second, typ: startup},
			{at: 20 * time.Second, typ: readiness},
			{at: 20 * time.Second, typ: liveness},
		},
	}, {
		name:       "a probe that cannot be run is tried three times and counts neither way",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){readiness: {thresholds(1, 1)}})},
		ticks: []tick{
			{at: 0, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
			{at: 10 * time.Second, typ: readiness, out: []outcome{errored("exec: no"), errored("exec: no"), errored("exec: no")},
				want:   &Result{Ready: yes, Started: yes, Message: "Readiness probe errored and resulted in unknown state: exec: no"},
				events: []string{"Unhealthy spec.containers{app}: Readiness probe errored and resulted in unknown state: exec: no"}},
			{at: 20 * time.Second, typ: readiness, out: []outcome{errored("flake"), ok()}, want: &Result{Ready: yes, Started: yes}},
		},
	}, {
		name:       "a warning (a redirect not followed) is a success, with an event",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){readiness: nil})},
		ticks: []tick{
			{at: 0, typ: readiness, out: []outcome{{res: probe.Warning, out: "Probe terminated redirects"}}, want: &Result{Ready: yes, Started: yes},
				events: []string{"ProbeWarning spec.containers{app}: Readiness probe warning: Probe terminated redirects"}},
		},
	}, {
		name:       "a container without a readiness probe is ready once it started",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){startup: nil})},
		initial:    map[string]Result{app: {Ready: no}},
		ticks: []tick{
			{at: 0, typ: startup, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
		},
	}, {
		name:       "a container without probes is ready and started while it runs, and reports nothing when it stopped",
		containers: []translate.ContainerNode{{Name: app}, probes("probed", map[probeType][]func(*translate.Probe){readiness: nil})},
		initial:    map[string]Result{app: {Ready: yes, Started: yes}, "probed": {Ready: no, Started: yes}},
		ticks: []tick{
			{at: 10 * time.Second, stop: true, c: "probed", typ: readiness, want: &Result{}},
		},
	}, {
		name:       "results reset when the container runs again",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){readiness: nil, liveness: nil})},
		ticks: []tick{
			{at: 0, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
			{at: 0, typ: liveness, out: []outcome{fail("x")}, events: []string{unhealthy(app, "Liveness", "x")}},
			{at: 10 * time.Second, typ: liveness, out: []outcome{fail("x")}, events: []string{unhealthy(app, "Liveness", "x")}},
			// a third failure would kill; the restart starts counting afresh
			{at: 15 * time.Second, restart: true, typ: liveness, out: []outcome{fail("x")}, events: []string{unhealthy(app, "Liveness", "x")},
				want: &Result{Ready: no, Started: yes, Message: "Liveness probe failed: x"}},
			{at: 25 * time.Second, typ: liveness, out: []outcome{fail("x")}, events: []string{unhealthy(app, "Liveness", "x")}},
			{at: 25 * time.Second, newTask: true, typ: readiness, out: []outcome{fail("y")}, events: []string{unhealthy(app, "Readiness", "y")},
				want: &Result{Ready: no, Started: yes, Message: "Readiness probe failed: y"}},
			{at: 35 * time.Second, typ: liveness, out: []outcome{fail("x")}, events: []string{unhealthy(app, "Liveness", "x")}},
		},
	}, {
		name:       "a container running since before the Manager: readiness unknown until the probe concludes",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){readiness: {thresholds(1, 2)}})},
		startedAt:  -time.Hour,
		initial:    map[string]Result{app: {Started: yes}},
		ticks: []tick{
			{at: 0, typ: readiness, out: []outcome{fail("x")}, want: &Result{Started: yes, Message: "Readiness probe failed: x"},
				events: []string{unhealthy(app, "Readiness", "x")}},
			{at: 10 * time.Second, typ: readiness, out: []outcome{fail("x")}, want: &Result{Ready: no, Started: yes, Message: "Readiness probe failed: x"},
				events: []string{unhealthy(app, "Readiness", "x")}},
		},
	}, {
		name:       "a container with a startup probe running since before the Manager: started unknown too",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){startup: nil, readiness: nil})},
		startedAt:  -11 * time.Second,
		initial:    map[string]Result{app: {}},
		ticks: []tick{
			{at: 0, typ: startup, out: []outcome{ok()}, want: &Result{Started: yes}},
			{at: 0, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
		},
	}, {
		name:       "a container started in the 10 s before the Manager is a new run (the kubelet's grace)",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){readiness: nil})},
		startedAt:  -9 * time.Second,
		initial:    map[string]Result{app: {Ready: no, Started: yes}},
	}, {
		name: "restartPolicy Never and sidecars: the kubelet's kill messages; the probe's grace period over the Pod's",
		containers: []translate.ContainerNode{
			{Name: "proxy", Init: true, Sidecar: true, Liveness: execProbe("proxy-Liveness", thresholds(1, 1), grace(5))},
			{Name: "setup", Init: true, Liveness: execProbe("never-run")},
			probes(app, map[probeType][]func(*translate.Probe){liveness: {thresholds(1, 1)}}),
		},
		policy:  corev1.RestartPolicyNever,
		initial: map[string]Result{app: {Ready: yes, Started: yes}, "proxy": {Ready: yes, Started: yes}},
		ticks: []tick{
			{at: 0, c: "proxy", typ: liveness, out: []outcome{fail("x")}, events: []string{"Unhealthy spec.initContainers{proxy}: Liveness probe failed: x"},
				kills: []string{"proxy: Init container proxy failed liveness probe"},
				want: &Result{Ready: yes, Started: yes, Message: "Liveness probe failed: x",
					Kill: &Kill{Reason: "LivenessProbe", Message: "Init container proxy failed liveness probe", GracePeriodSeconds: 5}}},
			{at: 0, typ: liveness, out: []outcome{fail("x")}, events: []string{unhealthy(app, "Liveness", "x")},
				kills: []string{"app: Container app failed liveness probe"},
				want: &Result{Ready: yes, Started: yes, Message: "Liveness probe failed: x",
					Kill: &Kill{Reason: "LivenessProbe", Message: "Container app failed liveness probe", GracePeriodSeconds: 30}}},
		},
	}, {
		name:       "a container that is not running is not probed",
		containers: []translate.ContainerNode{probes(app, map[probeType][]func(*translate.Probe){readiness: nil})},
		notRunning: true,
		initial:    map[string]Result{app: {}},
		ticks: []tick{
			{at: 0, typ: readiness, wait: 10 * time.Second, want: &Result{}},
			{at: 5 * time.Second, restart: true, typ: readiness, out: []outcome{ok()}, want: &Result{Ready: yes, Started: yes}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			plan := translate.NodePlan{RestartPolicy: tt.policy, Containers: tt.containers, TerminationGracePeriodSeconds: 30}
			if plan.RestartPolicy == "" {
				plan.RestartPolicy = corev1.RestartPolicyAlways
			}
			started := map[string]time.Time{}
			if !tt.notRunning {
				for _, c := range tt.containers {
					started[c.Name] = epoch.Add(tt.startedAt)
				}
			}
			task := testTask
			ensure := func() { h.m.Ensure(testKey, testUID, task, plan, started) }
			ensure()
			if tt.initial != nil {
				if diff := cmp.Diff(tt.initial, h.m.Results(testKey)); diff != "" {
					t.Fatalf("results after Ensure (-want +got):\n%s", diff)
				}
			}
			for i, tk := range tt.ticks {
				c := tk.c
				if c == "" {
					c = app
				}
				h.clock.SetTime(epoch.Add(tk.at))
				switch {
				case tk.restart:
					started[c] = epoch.Add(tk.at)
				case tk.stop:
					delete(started, c)
				case tk.newTask:
					task.TaskArn += "-2"
				}
				ensure()
				h.checkTick(t, i, c, tk)
			}
		})
	}
}

// checkTick steps the worker of tk and checks what it did.
func (h *harness) checkTick(t *testing.T, i int, c string, tk tick) {
	t.Helper()
	name := c + "-" + tk.typ.String()
	for _, o := range tk.out {
		h.runner.push(name, o)
	}
	before := h.runner.called(name)
	wait := h.step(t, c, tk.typ)
	if got := h.runner.called(name) - before; got != len(tk.out) {
		t.Errorf("tick %d: the %v probe of %s ran %d times, want %d", i, tk.typ, c, got, len(tk.out))
	}
	if tk.wait != 0 && wait != tk.wait {
		t.Errorf("tick %d: waits %v, want %v", i, wait, tk.wait)
	}
	if tk.want != nil {
		if diff := cmp.Diff(*tk.want, h.m.Results(testKey)[c]); diff != "" {
			t.Errorf("tick %d: result of %s (-want +got):\n%s", i, c, diff)
		}
	}
	if diff := cmp.Diff(tk.kills, h.kills.take()); diff != "" {
		t.Errorf("tick %d: OnLivenessFailure calls (-want +got):\n%s", i, diff)
	}
	var events []string
	for _, e := range h.rec.take() {
		if e.Type != corev1.EventTypeWarning {
			t.Errorf("tick %d: event %+v is not a Warning", i, e)
		}
		events = append(events, fmt.Sprintf("%s %s: %s", e.Reason, e.FieldPath, e.Message))
	}
	if diff := cmp.Diff(tk.events, events); diff != "" {
		t.Errorf("tick %d: events (-want +got):\n%s", i, diff)
	}
}

// TestStaleOutcomeDropped: a probe in flight when the container runs again does not set the new
// run's results.
func TestStaleOutcomeDropped(t *testing.T) {
	h := newHarness(t)
	plan := translate.NodePlan{RestartPolicy: corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: 30,
		Containers: []translate.ContainerNode{{Name: "app", Readiness: execProbe("r", thresholds(1, 1))}}}
	started := map[string]time.Time{"app": epoch}
	h.m.Ensure(testKey, testUID, testTask, plan, started)
	h.runner.push("r", outcome{res: probe.Success, during: func() {
		h.m.Ensure(testKey, testUID, testTask, plan, map[string]time.Time{"app": epoch.Add(time.Second)})
	}})
	h.step(t, "app", readiness)
	if diff := cmp.Diff(map[string]Result{"app": {Ready: no, Started: yes}}, h.m.Results(testKey)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	// the next step probes the new run
	h.clock.Step(time.Second)
	h.runner.push("r", ok())
	h.step(t, "app", readiness)
	if diff := cmp.Diff(map[string]Result{"app": {Ready: yes, Started: yes}}, h.m.Results(testKey)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}
