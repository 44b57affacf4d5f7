package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

// scenario is the CRUD scenario every ECS endpoint must pass: create a Cluster, a TaskDefinition
// and a Service on it; steady state; a new revision rolled out once; a controller restart; a
// retained and a deleted Service; old revisions deregistered.
type scenario struct {
	t *testing.T
	// image every container runs; wantReady: the endpoint really runs tasks, so Services must
	// become Ready (moto never starts any).
	image     string
	wantReady bool
	c         client.Client
	// beforeDelete runs before the Services are deleted.
	beforeDelete func()
	ns           string
	api          *ecsapi.Counting
	// wire, when set, counts the calls that reached ECS; the scenario's call counts then come from
	// it rather than from api, which also counts the calls a stopping controller makes with a
	// cancelled context (they never reach ECS).
	wire callCounter
	ctx  context.Context
}

// callCounter counts ECS calls by operation; *ecsapi.Counting is one.
type callCounter interface {
	Calls() map[string]int
	Writes() int
	Reset()
}

// counts is what the scenario's call counts come from: wire if set, else api.
func (s *scenario) counts() callCounter {
	if s.wire != nil {
		return s.wire
	}
	return s.api
}

func (s *scenario) get(obj client.Object) {
	s.t.Helper()
	if err := s.c.Get(s.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		s.t.Fatalf("getting %s: %v", obj.GetName(), err)
	}
}

func (s *scenario) ready(obj client.Object, conds func() []metav1.Condition) func() (bool, string) {
	return func() (bool, string) {
		if err := s.c.Get(s.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err.Error()
		}
		for _, c := range conds() {
			if c.Type == ecsv1alpha1.ConditionReady {
				return c.Status == metav1.ConditionTrue, fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return false, "no Ready condition"
	}
}

func (s *scenario) synced(obj client.Object, conds func() []metav1.Condition) func() (bool, string) {
	return func() (bool, string) {
		if err := s.c.Get(s.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err.Error()
		}
		for _, c := range conds() {
			if c.Type == ecsv1alpha1.ConditionSynced {
				return c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration(),
					fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return false, "no Synced condition"
	}
}

func (s *scenario) gone(obj client.Object) func() (bool, string) {
	return func() (bool, string) {
		err := s.c.Get(s.ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), fmt.Sprintf("finalizers %v", obj.GetFinalizers())
	}
}

func (s *scenario) ecsServiceStatus(cluster, name string) string {
	out, err := s.api.DescribeServices(s.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil || len(out.Services) == 0 {
		return "MISSING"
	}
	return aws.ToString(out.Services[0].Status)
}

func newObjects(ns, image string) (*ecsv1alpha1.Cluster, *ecsv1alpha1.TaskDefinition, *ecsv1alpha1.Service) {
	cl := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", Namespace: ns},
		Spec: ecsv1alpha1.ClusterSpec{ClusterName: ns}}
	td := &ecsv1alpha1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: ecsv1alpha1.TaskDefinitionSpec{
			Family: ns + "-web", Cpu: "256", Memory: "512", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
			ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "app", Image: image,
				Environment: []ecsv1alpha1.KeyValuePair{{Name: "REV", Value: "1"}}}},
		}}
	svc := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: ecsv1alpha1.ServiceSpec{
			ClusterRef:        &ecsv1alpha1.LocalObjectReference{Name: "c1"},
			TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
			DesiredCount:      aws.Int32(2),
		}}
	return cl, td, svc
}

func (s *scenario) run(start func() (stop func())) {
	stop := start()
	cl, td, svc := newObjects(s.ns, s.image)
	s.create(cl, td, svc)
	s.steadyState()
	s.rollout(td, svc)
	// Restart the controllers: nothing is written again.
	stop()
	s.counts().Reset()
	stop = start()
	time.Sleep(5 * time.Second)
	if w := s.counts().Writes(); w != 0 {
		s.t.Errorf("writes after a restart = %d, want 0 (%v)", w, s.counts().Calls())
	}
	s.t.Logf("calls in the 5 s after a restart: %v", s.counts().Calls())
	stop = s.collectRevisions(td, svc, stop, start)
	s.deleteAndRetain(td, svc)
	stop()
}

