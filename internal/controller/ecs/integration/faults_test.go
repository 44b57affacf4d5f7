package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// These tests drive the controllers through Reconcile against the in-memory ECS with faults
// injected at the wire or in its fake runtime, black-box: objects go to the real kube-apiserver,
// the assertions are on their status, conditions and events, and on the calls counted at the wire
// (ecsmem.Requests/Served) and by the controllers' client (ecsapi.Counting). Reasons are spelled
// as users read them in conditions.

// faultEnv is one test's control plane namespace, in-memory ECS and running controllers.
type faultEnv struct {
	*scenario
	ecs *ecsmem.ECS
	cfg *rest.Config
}

func startFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	c, env := kube(t)
	e, api := inMemory(t)
	runControllers(t, env, api)
	return &faultEnv{scenario: &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: testImage}, ecs: e, cfg: env.Config}
}

func (f *faultEnv) create(objs ...client.Object) {
	f.t.Helper()
	for _, obj := range objs {
		if err := f.c.Create(f.ctx, obj); err != nil {
			f.t.Fatal(err)
		}
	}
}

// conditionLog records every condition an object showed, as a watch delivered its versions.
type conditionLog struct {
	mu   sync.Mutex
	seen []metav1.Condition
}

// find returns the message of the first condition seen with typ, status and reason ("" if none).
func (l *conditionLog) find(typ string, status metav1.ConditionStatus, reason string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.seen {
		if c.Type == typ && c.Status == status && c.Reason == reason {
			return c.Message
		}
	}
	return ""
}

func (l *conditionLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.seen {
		out = append(out, fmt.Sprintf("%s=%s %s", c.Type, c.Status, c.Reason))
	}
	return out
}

// watchConditions watches the objects of list's kind in the test's namespace until the test ends
// and logs the conditions of the one named name.
func (f *faultEnv) watchConditions(list client.ObjectList, name string) *conditionLog {
	f.t.Helper()
	scheme, err := controller.Scheme()
	if err != nil {
		f.t.Fatal(err)
	}
	wc, err := client.NewWithWatch(f.cfg, client.Options{Scheme: scheme})
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	w, err := wc.Watch(ctx, list, client.InNamespace(f.ns))
	if err != nil {
		cancel()
		f.t.Fatal(err)
	}
	log := &conditionLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			obj, ok := ev.Object.(client.Object)
			if !ok || obj.GetName() != name {
				continue
			}
			log.mu.Lock()
			log.seen = append(log.seen, conditionsOf(obj)...)
			log.mu.Unlock()
		}
	}()
	f.t.Cleanup(func() {
		w.Stop()
		cancel()
		<-done
	})
	return log
}

func conditionsOf(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *ecsv1alpha1.Service:
		return o.Status.Conditions
	case *ecsv1alpha1.Task:
		return o.Status.Conditions
	case *ecsv1alpha1.TaskDefinition:
		return o.Status.Conditions
	case *ecsv1alpha1.Cluster:
		return o.Status.Conditions
	}
	return nil
}

// hasCondition waits until obj has condition typ with status and reason, and returns its message.
func (f *faultEnv) hasCondition(obj client.Object, conds func() []metav1.Condition, typ string, status metav1.ConditionStatus, reason string) string {
	f.t.Helper()
	var msg string
	eventually(f.t, 60*time.Second, fmt.Sprintf("%s %s=%s %s", obj.GetName(), typ, status, reason), func() (bool, string) {
		if err := f.c.Get(f.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(conds(), typ)
		if c == nil {
			return false, "no " + typ + " condition"
		}
		msg = c.Message
		return c.Status == status && c.Reason == reason, fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
	})
	return msg
}

// readyService creates the Cluster, TaskDefinition and Service (desiredCount 2) of newObjects and
// waits until the Service is Ready.
func (f *faultEnv) readyService() (*ecsv1alpha1.TaskDefinition, *ecsv1alpha1.Service) {
	f.t.Helper()
	cl, td, svc := newObjects(f.ns, f.image)
	f.create(cl, td, svc)
	eventually(f.t, 60*time.Second, "Service Ready", f.ready(svc, func() []metav1.Condition { return svc.Status.Conditions }))
	return td, svc
}

// scale sets the Service's desiredCount and waits until the controllers applied it to ECS.
func (f *faultEnv) scale(svc *ecsv1alpha1.Service, n int32) {
	f.t.Helper()
	f.get(svc)
	svc.Spec.DesiredCount = aws.Int32(n)
	if err := f.c.Update(f.ctx, svc); err != nil {
		f.t.Fatal(err)
	}
	eventually(f.t, 60*time.Second, fmt.Sprintf("desiredCount %d in ECS", n), func() (bool, string) {
		got := f.ecsDesiredCount("web")
		return got == n, fmt.Sprint(got)
	})
}

func (f *faultEnv) ecsDesiredCount(service string) int32 {
	out, err := f.ecs.Client.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(f.ns), Services: []string{service}})
	if err != nil || len(out.Services) == 0 {
		return -1
	}
	return out.Services[0].DesiredCount
}

