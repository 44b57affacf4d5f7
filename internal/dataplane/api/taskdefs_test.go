package api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTaskDefinitions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := web("web")
	in.Tags = []ecstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
	r1 := must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, in))
	td := r1.TaskDefinition
	if aws.ToString(td.TaskDefinitionArn) != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1" || td.Revision != 1 {
		t.Fatalf("first revision: %s %d", aws.ToString(td.TaskDefinitionArn), td.Revision)
	}
	app := td.ContainerDefinitions[0]
	if !aws.ToBool(app.Essential) || aws.ToInt32(app.PortMappings[0].HostPort) != 8080 || app.PortMappings[0].Protocol != ecstypes.TransportProtocolTcp {
		t.Errorf("defaults not filled as ECS does: essential %v hostPort %v protocol %v", app.Essential, app.PortMappings[0].HostPort, app.PortMappings[0].Protocol)
	}
	if diff := cmp.Diff([]ecstypes.Compatibility{ecstypes.CompatibilityFargate}, td.Compatibilities); diff != "" {
		t.Errorf("compatibilities (-want +got):\n%s", diff)
	}
	if td.RegisteredAt == nil || td.Status != ecstypes.TaskDefinitionStatusActive {
		t.Errorf("registeredAt %v status %s", td.RegisteredAt, td.Status)
	}

	// cpu/memory in vCPU/GB are normalised to units/MiB, as ECS does
	in2 := web("web")
	in2.Cpu, in2.Memory = aws.String("0.5 vCPU"), aws.String("1 GB")
	r2 := must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, in2))
	if r2.TaskDefinition.Revision != 2 || aws.ToString(r2.TaskDefinition.Cpu) != "512" || aws.ToString(r2.TaskDefinition.Memory) != "1024" {
		t.Errorf("second revision: %d cpu %s memory %s", r2.TaskDefinition.Revision, aws.ToString(r2.TaskDefinition.Cpu), aws.ToString(r2.TaskDefinition.Memory))
	}
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("worker")))
	checkDescribeAndDeregister(t, e)
	checkListTaskDefinitions(t, e)
}

