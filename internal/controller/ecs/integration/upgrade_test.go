package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/task"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// These tests hold the upgrade from a nodeless that spelled the status ARNs taskARN, clusterARN,
// serviceARN and taskDefinitionARN (before the status rename) to this one: an object stored then
// keeps its ECS resource, which is neither created again nor left behind when the object is
// deleted. Task and Cluster keep their old members as deprecated ones (api/ecs/v1alpha1,
// deprecated.go); a Service's old members are pruned and it finds its service by name and owner
// tag; a TaskDefinition's are pruned and it rebuilds its ARNs from its family.

var taskResource = ecsv1alpha1.GroupVersion.WithResource("tasks")

// TestDeprecatedStatusMembersOnAPIServer: two status members whose names differ only in case
// (taskARN, taskArn) are two members for the real kube-apiserver: a strict merge patch and a strict
// server-side apply of the status accept both (while a duplicate or a case the schema does not
// name is refused, so the checks are on), the typed client reads each into its own field, and
// kubectl get -o yaml prints both.
func TestDeprecatedStatusMembersOnAPIServer(t *testing.T) {
	c, env := kube(t)
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tasks := dyn.Resource(taskResource).Namespace(env.Namespace)
	job := &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: env.Namespace},
		Spec: ecsv1alpha1.TaskSpec{TaskDefinition: "web"}}
	if err := c.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	strict := metav1.PatchOptions{FieldValidation: metav1.FieldValidationStrict}
	mergeStatus := func(body string) error {
		_, err := tasks.Patch(ctx, "job", types.MergePatchType, []byte(body), strict, "status")
		return err
	}

	if err := mergeStatus(`{"status":{"taskARN":"arn:old","taskArn":"arn:new","clusterARN":"c-old"}}`); err != nil {
		t.Fatalf("strict merge patch of taskARN and taskArn: %v", err)
	}
	errContains(t, mergeStatus(`{"status":{"taskArn":"a","taskArn":"b"}}`), "duplicate field", "taskArn")
	errContains(t, mergeStatus(`{"status":{"taskarn":"a"}}`), "unknown field", "status.taskarn")

	apply := `{"apiVersion":"ecs.nodeless.dev/v1alpha1","kind":"Task","metadata":{"name":"job"},` +
		`"status":{"taskARN":"arn:applied-old","taskArn":"arn:applied-new"}}`
	got, err := tasks.Patch(ctx, "job", types.ApplyPatchType, []byte(apply),
		metav1.PatchOptions{FieldManager: "upgrade-test", Force: ptr.To(true), FieldValidation: metav1.FieldValidationStrict}, "status")
	if err != nil {
		t.Fatalf("strict server-side apply of taskARN and taskArn: %v", err)
	}
	if fields := managedStatusFields(t, got, "upgrade-test"); !strings.Contains(fields, `"f:taskARN"`) || !strings.Contains(fields, `"f:taskArn"`) {
		t.Errorf("managed fields of the apply do not hold both members: %s", fields)
	}

	if err := c.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
		t.Fatal(err)
	}
	want := [3]string{"arn:applied-old", "arn:applied-new", "c-old"}
	if got := [3]string{job.Status.DeprecatedTaskARN, job.Status.TaskArn, job.Status.DeprecatedClusterARN}; got != want {
		t.Errorf("typed client: taskARN, taskArn, clusterARN = %q, want %q", got, want)
	}
	yaml := kubectl(t, env.Kubeconfig, "get", "tasks.ecs.nodeless.dev", "job", "-n", env.Namespace, "-o", "yaml")
	for _, line := range []string{"taskARN: arn:applied-old", "taskArn: arn:applied-new", "clusterARN: c-old"} {
		if !strings.Contains(yaml, "\n  "+line+"\n") {
			t.Errorf("kubectl get -o yaml has no status line %q:\n%s", line, yaml)
		}
	}
}

// managedStatusFields returns the fieldsV1 of manager's entry for the status subresource.
func managedStatusFields(t *testing.T, obj *unstructured.Unstructured, manager string) string {
	t.Helper()
	for _, m := range obj.GetManagedFields() {
		if m.Manager == manager && m.Subresource == "status" && m.FieldsV1 != nil {
			return m.FieldsV1.GetRawString()
		}
	}
	t.Fatalf("no managed fields of %s on the status in %v", manager, obj.GetManagedFields())
	return ""
}

// kubectl runs the kubectl nodeless embeds (`nodeless kubectl`), in this process, and returns its
// standard output; a failure fails the test.
func kubectl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	kubectlutil.BehaviorOnFatal(func(msg string, code int) { t.Fatalf("kubectl %v: exit %d: %s", args, code, msg) })
	defer kubectlutil.DefaultBehaviorOnFatal()
	args = append([]string{"--kubeconfig", kubeconfig, "--cache-dir", t.TempDir()}, args...)
	cmd := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
		Arguments: append([]string{"kubectl"}, args...), ConfigFlags: genericclioptions.NewConfigFlags(true), IOStreams: streams,
	})
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("kubectl %v: %v: %s", args, err, errOut.String())
	}
	return out.String()
}