func (s *scenario) create(cl *ecsv1alpha1.Cluster, td *ecsv1alpha1.TaskDefinition, svc *ecsv1alpha1.Service) {
	t := s.t
	for _, obj := range []client.Object{cl, td, svc} {
		if err := s.c.Create(s.ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	clConds := func() []metav1.Condition { return cl.Status.Conditions }
	tdConds := func() []metav1.Condition { return td.Status.Conditions }
	svcConds := func() []metav1.Condition { return svc.Status.Conditions }
	eventually(t, 30*time.Second, "Cluster Ready", s.ready(cl, clConds))
	eventually(t, 30*time.Second, "TaskDefinition Ready", s.ready(td, tdConds))
	eventually(t, 30*time.Second, "Service synced", s.synced(svc, svcConds))
	if s.wantReady {
		eventually(t, 90*time.Second, "Service Ready", s.ready(svc, svcConds))
	}
	if svc.Status.ServiceArn == "" || svc.Status.AppliedTaskDefinition != td.Status.TaskDefinitionArn {
		t.Fatalf("service status %+v, want ARN and applied %s", svc.Status, td.Status.TaskDefinitionArn)
	}
	created := s.counts().Calls()
	t.Logf("calls to converge 1 cluster, 1 task definition, 1 service: %v", created)
	for _, op := range []string{ecsapi.OpCreateCluster, ecsapi.OpRegisterTaskDefinition, ecsapi.OpCreateService} {
		if created[op] != 1 {
			t.Errorf("%s calls = %d, want 1", op, created[op])
		}
	}
}

// steadyState: resyncs every second; 10 of them make no write.
func (s *scenario) steadyState() {
	s.counts().Reset()
	time.Sleep(10 * time.Second)
	if w := s.counts().Writes(); w != 0 {
		s.t.Errorf("writes at steady state over 10 resyncs = %d, want 0 (%v)", w, s.counts().Calls())
	}
	s.t.Logf("calls at steady state over 10 s (10 resyncs): %v", s.counts().Calls())
}

// rollout: a new revision costs one register and one update.
func (s *scenario) rollout(td *ecsv1alpha1.TaskDefinition, svc *ecsv1alpha1.Service) {
	t := s.t
	s.counts().Reset()
	s.get(td)
	td.Spec.ContainerDefinitions[0].Environment[0].Value = "2"
	if err := s.c.Update(s.ctx, td); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "revision 2", func() (bool, string) {
		s.get(td)
		s.get(svc)
		return td.Status.Revision == 2 && svc.Status.AppliedTaskDefinition == td.Status.TaskDefinitionArn,
			fmt.Sprintf("td revision %d, service applied %s", td.Status.Revision, svc.Status.AppliedTaskDefinition)
	})
	if s.wantReady {
		svcConds := func() []metav1.Condition { return svc.Status.Conditions }
		eventually(t, 120*time.Second, "rollout of revision 2 complete", func() (bool, string) {
			ok, state := s.ready(svc, svcConds)()
			return ok && svc.Status.Revision == td.Status.Revision && svc.Status.RolloutState == ecsv1alpha1.RolloutCompleted, state
		})
	}
	time.Sleep(3 * time.Second)
	calls := s.counts().Calls()
	if calls[ecsapi.OpRegisterTaskDefinition] != 1 || calls[ecsapi.OpUpdateService] != 1 {
		t.Errorf("calls for one spec change: %v, want exactly one RegisterTaskDefinition and one UpdateService", calls)
	}
}

// collectRevisions: two more revisions, the first across a controller restart right after the
// spec change (still exactly one register and one update); with KeepRevisions 2, older
// revisions go once unused. It returns the stop of the controllers now running.
func (s *scenario) collectRevisions(td *ecsv1alpha1.TaskDefinition, svc *ecsv1alpha1.Service, stop func(), start func() func()) func() {
	t := s.t
	for _, rev := range []string{"3", "4"} {
		s.counts().Reset()
		s.get(td)
		td.Spec.ContainerDefinitions[0].Environment[0].Value = rev
		if err := s.c.Update(s.ctx, td); err != nil {
			t.Fatal(err)
		}
		if rev == "3" {
			time.Sleep(20 * time.Millisecond)
			stop()
			stop = start()
		}
		want := td.Generation
		eventually(t, 30*time.Second, "rollout of revision "+rev, func() (bool, string) {
			s.get(td)
			s.get(svc)
			return td.Status.ObservedGeneration == want && svc.Status.AppliedTaskDefinition == td.Status.TaskDefinitionArn, svc.Status.AppliedTaskDefinition
		})
		time.Sleep(2 * time.Second)
		if calls := s.counts().Calls(); calls[ecsapi.OpRegisterTaskDefinition] != 1 || calls[ecsapi.OpUpdateService] != 1 {
			t.Errorf("revision %s: calls %v, want exactly one RegisterTaskDefinition and one UpdateService", rev, calls)
		}
	}
	// Keep 2 (3 and 4); older ones go unless a deployment of the Service still runs them (moto
	// never replaces a service's first deployment, so revision 1 stays in use there).
	eventually(t, 30*time.Second, "old revisions deregistered", func() (bool, string) {
		s.get(td)
		s.get(svc)
		inUse := map[string]bool{}
		for _, d := range svc.Status.Deployments {
			inUse[d.TaskDefinition] = true
		}
		for _, r := range td.Status.ActiveRevisions[:len(td.Status.ActiveRevisions)-2] {
			if !inUse[r.TaskDefinitionArn] {
				return false, fmt.Sprintf("revision %d kept though unused; active %v", r.Revision, td.Status.ActiveRevisions)
			}
		}
		return true, ""
	})
	t.Logf("active revisions: %v", td.Status.ActiveRevisions)
	return stop
}

// deleteAndRetain: a retained ECS service outlives its object, a deleted one does not.
func (s *scenario) deleteAndRetain(td *ecsv1alpha1.TaskDefinition, svc *ecsv1alpha1.Service) {
	t := s.t
	kept := svc.DeepCopy()
	kept.ObjectMeta = metav1.ObjectMeta{Name: "kept", Namespace: s.ns, Annotations: map[string]string{ecsv1alpha1.AnnotationDeletionPolicy: "retain"}}
	kept.Status = ecsv1alpha1.ServiceStatus{}
	if err := s.c.Create(s.ctx, kept); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "kept synced", s.synced(kept, func() []metav1.Condition { return kept.Status.Conditions }))
	if s.beforeDelete != nil {
		s.beforeDelete()
	}
	for _, obj := range []client.Object{kept, svc} {
		if err := s.c.Delete(s.ctx, obj); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, obj.GetName()+" deleted", s.gone(obj))
	}
	if st := s.ecsServiceStatus(s.ns, "kept"); st != "ACTIVE" {
		t.Errorf("retained service is %s, want ACTIVE", st)
	}
	if st := s.ecsServiceStatus(s.ns, "web"); st == "ACTIVE" {
		t.Errorf("deleted service is still ACTIVE")
	}
	if err := s.c.Delete(s.ctx, td); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "task definition deleted", s.gone(td))
}

// TestLifecycleMoto runs the scenario against moto_server.
func TestLifecycleMoto(t *testing.T) {
	c, env := kube(t)
	sdk, wire := ecstest.WireClient(t, ecstest.StartMoto(t))
	api := ecsapi.NewCounting(sdk)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, wire: wire, ctx: context.Background(), image: "nginx:1"}
	s.run(func() func() { return runControllers(t, env, api) })
}
