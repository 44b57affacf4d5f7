package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/controllertest"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// TestClusterTaskDefinitionDefaults: one TaskDefinition without executionRoleArn and with an
// awslogs container naming no group, used by Services in three clusters: one whose Cluster sets
// spec.defaults.executionRoleArn and logGroup, one that sets only executionRoleArn, one without
// defaults. Each Service runs a revision completed by its own Cluster's defaults, member by
// member before the controller's flags (manifest > Cluster > flag), and ECS reports them; two
// Services of one cluster share its revision; the revisions are registered once each and stay
// put however often the objects are reconciled (no flip-flop between the clusters' revisions);
// changing one Cluster's defaults registers one revision and rolls only that cluster's Service.
func TestClusterTaskDefinitionDefaults(t *testing.T) {
	c, env := kube(t)
	e := ecsmem.Start(t, ecsmem.Options{})
	api := ecsapi.NewCounting(e.Client)
	const (
		flagRole = "arn:aws:iam::000000000000:role/flag-exec"
		roleA    = "arn:aws:iam::000000000000:role/a-exec"
		roleB    = "arn:aws:iam::000000000000:role/b-exec"
		roleB2   = "arn:aws:iam::000000000000:role/b-exec-2"
	)
	controllertest.Run(t, controller.Config{
		RestConfig: env.Config, ECS: api, Limits: controller.NoRateLimit(),
		Controllers: managed.Options{
			PollInterval: 300 * time.Millisecond, StablePollInterval: 2 * time.Second,
			Defaults: fargate.Defaults{ExecutionRoleArn: flagRole, LogGroup: "/flag"},
		},
		SyncPeriod: time.Second, Namespaces: []string{env.Namespace}, AllowRestart: true,
	})
	f := &faultEnv{scenario: &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: testImage}, ecs: e, cfg: env.Config}
	ns := env.Namespace

	cluster := func(name string, d *ecsv1alpha1.ClusterDefaults) *ecsv1alpha1.Cluster {
		return &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: ecsv1alpha1.ClusterSpec{ClusterName: ns + "-" + name, Defaults: d}}
	}
	service := func(name, cl string) *ecsv1alpha1.Service {
		return &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: ecsv1alpha1.ServiceSpec{
			ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: cl}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
			DesiredCount: aws.Int32(1)}}
	}
	td := &ecsv1alpha1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: ecsv1alpha1.TaskDefinitionSpec{
		Family: ns + "-web", Cpu: "256", Memory: "512", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
		ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "app", Image: testImage,
			LogConfiguration: &ecsv1alpha1.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-region": "us-east-1"}}}},
	}}
	clA := cluster("a", &ecsv1alpha1.ClusterDefaults{LogGroup: "/a",
		ClusterDefaultsAliases: ecsv1alpha1.ClusterDefaultsAliases{ExecutionRoleARN: roleA}}) // in the other controller's spelling
	clB := cluster("b", &ecsv1alpha1.ClusterDefaults{ExecutionRoleArn: roleB})
	clC := cluster("c", nil)
	svcs := map[string]*ecsv1alpha1.Service{"a1": service("a1", "a"), "a2": service("a2", "a"), "b": service("b", "b"), "c": service("c", "c")}
	f.create(clA, clB, clC, td, svcs["a1"], svcs["a2"], svcs["b"], svcs["c"])

	// What each Service's ECS service runs: executionRoleArn and the container's awslogs-group.
	want := map[string][2]string{"a1": {roleA, "/a"}, "a2": {roleA, "/a"}, "b": {roleB, "/flag"}, "c": {flagRole, "/flag"}}
	arns := f.runs(svcs, want)
	if arns["a1"] != arns["a2"] {
		t.Errorf("the Services of Cluster a run %s and %s, want one revision", arns["a1"], arns["a2"])
	}
	if err := c.Get(f.ctx, client.ObjectKeyFromObject(td), td); err != nil {
		t.Fatal(err)
	}
	if arns["c"] != td.Status.TaskDefinitionArn {
		t.Errorf("the Service of Cluster c (no defaults) runs %s, want the newest revision %s", arns["c"], td.Status.TaskDefinitionArn)
	}
	got := map[string]string{}
	for _, cr := range td.Status.ClusterRevisions {
		got[cr.Cluster] = fmt.Sprintf("%s %s %s", cr.ExecutionRoleArn, cr.LogGroup, cr.TaskDefinitionArn)
	}
	if w := map[string]string{"a": roleA + " /a " + arns["a1"], "b": roleB + "  " + arns["b"]}; fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("status.clusterRevisions = %v, want %v", got, w)
	}
	if n := api.Count("RegisterTaskDefinition"); n != 3 {
		t.Errorf("RegisterTaskDefinition called %d times, want 3 (the newest revision, Cluster a's, Cluster b's)", n)
	}

	// Reconciled again and again (SyncPeriod 1 s): nothing is registered or rolled.
	api.Reset()
	time.Sleep(4 * time.Second)
	if n := api.Count("RegisterTaskDefinition") + api.Count("UpdateService"); n != 0 {
		t.Errorf("at rest: %d RegisterTaskDefinition/UpdateService calls, want 0 (%v)", n, api.Calls())
	}

	// Cluster b's role changes: one revision registered, Service b rolls to it, a and c stay.
	// The controller writes the Cluster's status meanwhile (its counts follow the services).
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(f.ctx, client.ObjectKeyFromObject(clB), clB); err != nil {
			return err
		}
		clB.Spec.Defaults.ExecutionRoleArn = roleB2
		return c.Update(f.ctx, clB)
	}); err != nil {
		t.Fatal(err)
	}
	want["b"] = [2]string{roleB2, "/flag"}
	after := f.runs(svcs, want)
	for _, s := range []string{"a1", "a2", "c"} {
		if after[s] != arns[s] {
			t.Errorf("Service %s moved from %s to %s when Cluster b's defaults changed", s, arns[s], after[s])
		}
	}
	if n := api.Count("RegisterTaskDefinition"); n != 1 {
		t.Errorf("RegisterTaskDefinition called %d times after Cluster b's change, want 1", n)
	}
}

// runs waits until every Service runs a revision with the execution role and log group want
// gives for it (ECS's DescribeTaskDefinition) and returns the ARN each runs.
func (f *faultEnv) runs(svcs map[string]*ecsv1alpha1.Service, want map[string][2]string) map[string]string {
	f.t.Helper()
	arns := map[string]string{}
	for name, svc := range svcs {
		eventually(f.t, 60*time.Second, "Service "+name+" runs its cluster's revision", func() (bool, string) {
			if err := f.c.Get(f.ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
				return false, err.Error()
			}
			arn := svc.Status.AppliedTaskDefinition
			if arn == "" {
				return false, fmt.Sprintf("no applied task definition yet (conditions %v)", svc.Status.Conditions)
			}
			out, err := f.ecs.Client.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
			if err != nil {
				return false, err.Error()
			}
			got := [2]string{aws.ToString(out.TaskDefinition.ExecutionRoleArn), out.TaskDefinition.ContainerDefinitions[0].LogConfiguration.Options["awslogs-group"]}
			arns[name] = arn
			return got == want[name], fmt.Sprintf("runs %s with executionRoleArn and awslogs-group %q, want %q", arn, got, want[name])
		})
	}
	return arns
}