// storeAsBefore writes obj's status as a nodeless from before the status rename left it: the ARNs
// under their old spellings (old: member → value) and none under the new ones (gone), with a merge
// patch of the status subresource, as a client of that nodeless would have. Old members the schema
// no longer names are pruned by the API server, as they are from the objects it stored.
func (s *scenario) storeAsBefore(obj client.Object, old map[string]string, gone ...string) {
	s.t.Helper()
	status := map[string]any{}
	for _, m := range gone {
		status[m] = nil
	}
	for m, v := range old {
		status[m] = v
	}
	body, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.c.Status().Patch(s.ctx, obj, client.RawPatch(types.MergePatchType, body)); err != nil {
		s.t.Fatalf("storing the status of %s as before the rename: %v", obj.GetName(), err)
	}
}

// storeTaskDefinitionAsBefore writes td's status as a nodeless from before the status rename left
// it: taskDefinitionARN and activeRevisions[].taskDefinitionARN (pruned by the API server), none
// under the new spelling. The schema requires activeRevisions[].taskDefinitionArn, which the
// stored object lacks (it was not required when written); the test writes it empty, which the
// controller reads alike.
func (s *scenario) storeTaskDefinitionAsBefore(td *ecsv1alpha1.TaskDefinition) {
	s.t.Helper()
	revs := make([]map[string]any, 0, len(td.Status.ActiveRevisions))
	for _, r := range td.Status.ActiveRevisions {
		revs = append(revs, map[string]any{"revision": r.Revision, "specHash": r.SpecHash,
			"taskDefinitionARN": r.TaskDefinitionArn, "taskDefinitionArn": ""})
	}
	s.storeAsBefore(td, nil, "taskDefinitionArn")
	body, err := json.Marshal(map[string]any{"status": map[string]any{
		"taskDefinitionARN": td.Status.TaskDefinitionArn, "activeRevisions": revs}})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.c.Status().Patch(s.ctx, td, client.RawPatch(types.MergePatchType, body)); err != nil {
		s.t.Fatalf("storing the status of %s as before the rename: %v", td.Name, err)
	}
	s.get(td)
	if td.Status.TaskDefinitionArn != "" || len(td.Status.ActiveRevisions) == 0 || td.Status.ActiveRevisions[0].TaskDefinitionArn != "" {
		s.t.Fatalf("the TaskDefinition's stored status %+v, want its ARNs gone", td.Status)
	}
}

