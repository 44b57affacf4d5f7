package model

import (
	"strconv"
	"time"
)

// PlatformVersionLatest is the Fargate platform version a task runs on when none is asked for (or
// LATEST is): tasks and deployments show the version they resolved to, as on ECS, while the service
// keeps what was asked for ("LATEST").
const PlatformVersionLatest = "1.4.0"

// ResolvePlatformVersion is the platform version a task or deployment runs on: v itself, or
// PlatformVersionLatest when v is nil, empty or "LATEST".
func ResolvePlatformVersion(v *string) *string {
	if v == nil || *v == "" || *v == "LATEST" {
		s := PlatformVersionLatest
		return &s
	}
	s := *v
	return &s
}

// NewTaskInput is what a new task takes from whoever launches it: RunTask (its members) or the
// service scheduler (the service and the deployment).
type NewTaskInput struct {
	// Cluster is the cluster's name; ID the task's ID (NewTaskID).
	Cluster string
	ID      string
	// Definition is the revision the task runs (required).
	Definition *TaskDefinition
	// Group defaults to "family:FAMILY" (RunTask); service tasks pass "service:NAME".
	Group     *string
	StartedBy *string
	// PlatformVersion as asked for; resolved with ResolvePlatformVersion.
	PlatformVersion *string
	// Overrides of RunTask; their cpu and memory replace the definition's task-level ones.
	Overrides            *TaskOverride
	Tags                 []Tag
	EnableExecuteCommand bool
	// NetworkConfiguration is RunTask's or the deployment's; its first subnet is the ENI's subnetId.
	NetworkConfiguration *NetworkConfiguration
	// CreatedAt is when the task was launched (truncated to the millisecond the wire keeps).
	CreatedAt time.Time
	// CapacityProvider the task was placed on by a capacity provider strategy; "" for none.
	CapacityProvider string
}

// NewTask is a task as ECS shows it right after it was launched, before the scheduler touched it:
// PROVISIONING, desired RUNNING, version 1, healthStatus UNKNOWN, its ENI attachment PRECREATED
// with only the subnetId (every runnable task is awsvpc), every container PENDING and
// UNKNOWN (ECS reports UNKNOWN for a container without a health check too), and overrides always
// present (empty when none were given), as ECS shows them on every task, service tasks included.
// It is the one place tasks are built: RunTask and the service scheduler both call it.
func NewTask(arns ARNs, in NewTaskInput) Task {
	def := in.Definition
	taskArn := arns.Task(in.Cluster, in.ID)
	t := Task{
		TaskArn: taskArn, ClusterArn: arns.Cluster(in.Cluster), TaskDefinitionArn: def.TaskDefinitionArn,
		Group: in.Group, StartedBy: in.StartedBy,
		LastStatus: TaskStatusProvisioning, DesiredStatus: TaskStatusRunning, Version: 1,
		LaunchType: LaunchTypeFargate, PlatformVersion: ResolvePlatformVersion(in.PlatformVersion),
		Cpu: def.Cpu, Memory: def.Memory, HealthStatus: HealthUnknown,
		CreatedAt: &Time{in.CreatedAt.UTC().Truncate(time.Millisecond)}, Tags: in.Tags,
		EnableExecuteCommand: in.EnableExecuteCommand, Overrides: &TaskOverride{},
		Containers:  make([]Container, 0, len(def.ContainerDefinitions)),
		Attachments: []Attachment{newENI(SubnetID(in.NetworkConfiguration))},
	}
	if t.Group == nil {
		t.Group = ptr("family:" + def.Family)
	}
	if in.CapacityProvider != "" {
		t.CapacityProviderName = ptr(in.CapacityProvider)
	}
	if in.Overrides != nil {
		o := *in.Overrides
		t.Overrides = &o
		t.Cpu = firstNonNil(o.Cpu, t.Cpu)
		t.Memory = firstNonNil(o.Memory, t.Memory)
	}
	if t.Overrides.ContainerOverrides == nil {
		t.Overrides.ContainerOverrides = []ContainerOverride{}
	}
	for i := range def.ContainerDefinitions {
		cd := &def.ContainerDefinitions[i]
		c := Container{
			ContainerArn: arns.Container(in.Cluster, in.ID, NewUUID()), TaskArn: taskArn, Name: deref(cd.Name),
			Image: cd.Image, LastStatus: TaskStatusPending, HealthStatus: HealthUnknown,
			NetworkBindings: []NetworkBinding{}, NetworkInterfaces: []NetworkInterface{},
			Cpu: ptr(strconv.Itoa(int(cd.Cpu))),
		}
		if cd.Memory != nil {
			c.Memory = ptr(strconv.Itoa(int(*cd.Memory)))
		}
		t.Containers = append(t.Containers, c)
	}
	return t
}

// NewDeployment is a PRIMARY deployment IN_PROGRESS of taskDefinition with desiredCount tasks,
// launched now, on the resolved platform version. Callers set RolloutStateReason (CreateService and
// UpdateService say "in progress", a circuit-breaker rollback says what it rolls back to).
func NewDeployment(taskDefinition string, desiredCount int32, platformVersion *string,
	nc *NetworkConfiguration, now time.Time) Deployment {
	at := now.UTC().Truncate(time.Millisecond)
	return Deployment{
		ID: NewDeploymentID(), Status: DeploymentPrimary, TaskDefinition: taskDefinition,
		DesiredCount: desiredCount, CreatedAt: &Time{at}, UpdatedAt: &Time{at}, LaunchType: LaunchTypeFargate,
		PlatformVersion: ResolvePlatformVersion(platformVersion), NetworkConfiguration: nc,
		RolloutState: RolloutInProgress,
	}
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func firstNonNil[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}
