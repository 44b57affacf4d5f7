package api_test

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

func TestRunStopDescribeListTasks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	run := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{
		TaskDefinition: aws.String("web"), Count: aws.Int32(3), StartedBy: aws.String("me"),
		Tags: []ecstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	}))
	if len(run.Tasks) != 3 || len(run.Failures) != 0 {
		t.Fatalf("RunTask: %d tasks, failures %v", len(run.Tasks), run.Failures)
	}
	task := run.Tasks[0]
	arnRE := regexp.MustCompile(`^arn:aws:ecs:us-east-1:000000000000:task/default/[0-9a-f]{32}$`)
	if !arnRE.MatchString(aws.ToString(task.TaskArn)) {
		t.Errorf("task ARN %s", aws.ToString(task.TaskArn))
	}
	if aws.ToString(task.LastStatus) != "PROVISIONING" || aws.ToString(task.DesiredStatus) != "RUNNING" || task.Version != 1 ||
		aws.ToString(task.Group) != "family:web" || task.LaunchType != ecstypes.LaunchTypeFargate || len(task.Containers) != 2 ||
		aws.ToString(task.Containers[0].LastStatus) != "PENDING" || task.CreatedAt == nil || aws.ToString(task.Cpu) != "256" {
		t.Errorf("new task: %+v", task)
	}
	created, _, _ := e.engine.calls()
	if len(created) != 3 {
		t.Errorf("engine told of %d created tasks, want 3", len(created))
	}

	checkStopTask(t, e, task)
	checkDescribeAndListTasks(t, e, run.Tasks)
	// the cluster cannot be deleted while tasks are not STOPPED
	_, err := e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("default")})
	wantAPIError(t, err, "ClusterContainsTasksException", "StopTask")
}

func checkStopTask(t *testing.T, e *env, task ecstypes.Task) {
	t.Helper()
	ctx := context.Background()
	stop := must[*ecs.StopTaskOutput](t)(e.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: task.TaskArn, Reason: aws.String("done")}))
	if aws.ToString(stop.Task.DesiredStatus) != "STOPPED" || stop.Task.StopCode != ecstypes.TaskStopCodeUserInitiated ||
		aws.ToString(stop.Task.StoppedReason) != "done" || stop.Task.Version != 2 || stop.Task.StoppingAt == nil {
		t.Errorf("stopped task: %+v", stop.Task)
	}
	again := must[*ecs.StopTaskOutput](t)(e.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: task.TaskArn}))
	if again.Task.Version != 2 {
		t.Errorf("a second StopTask changed the task (version %d)", again.Task.Version)
	}
	if stop.Task.Tags != nil {
		t.Errorf("StopTask kept the tags %v; ECS deletes them", stop.Task.Tags)
	}
	if _, stopped, _ := e.engine.calls(); len(stopped) != 1 {
		t.Errorf("engine told of %d stops, want 1", len(stopped))
	}

}

func checkDescribeAndListTasks(t *testing.T, e *env, tasks []ecstypes.Task) {
	t.Helper()
	ctx := context.Background()
	desc := must[*ecs.DescribeTasksOutput](t)(e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{
		Tasks:   []string{aws.ToString(tasks[1].TaskArn), lastSegment(aws.ToString(tasks[2].TaskArn)), "0123456789abcdef0123456789abcdef"},
		Include: []ecstypes.TaskField{ecstypes.TaskFieldTags},
	}))
	if len(desc.Tasks) != 2 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describe: %d tasks, failures %+v", len(desc.Tasks), desc.Failures)
	}
	if diff := cmp.Diff([]string{"k=v"}, tagStrings(desc.Tasks[0].Tags)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	list := func(in *ecs.ListTasksInput) int {
		return len(must[*ecs.ListTasksOutput](t)(e.ecs.ListTasks(ctx, in)).TaskArns)
	}
	for name, tc := range map[string]struct {
		in   *ecs.ListTasksInput
		want int
	}{
		"running":       {&ecs.ListTasksInput{}, 2},
		"stopped":       {&ecs.ListTasksInput{DesiredStatus: ecstypes.DesiredStatusStopped}, 1},
		"family":        {&ecs.ListTasksInput{Family: aws.String("web")}, 2},
		"other family":  {&ecs.ListTasksInput{Family: aws.String("db")}, 0},
		"startedBy":     {&ecs.ListTasksInput{StartedBy: aws.String("me")}, 2},
		"other starter": {&ecs.ListTasksInput{StartedBy: aws.String("you")}, 0},
		"page":          {&ecs.ListTasksInput{MaxResults: aws.Int32(1)}, 1},
	} {
		if got := list(tc.in); got != tc.want {
			t.Errorf("%s: %d tasks, want %d", name, got, tc.want)
		}
	}
	p := ecs.NewListTasksPaginator(e.ecs, &ecs.ListTasksInput{MaxResults: aws.Int32(1)})
	n := 0
	for p.HasMorePages() {
		n += len(must[*ecs.ListTasksOutput](t)(p.NextPage(ctx)).TaskArns)
	}
	if n != 2 {
		t.Errorf("paginator saw %d tasks, want 2", n)
	}
}

