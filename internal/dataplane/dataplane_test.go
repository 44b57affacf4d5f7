package dataplane_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/go-logr/logr/testr"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/testimage"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

func TestNewRefusesPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = dataplane.New(dataplane.Options{StateDir: t.TempDir(), Address: l.Addr().String(), Logger: testr.New(t)})
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "--address") {
		t.Fatalf("New on a port in use: %v", err)
	}
}

func TestNewWritesCredentialsAndBindsLoopback(t *testing.T) {
	dir := t.TempDir()
	d, err := dataplane.New(dataplane.Options{StateDir: dir, Address: "127.0.0.1:0", Logger: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !strings.HasPrefix(d.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("endpoint %s", d.Endpoint())
	}
	if d.CredentialsFile() != filepath.Join(dir, "credentials") {
		t.Errorf("credentials file %s", d.CredentialsFile())
	}
	fi, err := os.Stat(d.CredentialsFile())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	if d.Credentials().AccessKeyID == "" {
		t.Error("no credentials")
	}
}

func TestEndpointOnEveryAddress(t *testing.T) {
	d, err := dataplane.New(dataplane.Options{StateDir: t.TempDir(), Address: ":0", Logger: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !strings.HasPrefix(d.Endpoint(), "http://127.0.0.1:") || strings.HasSuffix(d.Endpoint(), ":0") {
		t.Errorf("endpoint %s", d.Endpoint())
	}
}

// TestDataPlane runs real containers: RunTask to RUNNING and an HTTP answer on the task's port, a
// service kept at its count, a restart that re-attaches without duplicating, and clean stops.
func TestDataPlane(t *testing.T) {
	env := dataplanetest.Start(t)
	image := env.LoadTestImage(t)
	ctx := context.Background()
	_, err := env.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(image), StopTimeout: aws.Int32(2),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(testimage.Port)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := env.ECS.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	task := waitTask(t, env.ECS, arn, "RUNNING", time.Minute)
	get(t, task)

	_, err = env.ECS.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("svc"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	waitService(t, env.ECS, "svc", 2, time.Minute)
	before := listTasks(t, env.ECS)

	env = env.Restart(t)
	after := listTasks(t, env.ECS)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("tasks before restart %v, after %v", before, after)
	}
	task = waitTask(t, env.ECS, arn, "RUNNING", 10*time.Second)
	get(t, task)
	waitService(t, env.ECS, "svc", 2, 30*time.Second)

	if _, err := env.ECS.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	stopped := waitTask(t, env.ECS, arn, "STOPPED", time.Minute)
	if stopped.StopCode != ecstypes.TaskStopCodeUserInitiated {
		t.Errorf("stopCode %s", stopped.StopCode)
	}
	if _, err := env.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("svc"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}

func waitTask(t *testing.T, c *ecs.Client, arn, status string, timeout time.Duration) ecstypes.Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) == 1 && aws.ToString(out.Tasks[0].LastStatus) == status {
			return out.Tasks[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not %s within %s: %+v", arn, status, timeout, out.Tasks)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitService(t *testing.T, c *ecs.Client, name string, running int32, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Services) == 1 && out.Services[0].RunningCount == running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s not at %d running within %s: %+v", name, running, timeout, out.Services)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func listTasks(t *testing.T, c *ecs.Client) []string {
	t.Helper()
	out, err := c.ListTasks(context.Background(), &ecs.ListTasksInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.TaskArns
}

// get asks the task's container for / on the host port its network binding names.
func get(t *testing.T, task ecstypes.Task) {
	t.Helper()
	b := task.Containers[0].NetworkBindings
	if len(b) != 1 {
		t.Fatalf("network bindings %+v", b)
	}
	url := fmt.Sprintf("http://%s:%d/", aws.ToString(b[0].BindIP), aws.ToInt32(b[0].HostPort))
	// RUNNING says the process started, not that it listens yet (ECS: the container's health
	// check says that): the port proxy resets a connection the application does not take yet. Try
	// every 100 ms for up to 10 s.
	var status int
	var body []byte
	testwait.For(t, 10*time.Second, 100*time.Millisecond, "GET "+url, func() (bool, string) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		body, _ = io.ReadAll(resp.Body)
		return true, ""
	})
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
}
