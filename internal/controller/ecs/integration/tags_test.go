package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestTagsInPlace is issue 7's report, counted at the wire: a Ready TaskDefinition and Service
// (and a Cluster and a running Task) get tags team=a, then team=b, then none. On the real
// kube-apiserver, against the in-memory ECS (internal/dataplane/ecsmem: the local data plane's API
// server and service scheduler over the fake container runtime; no root needed).
func TestTagsInPlace(t *testing.T) {
	c, env := kube(t)
	local := ecsmem.Start(t, ecsmem.Options{}).Client
	api := ecsapi.NewCounting(local)
	runControllers(t, env, api)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: "example.com/app:1", wantReady: true}
	s.tagsInPlace(local, nil)
}

// TestTagsInPlaceDataPlane is TestTagsInPlace against the full local data plane: real containers
// on containerd (root needed; skipped otherwise).
func TestTagsInPlaceDataPlane(t *testing.T) {
	c, env := kube(t)
	dp := dataplanetest.Start(t)
	image := dp.LoadTestImage(t)
	api := ecsapi.NewCounting(dp.ECS)
	runControllers(t, env, api)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: image, wantReady: true}
	s.tagsInPlace(dp.ECS, []string{"-listen", ":8080"})
}

// tagsInPlace: each tag change makes no RegisterTaskDefinition, no UpdateService, no
// DeregisterTaskDefinition; it makes one TagResource (or UntagResource) per resource; the tags
// are on the revision, the service, the cluster and the task as ListTagsForResource reports them,
// next to the tags nodeless manages; no task is replaced; then a steady state makes no write.
// raw lists the service's tasks (a call the controllers never make); taskArgs keep the Task
// running.
func (s *scenario) tagsInPlace(raw *ecs.Client, taskArgs []string) {
	t := s.t
	cl, td, svc := newObjects(s.ns, s.image)
	task := &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: s.ns}, Spec: ecsv1alpha1.TaskSpec{
		ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "c1"}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
		Overrides: &ecsv1alpha1.TaskOverride{ContainerOverrides: []ecsv1alpha1.ContainerOverride{{Name: "app", Command: taskArgs}}},
	}}
	s.create(cl, td, svc)
	if err := s.c.Create(s.ctx, task); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "Task Ready", s.ready(task, func() []metav1.Condition { return task.Status.Conditions }))
	revision, tasks := td.Status.TaskDefinitionArn, s.serviceTasks(raw)

	for _, step := range []struct {
		name string
		tags []ecsv1alpha1.Tag
		op   string
	}{
		{"team=a", []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}, ecsapi.OpTagResource},
		{"team=b", []ecsv1alpha1.Tag{{Key: "team", Value: "b"}}, ecsapi.OpTagResource},
		{"no tags", nil, ecsapi.OpUntagResource},
	} {
		s.api.Reset()
		objs := []client.Object{cl, td, svc, task}
		for _, obj := range objs {
			s.setTags(obj, step.tags)
		}
		eventually(t, 30*time.Second, "tags "+step.name+" applied", func() (bool, string) {
			for _, obj := range objs {
				s.get(obj)
			}
			for _, applied := range [][]ecsv1alpha1.Tag{cl.Status.AppliedTags, td.Status.AppliedTags, svc.Status.AppliedTags, task.Status.AppliedTags} {
				if !slices.Equal(applied, step.tags) {
					return false, fmt.Sprintf("applied: cluster %v, revision %v, service %v, task %v",
						cl.Status.AppliedTags, td.Status.AppliedTags, svc.Status.AppliedTags, task.Status.AppliedTags)
				}
			}
			return true, ""
		})
		time.Sleep(3 * time.Second) // three resyncs: a stray write would show
		calls := s.api.Calls()
		t.Logf("%s: calls %v", step.name, calls)
		for _, op := range []string{ecsapi.OpRegisterTaskDefinition, ecsapi.OpUpdateService, ecsapi.OpDeregisterTaskDefinition,
			ecsapi.OpCreateService, ecsapi.OpRunTask, ecsapi.OpUpdateCluster} {
			if calls[op] != 0 {
				t.Errorf("%s: %d %s calls, want 0", step.name, calls[op], op)
			}
		}
		if calls[step.op] != 4 || s.api.Writes() != 4 {
			t.Errorf("%s: %d %s calls and %d writes, want 4 of each (revision, service, cluster, task)", step.name, calls[step.op], step.op, s.api.Writes())
		}
		want := tagStrings(step.tags)
		s.wantTags(revision, want, ecscall.TagSpecHash)
		s.wantTags(svc.Status.ServiceArn, want, ecscall.TagOwner)
		s.wantTags(cl.Status.ClusterArn, want)
		s.wantTags(task.Status.TaskArn, want, ecscall.TagOwner)
		if td.Status.TaskDefinitionArn != revision || svc.Status.TaskDefinition != revision || len(svc.Status.Deployments) != 1 {
			t.Errorf("%s: revision %s, service runs %s with %d deployments; want %s, one deployment", step.name,
				td.Status.TaskDefinitionArn, svc.Status.TaskDefinition, len(svc.Status.Deployments), revision)
		}
		if now := s.serviceTasks(raw); !slices.Equal(now, tasks) {
			t.Errorf("%s: the service's tasks changed: %v, were %v", step.name, now, tasks)
		}
	}

	s.api.Reset()
	time.Sleep(10 * time.Second)
	if w := s.api.Writes(); w != 0 {
		t.Errorf("writes at steady state over 10 resyncs = %d, want 0 (%v)", w, s.api.Calls())
	}
	t.Logf("calls at steady state over 10 s (10 resyncs): %v", s.api.Calls())
	s.createOnlyRefused(svc)
}

