package service

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

type motoEnv struct {
	api  *ecsapi.Counting
	arns []string
}

func startMoto(t *testing.T, revisions int) *motoEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	env := &motoEnv{api: ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))}
	ctx := context.Background()
	if _, err := env.api.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	for i := range revisions {
		out, err := env.api.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web"), Cpu: aws.String("256"), Memory: aws.String("512"),
			NetworkMode:             ecstypes.NetworkModeAwsvpc,
			RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String(fmt.Sprintf("nginx:%d", i+1)), Essential: aws.Bool(true),
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		env.arns = append(env.arns, aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	}
	env.api.Reset()
	return env
}

func (e *motoEnv) reconciler() *Reconciler {
	return NewReconciler(nil, e.api, record.NewFakeRecorder(1000), managed.Options{}.WithDefaults())
}

func newService(name, td string) *ecsv1alpha1.Service {
	return &ecsv1alpha1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Generation: 1},
		Spec: ecsv1alpha1.ServiceSpec{
			// moto checks subnets against its EC2 mock, so no networkConfiguration here.
			Cluster: "c1", TaskDefinition: td, DesiredCount: aws.Int32(2), LaunchType: "FARGATE",
		},
	}
}

func syncN(t *testing.T, r *Reconciler, svc *ecsv1alpha1.Service, n int) {
	t.Helper()
	for range n {
		if p := r.Sync(context.Background(), svc); p != nil {
			t.Fatalf("sync: %v", p)
		}
	}
}

// TestServiceCRUDMoto runs create, steady state, rollout to a new revision, restarts (with and
// without status) and delete against moto_server, counting every ECS call.
func TestServiceCRUDMoto(t *testing.T) {
	env := startMoto(t, 2)
	r := env.reconciler()
	svc := newService("web", env.arns[0])

	syncN(t, r, svc, 1)
	if got := env.api.Count(ecsapi.OpCreateService); got != 1 {
		t.Fatalf("CreateService calls = %d, want 1", got)
	}
	if svc.Status.ServiceArn == "" || svc.Status.DesiredCount != 2 || svc.Status.AppliedTaskDefinition != env.arns[0] {
		t.Fatalf("status after create: %+v", svc.Status)
	}

	env.api.Reset()
	syncN(t, r, svc, 10)
	if diff := cmp.Diff(map[string]int{}, env.api.Calls()); diff != "" {
		t.Errorf("calls over 10 resyncs (-want +got):\n%s", diff)
	}

	// A spec member equal to the ECS default (late-initialised) causes no write.
	svc.Spec.DeploymentConfiguration = &ecsv1alpha1.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}
	syncN(t, r, svc, 3)
	if got := env.api.Writes(); got != 0 {
		t.Errorf("writes with defaults spelled out = %d, want 0 (%v)", got, env.api.Calls())
	}

	// Rollout to revision 2: exactly one UpdateService.
	env.api.Reset()
	svc.Spec.TaskDefinition = env.arns[1]
	syncN(t, r, svc, 10)
	if diff := cmp.Diff(map[string]int{ecsapi.OpUpdateService: 1}, env.api.Calls()); diff != "" {
		t.Errorf("calls for one revision change (-want +got):\n%s", diff)
	}
	if svc.Status.TaskDefinition != env.arns[1] || svc.Status.Revision != 2 {
		t.Errorf("status after rollout: taskDefinition %s revision %d", svc.Status.TaskDefinition, svc.Status.Revision)
	}

	// A restarted controller (empty poller): one read, no write.
	env.api.Reset()
	r = env.reconciler()
	syncN(t, r, svc, 10)
	if diff := cmp.Diff(map[string]int{ecsapi.OpDescribeServices: 1}, env.api.Calls()); diff != "" {
		t.Errorf("calls after a restart (-want +got):\n%s", diff)
	}

	// A crash between CreateService and the status write: the service is found by name and
	// recognised by its owner tag, never created twice.
	env.api.Reset()
	r = env.reconciler()
	svc.Status = ecsv1alpha1.ServiceStatus{}
	syncN(t, r, svc, 3)
	if got := env.api.Count(ecsapi.OpCreateService); got != 0 {
		t.Errorf("CreateService after a lost status = %d, want 0", got)
	}
	if svc.Status.ServiceArn == "" {
		t.Errorf("status not re-attached: %+v", svc.Status)
	}

	// Delete: scale to 0, then delete.
	env.api.Reset()
	if p := r.deleteService(context.Background(), svc); p != nil {
		t.Fatalf("delete: %v", p)
	}
	want := map[string]int{ecsapi.OpDescribeServices: 1, ecsapi.OpUpdateService: 1, ecsapi.OpDeleteService: 1}
	if diff := cmp.Diff(want, env.api.Calls()); diff != "" {
		t.Errorf("calls to delete (-want +got):\n%s", diff)
	}
	out, err := env.api.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) == 1 && aws.ToString(out.Services[0].Status) == "ACTIVE" {
		t.Errorf("service still ACTIVE after delete")
	}
}

