package pods_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/secretsapi"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// task is one ECS task of the data plane, with the Pod it runs: its UID from startedBy
// (translate.StartedBy), its namespace and name from its tags (ADR 0005: tags
// nodeless.dev/owner-uid, pod-namespace, pod-name). StopTask deletes a task's tags, as ECS does: a
// task stopped because its Pod was deleted keeps only its UID.
type task struct {
	Arn, Cluster, Definition      string
	LastStatus, DesiredStatus     string
	StopCode                      string
	PodUID, PodNamespace, PodName string
}

func (tk task) String() string {
	return fmt.Sprintf("%s %s/%s (uid %s) %s→%s %s %s", tk.Arn, tk.PodNamespace, tk.PodName, tk.PodUID,
		tk.LastStatus, tk.DesiredStatus, tk.Definition, tk.StopCode)
}

// tasks lists every task of every cluster of the data plane, running or stopped (ListTasks with
// desiredStatus RUNNING, then STOPPED; DescribeTasks by 100, with tags).
func (c *cluster) tasks(ctx context.Context) ([]task, error) {
	var clusters []string
	for p := ecs.NewListClustersPaginator(c.ecs, &ecs.ListClustersInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListClusters: %w", err)
		}
		clusters = append(clusters, page.ClusterArns...)
	}
	var all []task
	for _, cl := range clusters {
		tasks, err := c.clusterTasks(ctx, cl)
		if err != nil {
			return nil, err
		}
		all = append(all, tasks...)
	}
	return all, nil
}

func (c *cluster) clusterTasks(ctx context.Context, cl string) ([]task, error) {
	var arns []string
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		in := &ecs.ListTasksInput{Cluster: aws.String(cl), DesiredStatus: desired, MaxResults: aws.Int32(100)}
		for p := ecs.NewListTasksPaginator(c.ecs, in); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("ListTasks %s %s: %w", cl, desired, err)
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	slices.Sort(arns)
	arns = slices.Compact(arns) // a task may move from RUNNING to STOPPED between the two lists
	var out []task
	for batch := range slices.Chunk(arns, 100) {
		d, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cl), Tasks: batch,
			Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
		if err != nil {
			return nil, fmt.Errorf("DescribeTasks %s: %w", cl, err)
		}
		for _, t := range d.Tasks {
			out = append(out, taskOf(cl, t))
		}
	}
	return out, nil
}

func taskOf(cl string, t ecstypes.Task) task {
	tk := task{Arn: aws.ToString(t.TaskArn), Cluster: cl, Definition: aws.ToString(t.TaskDefinitionArn),
		LastStatus: aws.ToString(t.LastStatus), DesiredStatus: aws.ToString(t.DesiredStatus), StopCode: string(t.StopCode),
		PodUID: strings.TrimPrefix(aws.ToString(t.StartedBy), translate.StartedBy(""))}
	for _, tag := range t.Tags {
		switch aws.ToString(tag.Key) {
		case translate.TagOwner:
			tk.PodUID = aws.ToString(tag.Value)
		case translate.TagPodNamespace:
			tk.PodNamespace = aws.ToString(tag.Value)
		case translate.TagPodName:
			tk.PodName = aws.ToString(tag.Value)
		}
	}
	return tk
}

// mustTasks is tasks, failing t on error.
func (c *cluster) mustTasks(t *testing.T) []task {
	t.Helper()
	tasks, err := c.tasks(context.Background())
	if err != nil {
		t.Fatalf("listing the data plane's tasks: %v", err)
	}
	return tasks
}

func notStopped(tasks []task) []task {
	return slices.DeleteFunc(slices.Clone(tasks), func(tk task) bool { return tk.LastStatus == "STOPPED" })
}

// inNamespace keeps the tasks whose tags name namespace ns (a task StopTask stopped has no tags).
func inNamespace(tasks []task, ns string) []task {
	return slices.DeleteFunc(slices.Clone(tasks), func(tk task) bool { return tk.PodNamespace != ns })
}

// liveTaskOf is the one task of pod that is not STOPPED; it fails t when there is none or more.
func liveTaskOf(t *testing.T, tasks []task, pod *corev1.Pod) task {
	t.Helper()
	var live []task
	for _, tk := range notStopped(tasks) {
		if tk.PodUID == string(pod.UID) {
			live = append(live, tk)
		}
	}
	if len(live) != 1 {
		t.Fatalf("Pod %s/%s (uid %s) has %d tasks not STOPPED, want 1: %v", pod.Namespace, pod.Name, pod.UID, len(live), live)
	}
	return live[0]
}

// definitionsOf is the set of task definitions the live tasks of pods run.
func definitionsOf(t *testing.T, tasks []task, pods []corev1.Pod) []string {
	t.Helper()
	var defs []string
	for i := range pods {
		defs = append(defs, liveTaskOf(t, tasks, &pods[i]).Definition)
	}
	slices.Sort(defs)
	return slices.Compact(defs)
}

// duplicates lists the Pods (by UID) with more than one task not STOPPED.
func duplicates(tasks []task) map[string][]task {
	byPod := map[string][]task{}
	for _, tk := range notStopped(tasks) {
		if tk.PodUID != "" {
			byPod[tk.PodUID] = append(byPod[tk.PodUID], tk)
		}
	}
	for uid, tks := range byPod {
		if len(tks) < 2 {
			delete(byPod, uid)
		}
	}
	return byPod
}

// checkNotInClear checks that value (a Secret's) appears neither in the task definitions nor in
// the RunTask overrides of tasks: nodeless passes Secrets through ECS secrets (DESIGN.md §4.2).
func checkNotInClear(t *testing.T, c *cluster, tasks []task, value string) {
	t.Helper()
	ctx := t.Context()
	seen := map[string]bool{}
	for _, tk := range tasks {
		d, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(tk.Cluster), Tasks: []string{tk.Arn}})
		if err != nil || len(d.Tasks) != 1 {
			t.Fatalf("DescribeTasks %s: %v %+v", tk.Arn, err, d)
		}
		if b, _ := json.Marshal(d.Tasks[0].Overrides); strings.Contains(string(b), value) {
			t.Errorf("task %s has the Secret's value in clear in its overrides: %s", tk.Arn, b)
		}
		if seen[tk.Definition] {
			continue
		}
		seen[tk.Definition] = true
		td, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tk.Definition)})
		if err != nil {
			t.Fatalf("DescribeTaskDefinition %s: %v", tk.Definition, err)
		}
		if b, _ := json.Marshal(td.TaskDefinition); strings.Contains(string(b), value) {
			t.Errorf("task definition %s has the Secret's value in clear: %s", tk.Definition, b)
		}
	}
}

// mirrored lists the names of the data plane's Secrets Manager entries that nodeless keeps for the
// ConfigMaps and Secrets of namespace ns (tag secretsapi.TagNamespace).
func (c *cluster) mirrored(ctx context.Context, ns string) ([]string, error) {
	var names []string
	for p := secretsmanager.NewListSecretsPaginator(c.secrets, &secretsmanager.ListSecretsInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListSecrets: %w", err)
		}
		for _, s := range page.SecretList {
			for _, tag := range s.Tags {
				if aws.ToString(tag.Key) == secretsapi.TagNamespace && aws.ToString(tag.Value) == ns {
					names = append(names, aws.ToString(s.Name))
				}
			}
		}
	}
	return names, nil
}