func checkDescribeAndDeregister(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	// describe: by family (latest ACTIVE), family:rev, ARN; tags only when asked
	for _, ref := range []string{"web", "web:2", "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2"} {
		d := must[*ecs.DescribeTaskDefinitionOutput](t)(e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)}))
		if d.TaskDefinition.Revision != 2 || d.Tags != nil {
			t.Errorf("describe %s: revision %d tags %v", ref, d.TaskDefinition.Revision, d.Tags)
		}
	}
	d1 := must[*ecs.DescribeTaskDefinitionOutput](t)(e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String("web:1"), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	}))
	if diff := cmp.Diff([]string{"k=v"}, tagStrings(d1.Tags)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// deregister: INACTIVE, still describable, revisions keep increasing
	dr := must[*ecs.DeregisterTaskDefinitionOutput](t)(e.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")}))
	if dr.TaskDefinition.Status != ecstypes.TaskDefinitionStatusInactive || dr.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("deregistered: %s %v", dr.TaskDefinition.Status, dr.TaskDefinition.DeregisteredAt)
	}
	latest := must[*ecs.DescribeTaskDefinitionOutput](t)(e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")}))
	if latest.TaskDefinition.Revision != 1 {
		t.Errorf("latest ACTIVE after deregistering 2: %d", latest.TaskDefinition.Revision)
	}
	inactive := must[*ecs.DescribeTaskDefinitionOutput](t)(e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:2")}))
	if inactive.TaskDefinition.Status != ecstypes.TaskDefinitionStatusInactive {
		t.Errorf("web:2 status %s", inactive.TaskDefinition.Status)
	}
	r3 := must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	if r3.TaskDefinition.Revision != 3 {
		t.Errorf("revision after a deregistration: %d, want 3", r3.TaskDefinition.Revision)
	}
}

func checkListTaskDefinitions(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	listArns := func(in *ecs.ListTaskDefinitionsInput) []string {
		return must[*ecs.ListTaskDefinitionsOutput](t)(e.ecs.ListTaskDefinitions(ctx, in)).TaskDefinitionArns
	}
	prefix := "arn:aws:ecs:us-east-1:000000000000:task-definition/"
	for name, tc := range map[string]struct {
		in   *ecs.ListTaskDefinitionsInput
		want []string
	}{
		"active":    {&ecs.ListTaskDefinitionsInput{}, []string{"web:1", "web:3", "worker:1"}},
		"desc":      {&ecs.ListTaskDefinitionsInput{Sort: ecstypes.SortOrderDesc}, []string{"worker:1", "web:3", "web:1"}},
		"family":    {&ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("worker")}, []string{"worker:1"}},
		"no prefix": {&ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("wo")}, nil},
		"inactive":  {&ecs.ListTaskDefinitionsInput{Status: ecstypes.TaskDefinitionStatusInactive}, []string{"web:2"}},
	} {
		var want []string
		for _, w := range tc.want {
			want = append(want, prefix+w)
		}
		if diff := cmp.Diff(want, listArns(tc.in), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// pagination through DESC order
	var got []string
	var token *string
	for {
		page := must[*ecs.ListTaskDefinitionsOutput](t)(e.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{Sort: ecstypes.SortOrderDesc, MaxResults: aws.Int32(2), NextToken: token}))
		got = append(got, page.TaskDefinitionArns...)
		if token = page.NextToken; token == nil {
			break
		}
	}
	if diff := cmp.Diff([]string{prefix + "worker:1", prefix + "web:3", prefix + "web:1"}, got); diff != "" {
		t.Errorf("paged DESC (-want +got):\n%s", diff)
	}

	fam := must[*ecs.ListTaskDefinitionFamiliesOutput](t)(e.ecs.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{Status: ecstypes.TaskDefinitionFamilyStatusActive}))
	if diff := cmp.Diff([]string{"web", "worker"}, fam.Families); diff != "" {
		t.Errorf("families (-want +got):\n%s", diff)
	}
	must[*ecs.DeregisterTaskDefinitionOutput](t)(e.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("worker:1")}))
	famIn := must[*ecs.ListTaskDefinitionFamiliesOutput](t)(e.ecs.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{Status: ecstypes.TaskDefinitionFamilyStatusInactive}))
	if diff := cmp.Diff([]string{"worker"}, famIn.Families); diff != "" {
		t.Errorf("inactive families (-want +got):\n%s", diff)
	}
	famAll := must[*ecs.ListTaskDefinitionFamiliesOutput](t)(e.ecs.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("w")}))
	if diff := cmp.Diff([]string{"web", "worker"}, famAll.Families); diff != "" {
		t.Errorf("families by default ACTIVE and INACTIVE, by prefix (-want +got):\n%s", diff)
	}
}

func TestTaskDefinitionValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		mutate func(*ecs.RegisterTaskDefinitionInput)
		code   string
		parts  []string
	}{
		"bridge": {func(in *ecs.RegisterTaskDefinitionInput) { in.NetworkMode = ecstypes.NetworkModeBridge },
			"ClientException", []string{"networkMode", "awsvpc"}}, // Fargate's refusal (package fargate)
		"fargate without networkMode": {func(in *ecs.RegisterTaskDefinitionInput) { in.NetworkMode = "" },
			"ClientException", []string{"networkMode", "awsvpc"}},
		"EC2": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities = []ecstypes.Compatibility{ecstypes.CompatibilityEc2}
		}, "InvalidParameterException", []string{"requiresCompatibilities[0]", "FARGATE"}},
		"bad fargate pair": {func(in *ecs.RegisterTaskDefinitionInput) { in.Memory = aws.String("4096") },
			"ClientException", []string{"memory", "cpu 256", "512"}},
		"no cpu": {func(in *ecs.RegisterTaskDefinitionInput) { in.Cpu = nil },
			"ClientException", []string{"cpu"}},
		"duplicate container name": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[1].Name = aws.String("app") },
			"InvalidParameterException", []string{"containerDefinitions[1].name", "unique"}},
		"dependsOn unknown": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[1].DependsOn[0].ContainerName = aws.String("db")
		}, "InvalidParameterException", []string{"containerDefinitions[1].dependsOn[0].containerName", "db"}},
		"dependsOn bad condition": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[1].DependsOn[0].Condition = "READY"
		}, "InvalidParameterException", []string{"containerDefinitions[1].dependsOn[0].condition", "READY"}},
		"dependsOn healthy without check": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].HealthCheck = nil },
			"InvalidParameterException", []string{"containerDefinitions[1].dependsOn[0].condition", "healthCheck"}},
		"dependsOn cycle": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].DependsOn = []ecstypes.ContainerDependency{{ContainerName: aws.String("sidecar"), Condition: ecstypes.ContainerConditionStart}}
		}, "InvalidParameterException", []string{"cycle"}},
		"healthCheck command": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].HealthCheck.Command = []string{"curl", "localhost"}
		}, "InvalidParameterException", []string{"containerDefinitions[0].healthCheck.command", "CMD-SHELL"}},
		"healthCheck interval": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].HealthCheck.Interval = aws.Int32(1)
		}, "InvalidParameterException", []string{"containerDefinitions[0].healthCheck.interval", "5 to 300"}},
		"no essential": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Essential = aws.Bool(false) },
			"ClientException", []string{"essential"}},
		"image with space": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Image = aws.String("nginx latest")
		},
			"InvalidParameterException", []string{"containerDefinitions[0].image", "image reference"}},
		"bad digest": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Image = aws.String("nginx@sha256:abc")
		},
			"InvalidParameterException", []string{"containerDefinitions[0].image"}},
		"no image": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Image = nil },
			"ClientException", []string{"containerDefinitions[0].image", "should not be null or empty"}},
		"hostPort differs": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].PortMappings[0].HostPort = aws.Int32(80)
		}, "ClientException", []string{"containerDefinitions[0].portMappings[0].hostPort", "must match"}},
		"port twice": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[1].PortMappings = []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}
		}, "InvalidParameterException", []string{"containerDefinitions[1].portMappings[0].containerPort", "8080/tcp"}},
		"stopTimeout": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].StopTimeout = aws.Int32(500) },
			"InvalidParameterException", []string{"containerDefinitions[0].stopTimeout"}},
		"restartAttemptPeriod": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].RestartPolicy = &ecstypes.ContainerRestartPolicy{Enabled: aws.Bool(true), RestartAttemptPeriod: aws.Int32(30)}
		}, "InvalidParameterException", []string{"containerDefinitions[0].restartPolicy.restartAttemptPeriod", "60 to 1800"}},
		"containers above task memory": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Memory = aws.Int32(1024) },
			"ClientException", []string{"containerDefinitions[0].memory", "greater than for the task"}},
		"unsupported member": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LinuxParameters = &ecstypes.LinuxParameters{InitProcessEnabled: aws.Bool(true)}
		}, "InvalidParameterException", []string{"containerDefinitions[0].linuxParameters", "not supported"}},
		"mount of unknown volume": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].MountPoints = []ecstypes.MountPoint{{SourceVolume: aws.String("data"), ContainerPath: aws.String("/data")}}
		}, "InvalidParameterException", []string{"containerDefinitions[0].mountPoints[0].sourceVolume"}},
		"bad family": {func(in *ecs.RegisterTaskDefinitionInput) { in.Family = aws.String("a/b") },
			"InvalidParameterException", []string{"family"}},
	} {
		t.Run(name, func(t *testing.T) {
			in := web("v")
			tc.mutate(in)
			_, err := e.ecs.RegisterTaskDefinition(ctx, in)
			wantAPIError(t, err, tc.code, tc.parts...)
		})
	}

	for name, tc := range map[string]struct {
		call  func() error
		code  string
		parts []string
	}{
		"describe missing": {func() error {
			_, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope:3")})
			return err
		}, "ClientException", []string{"nope:3"}},
		"deregister without revision": {func() error {
			_, err := e.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web")})
			return err
		}, "InvalidParameterException", []string{"taskDefinition", "revision"}},
		"bad revision": {func() error {
			_, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:x")})
			return err
		}, "InvalidParameterException", []string{"taskDefinition"}},
	} {
		t.Run(name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code, tc.parts...) })
	}
}
