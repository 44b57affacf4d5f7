package integration

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// TestInvalidManifestsRefused: what can be checked before any ECS call is refused by the API
// server, with a message naming the field.
func TestInvalidManifestsRefused(t *testing.T) {
	c, env := kube(t)
	ctx := context.Background()
	ns := env.Namespace
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	container := []ecsv1alpha1.ContainerDefinition{{Name: "app", Image: "nginx"}}

	tdSpec := func(cpu, mem string) ecsv1alpha1.TaskDefinitionSpec {
		return ecsv1alpha1.TaskDefinitionSpec{Cpu: cpu, Memory: mem, NetworkMode: "awsvpc",
			RequiresCompatibilities: []string{"FARGATE"}, ContainerDefinitions: container}
	}
	tests := []struct {
		name  string
		obj   client.Object
		parts []string
	}{
		{"fargate pair", &ecsv1alpha1.TaskDefinition{ObjectMeta: meta("bad-pair"), Spec: tdSpec("256", "4096")}, []string{"cpu/memory is not a Fargate size"}},
		{"fargate needs cpu", &ecsv1alpha1.TaskDefinition{ObjectMeta: meta("no-cpu"), Spec: tdSpec("", "")}, []string{"cpu and memory are required"}},
		{"network mode enum", &ecsv1alpha1.TaskDefinition{ObjectMeta: meta("bad-mode"), Spec: ecsv1alpha1.TaskDefinitionSpec{
			NetworkMode: "overlay", ContainerDefinitions: container}}, []string{"spec.networkMode", "Unsupported value"}},
		{"no containers", &ecsv1alpha1.TaskDefinition{ObjectMeta: meta("empty"), Spec: ecsv1alpha1.TaskDefinitionSpec{
			ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{}}}, []string{"spec.containerDefinitions"}},
		{"duplicate container", &ecsv1alpha1.TaskDefinition{ObjectMeta: meta("dup"), Spec: ecsv1alpha1.TaskDefinitionSpec{
			ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "a", Image: "x"}, {Name: "a", Image: "y"}}}}, []string{"spec.containerDefinitions[1]", "Duplicate"}},
		{"container name", &ecsv1alpha1.TaskDefinition{ObjectMeta: meta("badname"), Spec: ecsv1alpha1.TaskDefinitionSpec{
			ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "a b", Image: "x"}}}}, []string{"spec.containerDefinitions[0].name"}},
		{"both task definitions", &ecsv1alpha1.Service{ObjectMeta: meta("both"), Spec: ecsv1alpha1.ServiceSpec{
			TaskDefinition: "web:1", TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"}}}, []string{"exactly one of taskDefinition"}},
		{"no task definition", &ecsv1alpha1.Service{ObjectMeta: meta("none"), Spec: ecsv1alpha1.ServiceSpec{}}, []string{"exactly one of taskDefinition"}},
		{"negative count", &ecsv1alpha1.Service{ObjectMeta: meta("neg"), Spec: ecsv1alpha1.ServiceSpec{
			TaskDefinition: "web", DesiredCount: aws.Int32(-1)}}, []string{"spec.desiredCount"}},
		{"launch type enum", &ecsv1alpha1.Service{ObjectMeta: meta("lt"), Spec: ecsv1alpha1.ServiceSpec{
			TaskDefinition: "web", LaunchType: "LAMBDA"}}, []string{"spec.launchType"}},
		{"percents", &ecsv1alpha1.Service{ObjectMeta: meta("pct"), Spec: ecsv1alpha1.ServiceSpec{
			TaskDefinition: "web", DeploymentConfiguration: &ecsv1alpha1.DeploymentConfiguration{
				MaximumPercent: aws.Int32(100), MinimumHealthyPercent: aws.Int32(50)}}}, []string{}},
		{"service name", &ecsv1alpha1.Service{ObjectMeta: meta("sn"), Spec: ecsv1alpha1.ServiceSpec{
			TaskDefinition: "web", ServiceName: "has space"}}, []string{"spec.serviceName"}},
		{"cluster and ref", &ecsv1alpha1.Task{ObjectMeta: meta("cr"), Spec: ecsv1alpha1.TaskSpec{
			TaskDefinition: "web", Cluster: "c", ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "c"}}}, []string{"at most one of cluster"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Create(ctx, tt.obj)
			if len(tt.parts) == 0 {
				if err != nil {
					t.Errorf("refused a valid object: %v", err)
				}
				return
			}
			errContains(t, err, tt.parts...)
		})
	}

	tagTests := []struct {
		name  string
		tag   ecsv1alpha1.Tag
		parts []string
	}{
		{"reserved key", ecsv1alpha1.Tag{Key: "AWS:team", Value: "a"}, []string{"spec.tags[0].key", "aws:"}},
		{"managed key", ecsv1alpha1.Tag{Key: "nodeless.dev/owner-uid", Value: "a"}, []string{"spec.tags[0].key", "nodeless.dev/"}},
		{"reserved value", ecsv1alpha1.Tag{Key: "team", Value: "aws:a"}, []string{"spec.tags[0].value", "aws:"}},
		{"characters", ecsv1alpha1.Tag{Key: "team!", Value: "a"}, []string{"spec.tags[0].key"}},
	}
	for _, tt := range tagTests {
		t.Run("tag "+tt.name, func(t *testing.T) {
			obj := &ecsv1alpha1.Cluster{ObjectMeta: meta("tags"), Spec: ecsv1alpha1.ClusterSpec{Tags: []ecsv1alpha1.Tag{tt.tag}}}
			errContains(t, c.Create(ctx, obj), tt.parts...)
		})
	}

	// Members ECS sets only at create: every member of a Task but its tags.
	task := &ecsv1alpha1.Task{ObjectMeta: meta("once"), Spec: ecsv1alpha1.TaskSpec{TaskDefinition: "web", Cluster: "c1"}}
	if err := c.Create(ctx, task); err != nil {
		t.Fatal(err)
	}
	task.Spec.Tags = []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}
	if err := c.Update(ctx, task); err != nil {
		t.Errorf("a tag change of a Task was refused: %v", err)
	}
	task.Spec.TaskDefinition = "web:2"
	errContains(t, c.Update(ctx, task), "taskDefinition cannot change", "delete the Task")
	task.Spec.TaskDefinition = "web"
	task.Spec.LaunchType = "FARGATE" // unset before: adding it is a change too
	errContains(t, c.Update(ctx, task), "launchType cannot change")

	svc := &ecsv1alpha1.Service{ObjectMeta: meta("moves"), Spec: ecsv1alpha1.ServiceSpec{
		TaskDefinition: "web", ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "a"}}}
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc.Spec.ClusterRef.Name = "b"
	errContains(t, c.Update(ctx, svc), "cluster and clusterRef cannot change")
	svc.Spec.ClusterRef = nil
	svc.Spec.Cluster = "a" // the same name, but no longer the Cluster object: another cluster
	errContains(t, c.Update(ctx, svc), "cluster and clusterRef cannot change")
	svc.Spec.Cluster, svc.Spec.ClusterRef = "", &ecsv1alpha1.LocalObjectReference{Name: "a"}
	svc.Spec.ServiceName = "moves" // metadata.name, its default: no change
	svc.Spec.Tags = []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}
	if err := c.Update(ctx, svc); err != nil {
		t.Errorf("setting serviceName to its default and a tag was refused: %v", err)
	}
	svc.Spec.ServiceName = "other"
	errContains(t, c.Update(ctx, svc), "spec.serviceName cannot change")
	got := &ecsv1alpha1.Service{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(svc), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.DesiredCount == nil || *got.Spec.DesiredCount != 1 {
		t.Errorf("desiredCount not defaulted to 1: %v", got.Spec.DesiredCount)
	}
}