// statusMembers returns the members of obj's stored status named in names that are set.
func (s *scenario) statusMembers(obj client.Object, gvk schema.GroupVersionKind, names ...string) map[string]string {
	s.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := s.c.Get(s.ctx, client.ObjectKeyFromObject(obj), u); err != nil {
		s.t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range names {
		if v, ok, _ := unstructured.NestedString(u.Object, "status", n); ok {
			got[n] = v
		}
	}
	return got
}

// TestTaskStatusFromBeforeTheRename: a Task whose status was stored as taskARN/clusterARN/
// taskDefinitionARN by the nodeless before the rename keeps its task after the upgrade. A job
// that ran to STOPPED long ago (ECS has forgotten the task and the RunTask clientToken, so RunTask
// with it would start a second task) is not run again: 0 RunTask at the wire, the same task in its
// status, the old members cleared. A long-running Task deleted before the upgraded controller
// first saw it has its task stopped.
func TestTaskStatusFromBeforeTheRename(t *testing.T) {
	c, env := kube(t)
	clk := clocktesting.NewFakeClock(time.Now())
	e := ecsmem.Start(t, ecsmem.Options{Clock: clk})
	api := ecsapi.NewCounting(e.Client)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, wire: e.Wire(), ctx: context.Background(), image: testImage}
	stop := runControllers(t, env, api)
	cl, td, _ := newObjects(s.ns, s.image)
	newTask := func(name string) *ecsv1alpha1.Task {
		return &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns}, Spec: ecsv1alpha1.TaskSpec{
			ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: cl.Name}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: td.Name},
			LaunchType: "FARGATE"}}
	}
	job, long := newTask("job"), newTask("long")
	for _, obj := range []client.Object{cl, td, job, long} {
		if err := c.Create(s.ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, tk := range []*ecsv1alpha1.Task{job, long} {
		eventually(t, 60*time.Second, tk.Name+" running", s.ready(tk, func() []metav1.Condition { return tk.Status.Conditions }))
	}
	e.Runtime.Exit(taskID(job.Status.TaskArn), "app", 0)
	eventually(t, 60*time.Second, "job Succeeded", func() (bool, string) {
		s.get(job)
		return job.Status.Phase == ecsv1alpha1.TaskSucceeded, fmt.Sprintf("%s %s", job.Status.Phase, job.Status.LastStatus)
	})
	stop()
	before := job.Status.DeepCopy()

	// Long after: the data plane forgets a STOPPED task after an hour, and the clientToken with it.
	clk.Step(2 * time.Hour)
	eventually(t, 60*time.Second, "ECS forgets the job's task", func() (bool, string) {
		out, err := e.Client.DescribeTasks(s.ctx, &ecs.DescribeTasksInput{Cluster: aws.String(before.ClusterArn), Tasks: []string{before.TaskArn}})
		return err == nil && len(out.Tasks) == 0, fmt.Sprintf("%v %d tasks", err, len(out.Tasks))
	})
	longArn := long.Status.TaskArn
	for _, tk := range []*ecsv1alpha1.Task{job, long} {
		s.storeAsBefore(tk, map[string]string{"taskARN": tk.Status.TaskArn, "clusterARN": tk.Status.ClusterArn, "taskDefinitionARN": tk.Status.TaskDefinitionArn},
			"taskArn", "clusterArn", "taskDefinitionArn")
	}
	members := []string{"taskARN", "clusterARN", "taskDefinitionARN", "taskArn", "clusterArn", "taskDefinitionArn"}
	if diff := cmp.Diff(map[string]string{"taskARN": before.TaskArn, "clusterARN": before.ClusterArn, "taskDefinitionARN": before.TaskDefinitionArn},
		s.statusMembers(job, ecsv1alpha1.GroupVersion.WithKind("Task"), members...)); diff != "" {
		t.Fatalf("the job's stored status (-want +got):\n%s", diff)
	}
	if err := c.Delete(s.ctx, long); err != nil {
		t.Fatal(err)
	}

	e.Wire().Reset()
	runControllers(t, env, api)
	eventually(t, 60*time.Second, "long deleted", s.gone(long))
	eventually(t, 60*time.Second, "the job's old members moved", func() (bool, string) {
		got := s.statusMembers(job, ecsv1alpha1.GroupVersion.WithKind("Task"), members...)
		return got["taskArn"] == before.TaskArn && got["taskARN"] == "", fmt.Sprint(got)
	})
	time.Sleep(2 * time.Second) // room for a RunTask
	if got := [2]int{e.Requests(ecsapi.OpRunTask), e.Served(ecsapi.OpRunTask)}; got != [2]int{} {
		t.Errorf("RunTask at the wire (requests, served) = %v, want none (%v)", got, e.Wire().Calls())
	}
	s.get(job)
	ignore := cmpopts.IgnoreFields(ecsv1alpha1.TaskStatus{}, "CommonStatus")
	if diff := cmp.Diff(before, &job.Status, ignore); diff != "" {
		t.Errorf("the job's status after the upgrade (-before +after):\n%s", diff)
	}
	if n := e.Served(ecsapi.OpStopTask); n != 1 {
		t.Errorf("StopTask served %d times, want 1 (the long task)", n)
	}
	out, err := e.Client.DescribeTasks(s.ctx, &ecs.DescribeTasksInput{Cluster: aws.String(before.ClusterArn), Tasks: []string{longArn}})
	if err != nil || len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].DesiredStatus) != "STOPPED" {
		t.Errorf("the deleted Task's task: %v %+v, want desiredStatus STOPPED", err, out)
	}

	// What the old members prevented: RunTask with the job's clientToken now starts a second task.
	clusterArn, p := managed.ResolveCluster(s.ctx, c, s.ns, job.Spec.Cluster, job.Spec.ClusterRef)
	if p != nil {
		t.Fatal(p)
	}
	run, err := e.Client.RunTask(s.ctx, task.RunInput(job, clusterArn, before.TaskDefinitionArn))
	if err != nil || len(run.Tasks) != 1 || aws.ToString(run.Tasks[0].TaskArn) == before.TaskArn {
		t.Errorf("RunTask with the job's clientToken: %v %+v, want a new task (ECS forgot the token)", err, run)
	}
}

