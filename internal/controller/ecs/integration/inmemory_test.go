package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// testImage is the image of the in-memory ECS's tasks: its fake runtime never pulls it.
const testImage = "example.com/nodeless/app:1"

// inMemory starts an in-memory ECS (the data plane's API server and scheduler over the fake
// runtime) and returns it with the counting client the controllers are given.
func inMemory(t *testing.T) (*ecsmem.ECS, *ecsapi.Counting) {
	t.Helper()
	e := ecsmem.Start(t, ecsmem.Options{})
	return e, ecsapi.NewCounting(e.Client)
}

// TestLifecycleInMemory runs the scenario against the in-memory ECS: the data plane's own API
// and scheduler, tasks "running" in its fake runtime. Services must become Ready and roll out,
// without root, containerd or moto.
func TestLifecycleInMemory(t *testing.T) {
	c, env := kube(t)
	e, api := inMemory(t)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, wire: e.Wire(), ctx: context.Background(), image: testImage, wantReady: true}
	s.beforeDelete = func() { s.checkEventsOnce("web") }
	s.run(func() func() { return runControllers(t, env, api) })
}

// TestTaskInMemory runs the Task scenario on the in-memory ECS; the job's container exits 3 in the
// fake runtime.
func TestTaskInMemory(t *testing.T) {
	c, env := kube(t)
	e, api := inMemory(t)
	runControllers(t, env, api)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, wire: e.Wire(), ctx: context.Background(), image: testImage}
	s.tasks(func(arn string) { e.Runtime.Exit(arn[strings.LastIndexByte(arn, '/')+1:], "app", 3) })
}

// TestAdoptionInMemory runs the adoption scenario on the in-memory ECS.
func TestAdoptionInMemory(t *testing.T) {
	c, env := kube(t)
	_, api := inMemory(t)
	adoption(t, c, env, api)
}

// TestClusterInMemory: adopting a cluster that does not exist is refused with a reason; deleting a
// Cluster that still runs a Service waits, saying why, and completes once the Service is gone.
func TestClusterInMemory(t *testing.T) {
	f := startFaultEnv(t)
	adopted := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "adopted", Namespace: f.ns,
		Annotations: map[string]string{ecsv1alpha1.AnnotationAdopt: "nope"}}}
	f.create(adopted)
	msg := f.hasCondition(adopted, func() []metav1.Condition { return adopted.Status.Conditions }, ecsv1alpha1.ConditionReady, metav1.ConditionFalse, "AdoptedResourceNotFound")
	if !strings.Contains(msg, `"nope"`) {
		t.Errorf("AdoptedResourceNotFound message %q does not name the cluster", msg)
	}
	if n := f.ecs.Served(ecsapi.OpCreateCluster); n != 0 {
		t.Errorf("CreateCluster served %d times for an adopted cluster, want 0", n)
	}

	_, svc := f.readyService()
	cl := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", Namespace: f.ns}}
	f.get(cl)
	if err := f.c.Delete(f.ctx, cl); err != nil {
		t.Fatal(err)
	}
	msg = f.hasCondition(cl, func() []metav1.Condition { return cl.Status.Conditions }, ecsv1alpha1.ConditionReady, metav1.ConditionFalse, "Deleting")
	if !strings.Contains(msg, "ClusterContainsServicesException") || !strings.Contains(msg, "delete the Services") {
		t.Errorf("Deleting message %q does not say what is in the way", msg)
	}
	if err := f.c.Delete(f.ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "Cluster deleted once its Service is gone", f.gone(cl))
	out, err := f.ecs.Client.DescribeClusters(f.ctx, &ecs.DescribeClustersInput{Clusters: []string{f.ns}})
	if err != nil || len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].Status) != "INACTIVE" {
		t.Errorf("ECS cluster after delete: %v %+v, want INACTIVE", err, out)
	}
}

// TestReadOnlyInMemory: a read-only Service mirrors the ECS service it adopts and never writes,
// though its spec differs; a Service naming a cluster ECS does not have says NotFound.
func TestReadOnlyInMemory(t *testing.T) {
	f := startFaultEnv(t)
	ctx := f.ctx
	if _, err := f.ecs.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("legacy")}); err != nil {
		t.Fatal(err)
	}
	td, err := f.ecs.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("legacy"),
		Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(testImage)}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	if _, err := f.ecs.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("legacy"), ServiceName: aws.String("legacy"),
		TaskDefinition: aws.String(arn), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	f.ecs.Wire().Reset()
	svc := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: f.ns, Annotations: map[string]string{
		ecsv1alpha1.AnnotationAdopt: "legacy", ecsv1alpha1.AnnotationReadOnly: "true"}},
		Spec: ecsv1alpha1.ServiceSpec{Cluster: "legacy", TaskDefinition: arn, DesiredCount: aws.Int32(3)}}
	missing := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "missing", Namespace: f.ns},
		Spec: ecsv1alpha1.ServiceSpec{Cluster: "nope", TaskDefinition: arn, DesiredCount: aws.Int32(1)}}
	f.create(svc, missing)
	eventually(t, 30*time.Second, "read-only Service mirrored", func() (bool, string) {
		f.get(svc)
		return svc.Status.ServiceArn != "" && svc.Status.DesiredCount == 1 && svc.Status.RunningCount == 1, fmt.Sprintf("%+v", svc.Status)
	})
	msg := f.hasCondition(missing, func() []metav1.Condition { return missing.Status.Conditions }, ecsv1alpha1.ConditionSynced, metav1.ConditionFalse, "NotFound")
	if !strings.Contains(msg, "ClusterNotFoundException") {
		t.Errorf("NotFound message %q does not carry ECS's error", msg)
	}
	time.Sleep(2 * time.Second)
	if w := f.ecs.Wire().Writes(); w != 0 {
		t.Errorf("writes at the wire = %d, want 0 (%v)", w, f.ecs.Wire().Calls())
	}
}