// TestThrottledUpdateServiceLandsOnce: a throttled UpdateService is retried — by the SDK while
// its attempts last, then by the controller after a Throttled condition — and lands exactly once.
func TestThrottledUpdateServiceLandsOnce(t *testing.T) {
	f := startFaultEnv(t)
	_, svc := f.readyService()

	// Throttled twice: the SDK's retryer (3 attempts) absorbs it within one controller call.
	throttle := f.ecs.Inject(ecsmem.Throttle(ecsapi.OpUpdateService, 2))
	f.api.Reset()
	f.scale(svc, 3)
	time.Sleep(2 * time.Second) // room for a duplicate
	if got := [3]int{f.ecs.Requests(ecsapi.OpUpdateService), f.ecs.Served(ecsapi.OpUpdateService), throttle.Fired()}; got != [3]int{3, 1, 2} {
		t.Errorf("UpdateService at the wire: requests, served, throttled = %v, want [3 1 2]", got)
	}
	if n := f.api.Count(ecsapi.OpUpdateService); n != 1 {
		t.Errorf("UpdateService calls by the controller = %d, want 1 (the SDK retried)", n)
	}

	// Throttled beyond the SDK's attempts: the Service shows Throttled, the controller retries
	// later, and the change lands once.
	seen := f.watchConditions(&ecsv1alpha1.ServiceList{}, "web")
	throttle = f.ecs.Inject(ecsmem.Throttle(ecsapi.OpUpdateService, 3))

	f.api.Reset()
	f.get(svc)
	svc.Spec.DesiredCount = aws.Int32(4)
	if err := f.c.Update(f.ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "desiredCount 4 in ECS", func() (bool, string) {
		got := f.ecsDesiredCount("web")
		return got == 4, fmt.Sprint(got)
	})
	f.hasCondition(svc, func() []metav1.Condition { return svc.Status.Conditions }, ecsv1alpha1.ConditionSynced, metav1.ConditionTrue, "Synced")
	// The controller retries as soon as it is woken again, so Throttled may be shown only for
	// milliseconds: the watch saw every status written.
	if msg := seen.find(ecsv1alpha1.ConditionSynced, metav1.ConditionFalse, "Throttled"); !strings.Contains(msg, "ThrottlingException") {
		t.Errorf("Synced=False Throttled naming ThrottlingException never shown; conditions seen: %v", seen.all())
	}
	time.Sleep(2 * time.Second)
	if served, fired := f.ecs.Served(ecsapi.OpUpdateService), throttle.Fired(); served != 2 || fired != 3 {
		t.Errorf("UpdateService served %d in all (want 2: one per change), throttled %d (want 3)", served, fired)
	}
	if n := f.api.Count(ecsapi.OpUpdateService); n != 2 {
		t.Errorf("UpdateService calls by the controller = %d, want 2 (one throttled, one landed)", n)
	}
}

