package fargate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

// accepted is the outcome of a request ECS accepts.
const accepted = "accepted"

// target is one ECS endpoint under test, with the subnet and security group its awsvpc requests name.
type target struct {
	ecs           *ecs.Client
	subnet, group string
}

// crossCase is one manifest: a task definition registered, or a RunTask / CreateService request
// for the task definitions every target starts with (setUp).
type crossCase struct {
	name string
	send func(context.Context, target) error
	// want is ECS's answer: accepted, or the error type.
	want string
	// moto is moto_server's answer where it differs from ECS's (moto's own gap, never the data
	// plane's): moto validates little of RegisterTaskDefinition for Fargate, nothing of
	// platformVersion, and networkConfiguration only on RunTask (and subnets' emptiness on
	// CreateService). Empty: moto answers as ECS.
	moto string
}

// TestSameAnswersAsECS applies each manifest to the local data plane in strict mode and to
// moto_server: the data plane answers as ECS does (accepted, or refused with ECS's error type);
// moto answers the same, except where the table records moto's own gap. A gap that moto closes
// fails the test, so that the table stays true.
func TestSameAnswersAsECS(t *testing.T) {
	cases := crossCases()
	if len(cases) < 20 {
		t.Fatalf("%d manifests; the check needs at least 20", len(cases))
	}
	t.Run("dataplane", func(t *testing.T) {
		e := ecsmem.Start(t, ecsmem.Options{Strict: true})
		// The data plane has one subnet and takes any well-formed identifier; these are moto's
		// default VPC's shapes (17 hex digits).
		tg := target{ecs: e.Client, subnet: "subnet-0123456789abcdef0", group: "sg-0123456789abcdef0"}
		run(t, tg, cases, func(c crossCase) string { return c.want })
	})
	t.Run("moto", func(t *testing.T) {
		endpoint := ecstest.StartMoto(t)
		client, err := ecsapi.NewClient(context.Background(), ecsapi.Options{
			Endpoint: endpoint, Region: ecstest.Region, AccessKeyID: ecstest.AccessKeyID, SecretAccessKey: ecstest.SecretAccessKey,
		})
		if err != nil {
			t.Fatal(err)
		}
		tg := target{ecs: client, subnet: motoID(t, endpoint, "DescribeSubnets", "subnetId"), group: motoID(t, endpoint, "DescribeSecurityGroups", "groupId")}
		run(t, tg, cases, func(c crossCase) string {
			if c.moto != "" {
				return c.moto
			}
			return c.want
		})
	})
}

func run(t *testing.T, tg target, cases []crossCase, want func(crossCase) string) {
	t.Helper()
	ctx := context.Background()
	setUp(t, ctx, tg)
	for _, c := range cases {
		got := outcome(c.send(ctx, tg))
		if w := want(c); got != w {
			t.Errorf("%s: answered %s, want %s", c.name, got, w)
		}
	}
}

// outcome is accepted, or the error type of err. An answer of HTTP 200 that the SDK cannot
// decode is accepted too: moto's RunTask answers numbers where ECS's model has strings (task cpu
// and memory), which is a gap of moto's answer, not of what it accepts.
func outcome(err error) string {
	if err == nil {
		return accepted
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusOK {
		return accepted
	}
	return "error: " + err.Error()
}

// setUp creates the cluster "check" and registers the task definitions the launch cases run:
// "web" (FARGATE, awsvpc, 256/512) and "plain" (awsvpc, 256/512, no requiresCompatibilities).
func setUp(t *testing.T, ctx context.Context, tg target) {
	t.Helper()
	if _, err := tg.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("check")}); err != nil {
		t.Fatalf("creating the cluster: %v", err)
	}
	for _, in := range []*ecs.RegisterTaskDefinitionInput{fargateTD("web"), func() *ecs.RegisterTaskDefinitionInput {
		in := fargateTD("plain")
		in.RequiresCompatibilities = nil
		return in
	}()} {
		if _, err := tg.ecs.RegisterTaskDefinition(ctx, in); err != nil {
			t.Fatalf("registering %s: %v", aws.ToString(in.Family), err)
		}
	}
}