// createOnlyRefused: a launch type set later to another than the service's (the CRD lets an unset
// member be set) is refused by name in the Synced condition, with no write; undone, the Service
// is Synced again.
func (s *scenario) createOnlyRefused(svc *ecsv1alpha1.Service) {
	t := s.t
	s.api.Reset()
	s.get(svc)
	svc.Spec.LaunchType = "EC2"
	if err := s.c.Update(s.ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the launch type change refused", func() (bool, string) {
		s.get(svc)
		c := meta.FindStatusCondition(svc.Status.Conditions, ecsv1alpha1.ConditionSynced)
		if c == nil || c.ObservedGeneration != svc.Generation {
			return false, fmt.Sprintf("%+v", c)
		}
		return c.Status == metav1.ConditionFalse && c.Reason == inplace.ReasonRecreateRequired &&
			strings.Contains(c.Message, "spec.launchType") && strings.Contains(c.Message, "delete this Service"), c.Reason + ": " + c.Message
	})
	if !meta.IsStatusConditionTrue(svc.Status.Conditions, ecsv1alpha1.ConditionReady) {
		t.Errorf("the service itself is fine, but Ready is %+v", meta.FindStatusCondition(svc.Status.Conditions, ecsv1alpha1.ConditionReady))
	}
	if w := s.api.Writes(); w != 0 {
		t.Errorf("writes for a refused change = %d, want 0 (%v)", w, s.api.Calls())
	}
	svc.Spec.LaunchType = ""
	if err := s.c.Update(s.ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "Synced once undone", s.synced(svc, func() []metav1.Condition { return svc.Status.Conditions }))
}

func (s *scenario) setTags(obj client.Object, tags []ecsv1alpha1.Tag) {
	s.t.Helper()
	// The controllers write the object's status meanwhile (a Cluster's counts follow its
	// services): read again and retry on a conflict, as kubectl edit would.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s.get(obj)
		switch o := obj.(type) {
		case *ecsv1alpha1.Cluster:
			o.Spec.Tags = tags
		case *ecsv1alpha1.TaskDefinition:
			o.Spec.Tags = tags
		case *ecsv1alpha1.Service:
			o.Spec.Tags = tags
		case *ecsv1alpha1.Task:
			o.Spec.Tags = tags
		}
		return s.c.Update(s.ctx, obj)
	})
	if err != nil {
		s.t.Fatalf("tagging %s: %v", obj.GetName(), err)
	}
}

// wantTags checks the tags ECS lists for arn: want, plus the managed keys (whatever their value).
func (s *scenario) wantTags(arn string, want []string, managed ...string) {
	s.t.Helper()
	out, err := s.api.ListTagsForResource(s.ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		s.t.Fatalf("listing the tags of %s: %v", arn, err)
	}
	var got, keys []string
	for _, tag := range out.Tags {
		if k := aws.ToString(tag.Key); slices.Contains(managed, k) {
			keys = append(keys, k)
			continue
		}
		got = append(got, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
	}
	sort.Strings(got)
	if !slices.Equal(got, want) || len(keys) != len(managed) {
		s.t.Errorf("tags of %s: %v and managed %v; want %v and %v", arn, got, keys, want, managed)
	}
}

func tagStrings(tags []ecsv1alpha1.Tag) []string {
	var out []string
	for _, tag := range tags {
		out = append(out, tag.Key+"="+tag.Value)
	}
	sort.Strings(out)
	return out
}

// serviceTasks lists the running tasks of the Service "web".
func (s *scenario) serviceTasks(raw *ecs.Client) []string {
	s.t.Helper()
	out, err := raw.ListTasks(s.ctx, &ecs.ListTasksInput{Cluster: aws.String(s.ns), ServiceName: aws.String("web")})
	if err != nil {
		s.t.Fatalf("listing the service's tasks: %v", err)
	}
	arns := slices.Clone(out.TaskArns)
	sort.Strings(arns)
	return arns
}