// TestCreateServiceConflictReattaches: a CreateService that landed but was answered "not
// idempotent", and one refused with ConflictException, each end with one ECS service, re-attached
// (found by its owner tag), and a Ready Service.
func TestCreateServiceConflictReattaches(t *testing.T) {
	f := startFaultEnv(t)
	notIdempotent := ecsmem.NotIdempotent()
	notIdempotent.Match = func(r *ecsmem.Request) bool { return r.Member("serviceName") == "web" }
	f.ecs.Inject(notIdempotent)
	conflict := ecsmem.Refuse(ecsapi.OpCreateService, ecsmem.CodeConflict, "The service is being created; retry later.", 1)
	conflict.Match = func(r *ecsmem.Request) bool { return r.Member("serviceName") == "api" }
	refused := f.ecs.Inject(conflict)

	cl, td, web := newObjects(f.ns, f.image)
	apiSvc := web.DeepCopy()
	apiSvc.Name = "api"
	webSeen, apiSeen := f.watchConditions(&ecsv1alpha1.ServiceList{}, "web"), f.watchConditions(&ecsv1alpha1.ServiceList{}, "api")
	// The Services are created once their Cluster and TaskDefinition are Ready, so that their first
	// reconcile is the one that calls CreateService: a reconcile that starts from a cache behind
	// the Service's own status write has its status dropped (reconciler: a status patch conflict
	// requeues and recomputes), and the re-attach that follows would leave no Conflict to see.
	f.create(cl, td)
	eventually(t, 60*time.Second, "TaskDefinition Ready", f.ready(td, func() []metav1.Condition { return td.Status.Conditions }))
	eventually(t, 60*time.Second, "Cluster Ready", f.ready(cl, func() []metav1.Condition { return cl.Status.Conditions }))
	f.create(web, apiSvc)
	for _, svc := range []*ecsv1alpha1.Service{web, apiSvc} {
		eventually(t, 60*time.Second, svc.Name+" Ready", f.ready(svc, func() []metav1.Condition { return svc.Status.Conditions }))
	}
	if msg := webSeen.find(ecsv1alpha1.ConditionSynced, metav1.ConditionFalse, "Conflict"); !strings.Contains(msg, "not idempotent") {
		t.Errorf("web never showed Synced=False Conflict with ECS's message; conditions seen: %v", webSeen.all())
	}
	if msg := apiSeen.find(ecsv1alpha1.ConditionSynced, metav1.ConditionFalse, "Conflict"); !strings.Contains(msg, "ConflictException") {
		t.Errorf("api never showed Synced=False Conflict naming ConflictException; conditions seen: %v", apiSeen.all())
	}
	if refused.Fired() != 1 {
		t.Errorf("the ConflictException fault fired %d times, want 1", refused.Fired())
	}
	if n := f.ecs.Served(ecsapi.OpCreateService); n != 2 {
		t.Errorf("CreateService requests that reached the data plane = %d, want 2 (one per service)", n)
	}
	out, err := f.ecs.Client.ListServices(f.ctx, &ecs.ListServicesInput{Cluster: aws.String(f.ns)})
	if err != nil || len(out.ServiceArns) != 2 {
		t.Errorf("ECS services: %v %v, want web and api only", out, err)
	}
	if web.Status.ServiceArn != f.ecs.ARNs.Service(f.ns, "web") {
		t.Errorf("web re-attached to %q", web.Status.ServiceArn)
	}
}

// TestRunTaskFailureSurfaces: RunTask answered with failures (nothing started) and RunTask refused
// with an error each show on the Task as a condition with a reason and ECS's words.
func TestRunTaskFailureSurfaces(t *testing.T) {
	f := startFaultEnv(t)
	cl, td, _ := newObjects(f.ns, f.image)
	f.create(cl, td)
	placed := ecsmem.RunTaskFailures(0, "RESOURCE:MEMORY", "no capacity for 512 MiB")
	placed.Match = func(r *ecsmem.Request) bool { return r.Member("startedBy") == "unplaced" }
	f.ecs.Inject(placed)
	refused := ecsmem.Refuse(ecsapi.OpRunTask, ecsmem.CodeInvalidParameter, "Task definition does not support launch_type FARGATE.", 0)
	refused.Match = func(r *ecsmem.Request) bool { return r.Member("startedBy") == "refused" }
	f.ecs.Inject(refused)

	unplaced, refusedTask := newTask(f.ns, "unplaced"), newTask(f.ns, "refused")
	f.create(unplaced, refusedTask)
	msg := f.hasCondition(unplaced, func() []metav1.Condition { return unplaced.Status.Conditions }, ecsv1alpha1.ConditionReady, metav1.ConditionFalse, "RunTaskFailed")
	if !strings.Contains(msg, "RESOURCE:MEMORY") || !strings.Contains(msg, "no capacity") {
		t.Errorf("RunTaskFailed message %q does not carry the failure", msg)
	}
	msg = f.hasCondition(refusedTask, func() []metav1.Condition { return refusedTask.Status.Conditions }, ecsv1alpha1.ConditionReady, metav1.ConditionFalse, "InvalidSpec")
	if !strings.Contains(msg, "does not support launch_type FARGATE") {
		t.Errorf("InvalidSpec message %q does not carry ECS's message", msg)
	}
	if live := f.ecs.Runtime.Live(); len(live) != 0 {
		t.Errorf("tasks started: %v, want none", live)
	}
}