// TestNameTakenMoto: an ECS service of the same name that nodeless did not create is not taken
// over without the adoption annotation, and is with it.
func TestNameTakenMoto(t *testing.T) {
	env := startMoto(t, 1)
	ctx := context.Background()
	_, err := env.api.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c1"), ServiceName: aws.String("legacy"), TaskDefinition: aws.String(env.arns[0]), DesiredCount: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := env.reconciler()
	svc := newService("legacy", env.arns[0])
	p := r.Sync(ctx, svc)
	if p == nil || p.Reason != managed.ReasonNameTaken {
		t.Fatalf("sync of a foreign service: got %v, want reason %s", p, managed.ReasonNameTaken)
	}
	// Adopted with a launch type other than the service's (moto's default is EC2): refused by name,
	// not ignored.
	svc.Annotations = map[string]string{ecsv1alpha1.AnnotationAdopt: "legacy"}
	p = r.Sync(ctx, svc)
	if p == nil || p.Reason != inplace.ReasonRecreateRequired || !strings.Contains(p.Message, "spec.launchType") {
		t.Fatalf("adopting an EC2 service as FARGATE: got %v, want reason %s naming spec.launchType", p, inplace.ReasonRecreateRequired)
	}
	env.api.Reset()
	svc.Spec.LaunchType = ""
	syncN(t, r, svc, 3)
	// Adopted: desiredCount 1 -> 2 is the one write.
	if diff := cmp.Diff(map[string]int{ecsapi.OpUpdateService: 1}, env.api.Calls()); diff != "" {
		t.Errorf("calls to adopt (-want +got):\n%s", diff)
	}
}

// TestPollerBatchesMoto: 25 services in one cluster are described in 3 calls.
func TestPollerBatchesMoto(t *testing.T) {
	env := startMoto(t, 1)
	r := env.reconciler()
	for i := range 25 {
		syncN(t, r, newService(fmt.Sprintf("s%02d", i), env.arns[0]), 1)
	}
	env.api.Reset()
	r.Poller.Invalidate(types.NamespacedName{}) // no-op for unknown keys
	for i := range 25 {
		r.Poller.Invalidate(types.NamespacedName{Namespace: "default", Name: fmt.Sprintf("s%02d", i)})
	}
	r.Poller.Poll(context.Background())
	if diff := cmp.Diff(map[string]int{ecsapi.OpDescribeServices: 3}, env.api.Calls()); diff != "" {
		t.Errorf("calls to poll 25 services (-want +got):\n%s", diff)
	}
}

// TestReadOnlyMoto: a read-only Service mirrors ECS and never writes, even when its spec differs.
func TestReadOnlyMoto(t *testing.T) {
	env := startMoto(t, 1)
	ctx := context.Background()
	_, err := env.api.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c1"), ServiceName: aws.String("legacy"), TaskDefinition: aws.String(env.arns[0]), DesiredCount: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	env.api.Reset()
	r := env.reconciler()
	svc := newService("legacy", env.arns[0])
	svc.Annotations = map[string]string{ecsv1alpha1.AnnotationAdopt: "legacy", ecsv1alpha1.AnnotationReadOnly: "true"}
	for range 3 {
		// The difference is reported (Synced False), not applied.
		p := r.Sync(ctx, svc)
		if p == nil || p.Reason != managed.ReasonReadOnly || !strings.Contains(p.Message, "spec.desiredCount differs") {
			t.Fatalf("sync of a read-only Service whose desiredCount differs: %v, want reason %s naming spec.desiredCount", p, managed.ReasonReadOnly)
		}
	}
	if w := env.api.Writes(); w != 0 {
		t.Errorf("writes in read-only mode = %d, want 0 (%v)", w, env.api.Calls())
	}
	if svc.Status.DesiredCount != 1 || svc.Status.ServiceArn == "" {
		t.Errorf("status not mirrored: %+v", svc.Status)
	}

	missing := newService("missing", env.arns[0])
	missing.Spec.Cluster = "nope"
	p := r.Sync(ctx, missing)
	if p == nil || p.Reason != ecscall.ReasonNotFound {
		t.Errorf("service in a missing cluster: %v, want reason %s", p, ecscall.ReasonNotFound)
	}
}
