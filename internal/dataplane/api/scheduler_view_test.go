package api_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// TestWhatTheSchedulerWrote checks the API's view of records the scheduler changes: cluster counts
// from task states, ListTasks by service, and the stored task through DescribeTasks.
func TestWhatTheSchedulerWrote(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	createWeb(t, e, "api", 3)
	run := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(3)}))
	statuses := []string{model.TaskStatusRunning, model.TaskStatusPending, model.TaskStatusStopped}
	err := e.store.Update(func(tx *store.Tx) error {
		for i, task := range run.Tasks {
			id := lastSegment(aws.ToString(task.TaskArn))
			rec, err := tx.GetTask("default", id)
			if err != nil {
				return err
			}
			rec.Task.LastStatus = statuses[i]
			rec.Task.Version++
			if i < 2 {
				rec.ServiceName = "api"
				rec.Task.StartedBy = aws.String("ecs-svc/1234567890123456789")
			}
			if err := tx.PutTask("default", id, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := must[*ecs.DescribeClustersOutput](t)(e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"default"}})).Clusters[0]
	if c.RunningTasksCount != 1 || c.PendingTasksCount != 1 || c.ActiveServicesCount != 1 {
		t.Errorf("counts: running %d pending %d services %d", c.RunningTasksCount, c.PendingTasksCount, c.ActiveServicesCount)
	}
	byService := must[*ecs.ListTasksOutput](t)(e.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("api")}))
	if len(byService.TaskArns) != 2 {
		t.Errorf("ListTasks serviceName: %v", byService.TaskArns)
	}
	desc := must[*ecs.DescribeTasksOutput](t)(e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}}))
	if aws.ToString(desc.Tasks[0].LastStatus) != "RUNNING" || desc.Tasks[0].Version != 2 {
		t.Errorf("described: %s version %d", aws.ToString(desc.Tasks[0].LastStatus), desc.Tasks[0].Version)
	}
}

func TestOverridesAndPlatform(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := web("web")
	arch := map[string]ecstypes.CPUArchitecture{"amd64": ecstypes.CPUArchitectureX8664, "arm64": ecstypes.CPUArchitectureArm64}[runtime.GOARCH]
	in.RuntimePlatform = &ecstypes.RuntimePlatform{CpuArchitecture: arch, OperatingSystemFamily: ecstypes.OSFamilyLinux}
	in.EphemeralStorage = &ecstypes.EphemeralStorage{SizeInGiB: 30}
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, in))
	run := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Overrides: &ecstypes.TaskOverride{
		Cpu: aws.String("512"), Memory: aws.String("1024"),
		ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("app"), Command: []string{"-listen", ":9"}}},
	}}))
	task := run.Tasks[0]
	if aws.ToString(task.Cpu) != "512" || aws.ToString(task.Memory) != "1024" || len(task.Overrides.ContainerOverrides) != 1 {
		t.Errorf("overridden task: cpu %s memory %s overrides %+v", aws.ToString(task.Cpu), aws.ToString(task.Memory), task.Overrides)
	}
	_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Overrides: &ecstypes.TaskOverride{Cpu: aws.String("256"), Memory: aws.String("8192")}})
	wantAPIError(t, err, "InvalidParameterException", "overrides", "Fargate")

	// typ is the error type when not InvalidParameterException: ClientException for what
	// Fargate refuses (package fargate), as ECS answers RegisterTaskDefinition.
	for name, tc := range map[string]struct {
		mutate func(*ecs.RegisterTaskDefinitionInput)
		parts  []string
		typ    string
	}{
		"windows": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.RuntimePlatform = &ecstypes.RuntimePlatform{OperatingSystemFamily: ecstypes.OSFamilyWindowsServer2022Core}
		}, []string{"runtimePlatform.operatingSystemFamily", "LINUX"}, ""},
		"storage": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.EphemeralStorage = &ecstypes.EphemeralStorage{SizeInGiB: 500}
		},
			[]string{"ephemeralStorage.sizeInGiB", "21 to 200"}, ""},
		"host volume": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.Volumes = []ecstypes.Volume{{Name: aws.String("v"), Host: &ecstypes.HostVolumeProperties{SourcePath: aws.String("/etc")}}}
		}, []string{"volumes[0].host.sourcePath", "not support"}, "ClientException"},
		"privileged": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Privileged = aws.Bool(true) },
			[]string{"containerDefinitions[0].privileged"}, "ClientException"},
		"hostname": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Hostname = aws.String("h") },
			[]string{"containerDefinitions[0].hostname", "awsvpc"}, "ClientException"},
		"env name": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Environment[0].Name = nil },
			[]string{"containerDefinitions[0].environment[0].name"}, ""},
		"tiny memory": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Memory = aws.Int32(4) },
			[]string{"containerDefinitions[0].memory", "6 MiB"}, ""},
		"reservation above memory": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Memory, in.ContainerDefinitions[0].MemoryReservation = aws.Int32(64), aws.Int32(128)
		}, []string{"containerDefinitions[0].memoryReservation"}, ""},
		"ipcMode":  {func(in *ecs.RegisterTaskDefinitionInput) { in.IpcMode = ecstypes.IpcModeHost }, []string{"ipcMode"}, "ClientException"},
		"pid host": {func(in *ecs.RegisterTaskDefinitionInput) { in.PidMode = ecstypes.PidModeHost }, []string{"pidMode"}, "ClientException"},
		// The local data plane runs every definition on Fargate in awsvpc mode: Fargate's member
		// rules apply even where requiresCompatibilities and networkMode are not given.
		"privileged, no FARGATE asked": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities, in.NetworkMode = nil, ""
			in.ContainerDefinitions[0].Privileged = aws.Bool(true)
		}, []string{"containerDefinitions[0].privileged"}, "ClientException"},
		"ipcMode, no FARGATE asked": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities, in.NetworkMode, in.IpcMode = nil, "", ecstypes.IpcModeNone
		}, []string{"ipcMode"}, "ClientException"},
		"volume twice": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.Volumes = []ecstypes.Volume{{Name: aws.String("v")}, {Name: aws.String("v")}}
		}, []string{"volumes[1].name"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			in := web("v")
			tc.mutate(in)
			_, err := e.ecs.RegisterTaskDefinition(ctx, in)
			typ := tc.typ
			if typ == "" {
				typ = "InvalidParameterException"
			}
			wantAPIError(t, err, typ, tc.parts...)
		})
	}
}