// fargateTD is a task definition Fargate runs: awsvpc, 256 CPU units, 512 MiB, one container.
func fargateTD(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			// Container memory, which ECS does not need: moto's RunTask fails without it.
			Name: aws.String("app"), Image: aws.String("public.ecr.aws/docker/library/nginx:latest"), Essential: aws.Bool(true), Memory: aws.Int32(512),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(80)}},
		}},
	}
}

// register is a case that registers fargateTD changed by mutate.
func register(name, want, moto string, mutate func(*ecs.RegisterTaskDefinitionInput)) crossCase {
	return crossCase{name: "RegisterTaskDefinition: " + name, want: want, moto: moto, send: func(ctx context.Context, tg target) error {
		in := fargateTD("td" + fmt.Sprint(len(name)))
		mutate(in)
		_, err := tg.ecs.RegisterTaskDefinition(ctx, in)
		return err
	}}
}

// runTask is a case that runs one task of family with the launch members set by mutate.
func runTask(name, want, moto, family string, mutate func(*ecs.RunTaskInput, target)) crossCase {
	return crossCase{name: "RunTask: " + name, want: want, moto: moto, send: func(ctx context.Context, tg target) error {
		in := &ecs.RunTaskInput{Cluster: aws.String("check"), TaskDefinition: aws.String(family), LaunchType: ecstypes.LaunchTypeFargate}
		mutate(in, tg)
		_, err := tg.ecs.RunTask(ctx, in)
		return err
	}}
}

// createService is a case that creates a service of "web" (no tasks) with the members set by mutate.
func createService(name, want, moto string, mutate func(*ecs.CreateServiceInput, target)) crossCase {
	return crossCase{name: "CreateService: " + name, want: want, moto: moto, send: func(ctx context.Context, tg target) error {
		in := &ecs.CreateServiceInput{
			Cluster: aws.String("check"), ServiceName: aws.String(serviceName(name)), TaskDefinition: aws.String("web"),
			DesiredCount: aws.Int32(0), LaunchType: ecstypes.LaunchTypeFargate,
		}
		mutate(in, tg)
		_, err := tg.ecs.CreateService(ctx, in)
		return err
	}}
}

var nonName = regexp.MustCompile(`[^a-zA-Z0-9]+`)

func serviceName(caseName string) string {
	return strings.Trim(nonName.ReplaceAllString(caseName, "-"), "-")
}

// network is an awsvpcConfiguration of the target's subnet and security group.
func network(tg target) *ecstypes.NetworkConfiguration {
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		Subnets: []string{tg.subnet}, SecurityGroups: []string{tg.group},
	}}
}

const (
	client  = "ClientException"
	invalid = "InvalidParameterException"
)