func taskID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// TestClusterAndServiceStatusFromBeforeTheRename: a Cluster whose status was stored as clusterARN
// keeps it as clusterArn after the upgrade, and one deleted before the upgraded controller first
// saw it has its ECS cluster deleted. A Service's serviceARN and clusterARN are pruned (the schema
// has no deprecated members for them): it finds its ECS service by name and owner tag, creates
// nothing, and deleted before the upgraded controller first saw it, deletes its ECS service in
// the cluster its Cluster still names clusterARN. A TaskDefinition whose taskDefinitionARN and
// activeRevisions[].taskDefinitionARN were pruned gets its ARNs back (restoreArns) and registers
// nothing.
func TestClusterAndServiceStatusFromBeforeTheRename(t *testing.T) {
	c, env := kube(t)
	e, api := inMemory(t)
	stop := runControllers(t, env, api)
	f := &faultEnv{scenario: &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: testImage}, ecs: e, cfg: env.Config}
	// A second Service, deleted across the upgrade, and a second Cluster, deleted too.
	other := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: f.ns}, Spec: ecsv1alpha1.ServiceSpec{
		ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "c1"}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
		DesiredCount: aws.Int32(1)}}
	spare := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "spare", Namespace: f.ns}, Spec: ecsv1alpha1.ClusterSpec{ClusterName: f.ns + "-spare"}}
	f.create(other, spare)
	td, svc := f.readyService()
	cl := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", Namespace: f.ns}}
	for _, obj := range []client.Object{other, spare, cl, td} {
		eventually(t, 60*time.Second, obj.GetName()+" Ready", f.ready(obj, func() []metav1.Condition { return conditionsOf(obj) }))
	}
	stop()
	clusterBefore, svcBefore, spareArn := cl.Status.DeepCopy(), svc.Status.DeepCopy(), spare.Status.ClusterArn
	tdBefore := td.Status.DeepCopy()
	f.storeTaskDefinitionAsBefore(td)
	for _, cluster := range []*ecsv1alpha1.Cluster{cl, spare} {
		f.storeAsBefore(cluster, map[string]string{"clusterARN": cluster.Status.ClusterArn}, "clusterArn")
	}
	for _, service := range []*ecsv1alpha1.Service{svc, other} {
		f.storeAsBefore(service, map[string]string{"serviceARN": service.Status.ServiceArn, "clusterARN": service.Status.ClusterArn}, "serviceArn", "clusterArn")
	}
	members := []string{"serviceARN", "clusterARN", "serviceArn", "clusterArn"}
	if got := f.statusMembers(svc, ecsv1alpha1.GroupVersion.WithKind("Service"), members...); len(got) != 0 {
		t.Fatalf("the Service's stored status keeps %v, want its ARNs pruned", got)
	}
	for _, obj := range []client.Object{other, spare} {
		if err := f.c.Delete(f.ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	f.ecs.Wire().Reset()
	runControllers(t, env, api)
	for _, obj := range []client.Object{other, spare} {
		eventually(t, 60*time.Second, obj.GetName()+" deleted", f.gone(obj))
	}
	eventually(t, 60*time.Second, "the ARNs back", func() (bool, string) {
		f.get(cl)
		f.get(svc)
		f.get(td)
		return cl.Status.ClusterArn == clusterBefore.ClusterArn && svc.Status.ServiceArn == svcBefore.ServiceArn &&
				td.Status.TaskDefinitionArn == tdBefore.TaskDefinitionArn,
			fmt.Sprintf("cluster %q, service %q, task definition %q", cl.Status.ClusterArn, svc.Status.ServiceArn, td.Status.TaskDefinitionArn)
	})
	time.Sleep(2 * time.Second) // room for a create
	for _, op := range []string{ecsapi.OpCreateCluster, ecsapi.OpCreateService, ecsapi.OpRegisterTaskDefinition} {
		if n := f.ecs.Served(op); n != 0 {
			t.Errorf("%s served %d times, want 0", op, n)
		}
	}
	if got := f.statusMembers(cl, ecsv1alpha1.GroupVersion.WithKind("Cluster"), "clusterARN", "clusterArn"); !cmp.Equal(got, map[string]string{"clusterArn": clusterBefore.ClusterArn}) {
		t.Errorf("the Cluster's stored status %v, want clusterArn only", got)
	}
	f.get(td)
	ignore := cmpopts.IgnoreFields(ecsv1alpha1.TaskDefinitionStatus{}, "CommonStatus")
	if diff := cmp.Diff(tdBefore, &td.Status, ignore); diff != "" {
		t.Errorf("the TaskDefinition's status after the upgrade (-before +after):\n%s", diff)
	}
	if svc.Status.ClusterArn != svcBefore.ClusterArn {
		t.Errorf("the Service's clusterArn %q, want %q", svc.Status.ClusterArn, svcBefore.ClusterArn)
	}
	if got := f.ecsServiceStatus(clusterBefore.ClusterArn, "other"); got == "ACTIVE" {
		t.Errorf("the deleted Service's ECS service is %s, want it deleted", got)
	}
	out, err := f.ecs.Client.DescribeClusters(f.ctx, &ecs.DescribeClustersInput{Clusters: []string{spareArn}})
	if err != nil || len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].Status) != "INACTIVE" {
		t.Errorf("the deleted Cluster's ECS cluster: %v %+v, want INACTIVE", err, out)
	}
}
