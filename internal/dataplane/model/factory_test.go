package model

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testARNs = ARNs{Region: "us-east-1", Account: "000000000000"}

func testDefinition() *TaskDefinition {
	return &TaskDefinition{
		TaskDefinitionArn: testARNs.TaskDefinition("web", 3), Family: "web", Revision: 3, Cpu: ptr("256"), Memory: ptr("512"),
		ContainerDefinitions: []ContainerDefinition{
			{Name: ptr("app"), Image: ptr("app:1"), Cpu: 128, Memory: ptr(int32(256)), HealthCheck: &HealthCheck{Command: []string{"CMD", "true"}}},
			{Name: ptr("log"), Image: ptr("log:1")},
		},
	}
}

// TestNewTask holds what RunTask and the service scheduler launch, and the differences between
// them, which come only from their inputs.
func TestNewTask(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	id := "0123456789abcdef0123456789abcdef"
	arn := testARNs.Task("c1", id)
	containers := []Container{
		{TaskArn: arn, Name: "app", Image: ptr("app:1"), LastStatus: TaskStatusPending, HealthStatus: HealthUnknown,
			NetworkBindings: []NetworkBinding{}, NetworkInterfaces: []NetworkInterface{}, Cpu: ptr("128"), Memory: ptr("256")},
		{TaskArn: arn, Name: "log", Image: ptr("log:1"), LastStatus: TaskStatusPending, HealthStatus: HealthUnknown,
			NetworkBindings: []NetworkBinding{}, NetworkInterfaces: []NetworkInterface{}, Cpu: ptr("0")},
	}
	base := func(mutate func(*Task)) Task {
		tk := Task{
			TaskArn: arn, ClusterArn: testARNs.Cluster("c1"), TaskDefinitionArn: testARNs.TaskDefinition("web", 3),
			Group: ptr("family:web"), LastStatus: TaskStatusProvisioning, DesiredStatus: TaskStatusRunning, Version: 1,
			LaunchType: LaunchTypeFargate, PlatformVersion: ptr(PlatformVersionLatest), Cpu: ptr("256"), Memory: ptr("512"),
			Containers: containers, Overrides: &TaskOverride{ContainerOverrides: []ContainerOverride{}},
			HealthStatus: HealthUnknown, CreatedAt: &Time{at.Truncate(time.Millisecond)},
			Attachments: []Attachment{{Type: AttachmentTypeENI, Status: AttachmentPrecreated,
				Details: []KeyValuePair{{Name: ptr(ENISubnetID), Value: ptr(DefaultSubnetID)}}}},
		}
		mutate(&tk)
		return tk
	}
	tests := []struct {
		name string
		in   NewTaskInput
		want Task
	}{{
		name: "RunTask without members: group from the family, latest platform, empty overrides",
		in:   NewTaskInput{},
		want: base(func(*Task) {}),
	}, {
		name: "RunTask with overrides, tags, group, startedBy and LATEST",
		in: NewTaskInput{
			Group: ptr("batch"), StartedBy: ptr("me"), PlatformVersion: ptr("LATEST"), Tags: []Tag{{Key: ptr("k"), Value: ptr("v")}},
			Overrides: &TaskOverride{Cpu: ptr("512"), Memory: ptr("1024"), ContainerOverrides: []ContainerOverride{{Name: ptr("app"), Command: []string{"x"}}}},
		},
		want: base(func(tk *Task) {
			tk.Group, tk.StartedBy, tk.Tags = ptr("batch"), ptr("me"), []Tag{{Key: ptr("k"), Value: ptr("v")}}
			tk.Cpu, tk.Memory = ptr("512"), ptr("1024")
			tk.Overrides = &TaskOverride{Cpu: ptr("512"), Memory: ptr("1024"), ContainerOverrides: []ContainerOverride{{Name: ptr("app"), Command: []string{"x"}}}}
		}),
	}, {
		name: "service task: group names the service, startedBy the deployment, the deployment's platform version",
		in: NewTaskInput{
			Group: ptr("service:web"), StartedBy: ptr("ecs-svc/1234567890123456789"), PlatformVersion: ptr("1.3.0"),
			EnableExecuteCommand: true,
		},
		want: base(func(tk *Task) {
			tk.Group, tk.StartedBy, tk.PlatformVersion = ptr("service:web"), ptr("ecs-svc/1234567890123456789"), ptr("1.3.0")
			tk.EnableExecuteCommand = true
		}),
	}, {
		name: "awsvpcConfiguration: the ENI's subnetId is its first subnet",
		in: NewTaskInput{NetworkConfiguration: &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{
			Subnets: []string{"subnet-0a", "subnet-0b"}, SecurityGroups: []string{"sg-1"}}}},
		want: base(func(tk *Task) { tk.Attachments[0].Details[0].Value = ptr("subnet-0a") }),
	}}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	containerArn := regexp.MustCompile(`^arn:aws:ecs:us-east-1:000000000000:container/c1/` + id + `/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Cluster, in.ID, in.Definition, in.CreatedAt = "c1", id, testDefinition(), at
			got := NewTask(testARNs, in)
			for i := range got.Containers {
				if !containerArn.MatchString(got.Containers[i].ContainerArn) {
					t.Errorf("container %d ARN %q", i, got.Containers[i].ContainerArn)
				}
				got.Containers[i].ContainerArn = ""
			}
			for i := range got.Attachments {
				if !uuid.MatchString(got.Attachments[i].ID) {
					t.Errorf("attachment %d ID %q", i, got.Attachments[i].ID)
				}
				got.Attachments[i].ID = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NewTask (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewTaskCopiesOverrides: the task never shares the caller's overrides.
func TestNewTaskCopiesOverrides(t *testing.T) {
	o := &TaskOverride{Cpu: ptr("512")}
	got := NewTask(testARNs, NewTaskInput{Cluster: "c1", ID: NewTaskID(), Definition: testDefinition(), Overrides: o})
	if got.Overrides == o || o.ContainerOverrides != nil {
		t.Errorf("NewTask shares or changed the caller's overrides: %+v", o)
	}
}

func TestNewDeployment(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	nc := &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{Subnets: []string{"s"}}}
	got := NewDeployment("td", 3, nil, nc, at)
	if !regexp.MustCompile(`^ecs-svc/[1-9][0-9]{18}$`).MatchString(got.ID) {
		t.Errorf("deployment ID %q", got.ID)
	}
	got.ID = ""
	want := Deployment{Status: DeploymentPrimary, TaskDefinition: "td", DesiredCount: 3, CreatedAt: &Time{at}, UpdatedAt: &Time{at},
		LaunchType: LaunchTypeFargate, PlatformVersion: ptr(PlatformVersionLatest), NetworkConfiguration: nc, RolloutState: RolloutInProgress}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NewDeployment (-want +got):\n%s", diff)
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		for _, id := range []string{NewTaskID(), NewUUID(), NewDeploymentID()} {
			if seen[id] {
				t.Fatalf("ID %s made twice", id)
			}
			seen[id] = true
		}
	}
	if id := NewTaskID(); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("task ID %q", id)
	}
	if id := NewUUID(); len(id) != 36 || strings.ToLower(id) != id {
		t.Errorf("UUID %q", id)
	}
}

func TestResolvePlatformVersion(t *testing.T) {
	for in, want := range map[string]string{"": PlatformVersionLatest, "LATEST": PlatformVersionLatest, "1.3.0": "1.3.0"} {
		if got := *ResolvePlatformVersion(&in); got != want {
			t.Errorf("ResolvePlatformVersion(%q) = %q, want %q", in, got, want)
		}
	}
	if got := *ResolvePlatformVersion(nil); got != PlatformVersionLatest {
		t.Errorf("ResolvePlatformVersion(nil) = %q", got)
	}
}