func TestRunTaskIdempotency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	in := &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(2), ClientToken: aws.String("token-1")}
	first := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, in))
	second := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, in))
	if diff := cmp.Diff(taskArns(first.Tasks), taskArns(second.Tasks)); diff != "" {
		t.Errorf("retry with the same token returned other tasks (-first +second):\n%s", diff)
	}
	if created, _, _ := e.engine.calls(); len(created) != 2 {
		t.Errorf("%d tasks created, want 2", len(created))
	}
	_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(1), ClientToken: aws.String("token-1")})
	wantAPIError(t, err, "ConflictException", "token-1")
}

// TestRunTaskTokenForgottenWithItsTasks: a clientToken whose tasks the scheduler has forgotten
// (STOPPED longer than its retention; here their records are deleted as it deletes them) answers
// with the tasks still kept, and once none is, starts new tasks as for a token never used, as ECS
// does once it no longer remembers a token.
func TestRunTaskTokenForgottenWithItsTasks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	in := &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(2), ClientToken: aws.String("token-1")}
	first := taskArns(must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, in)).Tasks)
	forget := func(arn string) {
		t.Helper()
		if err := e.store.Update(func(tx *store.Tx) error { return tx.DeleteTask("default", lastSegment(arn)) }); err != nil {
			t.Fatal(err)
		}
	}

	forget(first[0])
	kept := taskArns(must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, in)).Tasks)
	if diff := cmp.Diff(first[1:], kept); diff != "" {
		t.Errorf("retry with one task forgotten (-want +got):\n%s", diff)
	}
	forget(first[1])
	again := taskArns(must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, in)).Tasks)
	if len(again) != 2 || slices.Contains(first, again[0]) || slices.Contains(first, again[1]) {
		t.Errorf("retry with every task forgotten returned %v, want 2 new tasks (first %v)", again, first)
	}
	if created, _, _ := e.engine.calls(); len(created) != 4 {
		t.Errorf("%d tasks created, want 4", len(created))
	}
	replay := taskArns(must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, in)).Tasks)
	if diff := cmp.Diff(again, replay); diff != "" {
		t.Errorf("the token recorded anew: retry (-want +got):\n%s", diff)
	}
}

func TestTaskErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("old")))
	must[*ecs.DeregisterTaskDefinitionOutput](t)(e.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("old:1")}))
	plain := web("plain")
	plain.RequiresCompatibilities, plain.NetworkMode, plain.Cpu, plain.Memory = nil, "", nil, nil
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, plain))
	many := make([]string, 101)
	for i := range many {
		many[i] = "0123456789abcdef0123456789abcdef"
	}
	for name, tc := range map[string]struct {
		call  func() error
		code  string
		parts []string
	}{
		"count 0": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(0)})
			return err
		}, "InvalidParameterException", []string{"count", "1 to 10"}},
		"count 11": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(11)})
			return err
		}, "InvalidParameterException", []string{"count"}},
		"EC2": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: ecstypes.LaunchTypeEc2})
			return err
		}, "InvalidParameterException", []string{"launchType", "FARGATE"}},
		"inactive task definition": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("old:1")})
			return err
		}, "ClientException", []string{"INACTIVE"}},
		"not fargate compatible": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("plain")})
			return err
		}, "InvalidParameterException", []string{"does not support launch_type FARGATE"}},
		"unknown family": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("nope")})
			return err
		}, "ClientException", []string{"nope"}},
		"unknown cluster": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Cluster: aws.String("nope")})
			return err
		}, "ClusterNotFoundException", []string{"nope"}},
		"long token": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), ClientToken: aws.String(string(make([]byte, 65)))})
			return err
		}, "InvalidParameterException", []string{"clientToken"}},
		"override unknown container": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Overrides: &ecstypes.TaskOverride{
				ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("db")}}}})
			return err
		}, "InvalidParameterException", []string{"overrides.containerOverrides[0].name"}},
		"stop unknown": {func() error {
			_, err := e.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String("0123456789abcdef0123456789abcdef")})
			return err
		}, "InvalidParameterException", []string{"task", "not found"}},
		"stop garbage": {func() error {
			_, err := e.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String("xyz")})
			return err
		}, "InvalidParameterException", []string{"task"}},
		"describe 101": {func() error {
			_, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: many})
			return err
		}, "InvalidParameterException", []string{"tasks", "1 to 100"}},
		"list unknown service": {func() error {
			_, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("nope")})
			return err
		}, "ServiceNotFoundException", []string{"nope"}},
		"startedBy with family": {func() error {
			_, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{StartedBy: aws.String("me"), Family: aws.String("web")})
			return err
		}, "InvalidParameterException", []string{"startedBy", "only filter"}},
		"startedBy chars": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), StartedBy: aws.String("a b")})
			return err
		}, "InvalidParameterException", []string{"startedBy"}},
		"list maxResults": {func() error {
			_, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{MaxResults: aws.Int32(0)})
			return err
		}, "InvalidParameterException", []string{"maxResults"}},
		"exec": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), EnableExecuteCommand: true})
			return err
		}, "InvalidParameterException", []string{"enableExecuteCommand"}},
		"placement": {func() error {
			_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"),
				PlacementStrategy: []ecstypes.PlacementStrategy{{Type: ecstypes.PlacementStrategyTypeSpread, Field: aws.String("host")}}})
			return err
		}, "InvalidParameterException", []string{"placementStrategy", "not supported"}},
	} {
		t.Run(name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code, tc.parts...) })
	}
}

func taskArns(tasks []ecstypes.Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, aws.ToString(t.TaskArn))
	}
	return out
}

func lastSegment(arn string) string { return arn[len(arn)-32:] }