func crossCases() []crossCase {
	first := func(in *ecs.RegisterTaskDefinitionInput) *ecstypes.ContainerDefinition {
		return &in.ContainerDefinitions[0]
	}
	awslogs := &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": "g", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "p",
	}}
	return []crossCase{
		register("a Fargate task definition", accepted, "", func(*ecs.RegisterTaskDefinitionInput) {}),
		register("cpu in vCPU, memory in GB", accepted, "", func(in *ecs.RegisterTaskDefinitionInput) {
			in.Cpu, in.Memory = aws.String("0.5 vCPU"), aws.String("1 GB")
		}),
		register("networkMode bridge", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { in.NetworkMode = ecstypes.NetworkModeBridge }),
		register("no networkMode", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { in.NetworkMode = "" }),
		register("no task cpu", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { in.Cpu = nil }),
		register("256 CPU with 4096 MiB", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { in.Memory = aws.String("4096") }),
		register("pidMode host", client, "", func(in *ecs.RegisterTaskDefinitionInput) { in.PidMode = ecstypes.PidModeHost }),
		register("pidMode task", accepted, "", func(in *ecs.RegisterTaskDefinitionInput) { in.PidMode = ecstypes.PidModeTask }),
		register("ipcMode host", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { in.IpcMode = ecstypes.IpcModeHost }),
		register("privileged", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { first(in).Privileged = aws.Bool(true) }),
		register("links", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { first(in).Links = []string{"db"} }),
		register("dnsServers", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { first(in).DnsServers = []string{"10.0.0.2"} }),
		register("hostPort differs from containerPort", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) {
			first(in).PortMappings[0].HostPort = aws.Int32(8080)
		}),
		register("hostPort equals containerPort", accepted, "", func(in *ecs.RegisterTaskDefinitionInput) {
			first(in).PortMappings[0].HostPort = aws.Int32(80)
		}),
		register("hostname", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { first(in).Hostname = aws.String("web") }),
		register("awslogs without executionRoleArn", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { first(in).LogConfiguration = awslogs }),
		register("awslogs with executionRoleArn", accepted, "", func(in *ecs.RegisterTaskDefinitionInput) {
			first(in).LogConfiguration = awslogs
			in.ExecutionRoleArn = aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
		}),
		register("a container's memory above the task's", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) { first(in).Memory = aws.Int32(1024) }),
		register("a container without name", client, "", func(in *ecs.RegisterTaskDefinitionInput) { first(in).Name = nil }),
		register("Docker volume", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) {
			in.Volumes = []ecstypes.Volume{{Name: aws.String("v"), DockerVolumeConfiguration: &ecstypes.DockerVolumeConfiguration{Driver: aws.String("local")}}}
		}),
		register("placementConstraints", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) {
			in.PlacementConstraints = []ecstypes.TaskDefinitionPlacementConstraint{{Type: ecstypes.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.os-type == linux")}}
		}),
		register("linuxParameters.devices", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) {
			first(in).LinuxParameters = &ecstypes.LinuxParameters{Devices: []ecstypes.Device{{HostPath: aws.String("/dev/fuse")}}}
		}),
		register("secrets without executionRoleArn", client, accepted, func(in *ecs.RegisterTaskDefinitionInput) {
			first(in).Secrets = []ecstypes.Secret{{Name: aws.String("TOKEN"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:token")}}
		}),
		register("a container without image", client, "", func(in *ecs.RegisterTaskDefinitionInput) { first(in).Image = nil }),

		runTask("with networkConfiguration", accepted, "", "web", func(in *ecs.RunTaskInput, tg target) { in.NetworkConfiguration = network(tg) }),
		runTask("without networkConfiguration", invalid, "", "web", func(*ecs.RunTaskInput, target) {}),
		runTask("platformVersion 1.4.0", accepted, "", "web", func(in *ecs.RunTaskInput, tg target) {
			in.NetworkConfiguration, in.PlatformVersion = network(tg), aws.String("1.4.0")
		}),
		runTask("platformVersion 9.9.9", invalid, accepted, "web", func(in *ecs.RunTaskInput, tg target) {
			in.NetworkConfiguration, in.PlatformVersion = network(tg), aws.String("9.9.9")
		}),
		runTask("a task definition without FARGATE compatibility", invalid, accepted, "plain", func(in *ecs.RunTaskInput, tg target) {
			in.NetworkConfiguration = network(tg)
		}),

		createService("with networkConfiguration", accepted, "", func(in *ecs.CreateServiceInput, tg target) { in.NetworkConfiguration = network(tg) }),
		createService("without networkConfiguration", invalid, accepted, func(*ecs.CreateServiceInput, target) {}),
		createService("with no subnets", invalid, "", func(in *ecs.CreateServiceInput, tg target) {
			in.NetworkConfiguration = network(tg)
			in.NetworkConfiguration.AwsvpcConfiguration.Subnets = []string{}
		}),
		createService("platformVersion 9.9.9", invalid, accepted, func(in *ecs.CreateServiceInput, tg target) {
			in.NetworkConfiguration, in.PlatformVersion = network(tg), aws.String("9.9.9")
		}),
		createService("malformed subnet", invalid, "", func(in *ecs.CreateServiceInput, tg target) {
			in.NetworkConfiguration = network(tg)
			in.NetworkConfiguration.AwsvpcConfiguration.Subnets = []string{"my-subnet"}
		}),
	}
}

// motoID is the first <member> of moto's answer to the EC2 query action (moto's default VPC
// has subnets and a default security group from the start).
func motoID(t *testing.T, endpoint, action, member string) string {
	t.Helper()
	form := url.Values{"Action": {action}, "Version": {"2016-11-15"}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// moto reads the region from the credential scope; it does not check the signature.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+ecstest.AccessKeyID+"/20260101/"+ecstest.Region+"/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("asking moto's EC2 for %s: %v", action, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("<" + member + ">([^<]+)</" + member + ">").FindSubmatch(body)
	if m == nil {
		t.Fatalf("moto's %s answer has no %s: %s", action, member, body)
	}
	return string(m[1])
}