// TestTaskStartFaults: a task that never starts shows PENDING (and is not run again); one that
// fails to start shows STOPPED with stopCode TaskFailedToStart and the reason.
func TestTaskStartFaults(t *testing.T) {
	f := startFaultEnv(t)
	cl, td, _ := newObjects(f.ns, f.image)
	f.create(cl, td)
	never := f.ecs.InjectStart(ecsmem.NeverStart(ecsmem.Family(td.Spec.Family), 1))
	pending := newTask(f.ns, "pending")
	f.create(pending)
	f.hasCondition(pending, func() []metav1.Condition { return pending.Status.Conditions }, ecsv1alpha1.ConditionReady, metav1.ConditionFalse, "Starting")
	eventually(t, 30*time.Second, "task PENDING", func() (bool, string) {
		f.get(pending)
		return pending.Status.LastStatus == "PENDING", pending.Status.LastStatus
	})
	never.Remove()

	const reason = "CannotPullContainerError: pull access denied for example.com/nodeless/app, repository does not exist"
	f.ecs.InjectStart(ecsmem.FailToStart(ecsmem.Family(td.Spec.Family), 1, reason))
	failed := newTask(f.ns, "failed")
	f.create(failed)
	msg := f.hasCondition(failed, func() []metav1.Condition { return failed.Status.Conditions }, ecsv1alpha1.ConditionReady, metav1.ConditionFalse, "Stopped")
	if failed.Status.StopCode != "TaskFailedToStart" || failed.Status.StoppedReason != reason || !strings.Contains(msg, "CannotPullContainerError") {
		t.Errorf("failed task: stopCode %q, stoppedReason %q, Ready message %q", failed.Status.StopCode, failed.Status.StoppedReason, msg)
	}

	time.Sleep(3 * time.Second)
	f.get(pending)
	if pending.Status.LastStatus != "PENDING" {
		t.Errorf("the task that never starts is %s, want PENDING", pending.Status.LastStatus)
	}
	if n := f.ecs.Served(ecsapi.OpRunTask); n != 2 {
		t.Errorf("RunTask served %d times, want 2 (one per Task, none repeated)", n)
	}
}

// TestSlowDescribeNoDuplicateWrites: with every DescribeServices taking a second, creating,
// scaling and rolling out a Service still makes each write exactly once, and none at rest.
func TestSlowDescribeNoDuplicateWrites(t *testing.T) {
	f := startFaultEnv(t)
	f.ecs.Inject(ecsmem.Slow(ecsapi.OpDescribeServices, time.Second))
	td, svc := f.readyService()
	wantServed := func(what string, want map[string]int) {
		t.Helper()
		for op, n := range want {
			if got := f.ecs.Served(op); got != n {
				t.Errorf("%s: %s served %d times, want %d", what, op, got, n)
			}
		}
	}
	wantServed("create", map[string]int{ecsapi.OpCreateCluster: 1, ecsapi.OpRegisterTaskDefinition: 1, ecsapi.OpCreateService: 1, ecsapi.OpUpdateService: 0})

	f.scale(svc, 3)
	time.Sleep(3 * time.Second)
	wantServed("scale", map[string]int{ecsapi.OpUpdateService: 1})

	f.get(td)
	td.Spec.ContainerDefinitions[0].Environment[0].Value = "2"
	if err := f.c.Update(f.ctx, td); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "revision 2 rolled out", func() (bool, string) {
		ok, state := f.ready(svc, func() []metav1.Condition { return svc.Status.Conditions })()
		return ok && svc.Status.Revision == 2, state
	})
	f.api.Reset()
	time.Sleep(5 * time.Second)
	wantServed("rollout", map[string]int{ecsapi.OpRegisterTaskDefinition: 2, ecsapi.OpUpdateService: 2, ecsapi.OpCreateService: 1})
	if w := f.api.Writes(); w != 0 {
		t.Errorf("writes at rest = %d, want 0 (%v)", w, f.api.Calls())
	}
}

// newTask is a Task of TaskDefinition web on Cluster c1 whose startedBy is its name.
func newTask(ns, name string) *ecsv1alpha1.Task {
	return &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: ecsv1alpha1.TaskSpec{
		ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "c1"}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
		LaunchType: "FARGATE", StartedBy: name,
	}}
}
