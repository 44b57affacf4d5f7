package ecsmem_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
)

func tags(kv ...string) []ecstypes.Tag {
	var out []ecstypes.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ecstypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// tagMap is a task's tags as key=value strings, sorted.
func tagMap(ts []ecstypes.Tag) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	sort.Strings(out)
	return out
}

func taskTags(t *testing.T, e *ecsmem.ECS, arn string) []string {
	t.Helper()
	out, err := e.Client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{
		Cluster: aws.String(cluster), Tasks: []string{arn}, Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("describing task %s: %v", arn, err)
	}
	return tagMap(out.Tasks[0].Tags)
}

// TestPropagateTags: propagateTags and enableECSManagedTags take effect as the ECS API reference
// describes them (RunTask, CreateService, UpdateService): TASK_DEFINITION copies the task
// definition's tags to the task, SERVICE the service's (services only: RunTask refuses it by
// name), NONE or nothing copies none; a tag given for the task itself wins over a propagated one;
// managed tags name the cluster and, for a service's task, the service; UpdateService's change
// applies to tasks launched after it.
func TestPropagateTags(t *testing.T) {
	t.Parallel()
	e := ecsmem.Start(t, ecsmem.Options{})
	setUp(t, e)
	ctx := context.Background()
	td, err := e.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("tagged"), Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example.com/app:1")}},
		Tags:                    tags("team", "a", "shared", "from-td"),
	})
	if err != nil {
		t.Fatal(err)
	}
	tdArn := aws.ToString(td.TaskDefinition.TaskDefinitionArn)

	for _, tc := range []struct {
		name      string
		propagate ecstypes.PropagateTags
		managed   bool
		own       []ecstypes.Tag
		want      []string
	}{
		{"not asked", "", false, tags("own", "1"), []string{"own=1"}},
		{"NONE", ecstypes.PropagateTagsNone, false, tags("own", "1"), []string{"own=1"}},
		{"TASK_DEFINITION", ecstypes.PropagateTagsTaskDefinition, false, nil, []string{"shared=from-td", "team=a"}},
		{"TASK_DEFINITION, own tag wins", ecstypes.PropagateTagsTaskDefinition, false, tags("shared", "mine"), []string{"shared=mine", "team=a"}},
		{"managed", "", true, nil, []string{"aws:ecs:clusterName=" + cluster}},
	} {
		t.Run("RunTask "+tc.name, func(t *testing.T) {
			out, err := e.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(tdArn),
				PropagateTags: tc.propagate, EnableECSManagedTags: tc.managed, Tags: tc.own})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, taskTags(t, e, aws.ToString(out.Tasks[0].TaskArn))); diff != "" {
				t.Errorf("task tags (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, tagMap(out.Tasks[0].Tags)); diff != "" {
				t.Errorf("RunTask's answer's tags (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("RunTask SERVICE is refused by name", func(t *testing.T) {
		_, err := e.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(tdArn),
			PropagateTags: ecstypes.PropagateTagsService})
		wantCode(t, err, "InvalidParameterException")
		if err == nil || !strings.Contains(err.Error(), "propagateTags") {
			t.Errorf("error %v does not name propagateTags", err)
		}
	})

	serviceTask := func(t *testing.T, service string) string {
		t.Helper()
		var arn string
		eventually(t, "the service runs a task", func() (bool, string) {
			out, err := e.Client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service)})
			if err != nil || len(out.TaskArns) == 0 {
				return false, "no task"
			}
			arn = out.TaskArns[0]
			return true, ""
		})
		return arn
	}
	for _, tc := range []struct {
		name      string
		propagate ecstypes.PropagateTags
		managed   bool
		want      []string
	}{
		{"svc-none", "", false, []string{}},
		{"svc-service", ecstypes.PropagateTagsService, true, []string{"aws:ecs:clusterName=" + cluster, "aws:ecs:serviceName=svc-service", "svc=x"}},
		{"svc-td", ecstypes.PropagateTagsTaskDefinition, false, []string{"shared=from-td", "team=a"}},
	} {
		t.Run("CreateService "+tc.name, func(t *testing.T) {
			_, err := e.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(tc.name),
				TaskDefinition: aws.String(tdArn), DesiredCount: aws.Int32(1), PropagateTags: tc.propagate,
				EnableECSManagedTags: tc.managed, Tags: tags("svc", "x")})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, taskTags(t, e, serviceTask(t, tc.name))); diff != "" {
				t.Errorf("service task tags (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("UpdateService applies to tasks launched after it", func(t *testing.T) {
		old := serviceTask(t, "svc-td")
		_, err := e.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("svc-td"),
			PropagateTags: ecstypes.PropagateTagsService, ForceNewDeployment: true})
		if err != nil {
			t.Fatal(err)
		}
		var fresh string
		eventually(t, "a new task replaces the old one", func() (bool, string) {
			out, err := e.Client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String("svc-td")})
			if err != nil {
				return false, err.Error()
			}
			for _, a := range out.TaskArns {
				if a != old {
					fresh = a
					return true, ""
				}
			}
			return false, "only the old task"
		})
		if diff := cmp.Diff([]string{"svc=x"}, taskTags(t, e, fresh)); diff != "" {
			t.Errorf("tags of the task launched after the update (-want +got):\n%s", diff)
		}
	})
}
