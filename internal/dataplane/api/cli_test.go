package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr/testr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// awsCLI is the Debian AWS CLI v2 the smoke test drives (not whatever `aws` is first on PATH).
const awsCLI = "/usr/bin/aws"

type cli struct {
	t        *testing.T
	endpoint string
	env      []string
	// service is the CLI's command group: ecs unless set.
	service string
}

// run runs `aws ecs ARGS...` with the generated credentials file and returns its JSON output.
func (c *cli) run(args ...string) map[string]any {
	c.t.Helper()
	out, stderr, err := c.exec(args...)
	if err != nil {
		c.t.Fatalf("aws ecs %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var v map[string]any
	if len(bytes.TrimSpace(out)) > 0 {
		if err := json.Unmarshal(out, &v); err != nil {
			c.t.Fatalf("aws ecs %s: output is not JSON: %v\n%s", args[0], err, out)
		}
	}
	return v
}

// fail runs a command that must fail and returns its stderr.
func (c *cli) fail(args ...string) string {
	c.t.Helper()
	_, stderr, err := c.exec(args...)
	if err == nil {
		c.t.Fatalf("aws ecs %s succeeded, want a failure", strings.Join(args, " "))
	}
	return string(stderr)
}

func (c *cli) exec(args ...string) ([]byte, []byte, error) {
	service := c.service
	if service == "" {
		service = "ecs"
	}
	full := append([]string{"--profile", credentials.Profile, "--region", testARNs.Region, "--endpoint-url", c.endpoint,
		"--output", "json", "--no-cli-pager", service}, args...)
	cmd := exec.Command(awsCLI, full...)
	cmd.Env = c.env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	return out.Bytes(), stderr.Bytes(), err
}

func TestAWSCLISmoke(t *testing.T) {
	requireCLI(t)
	dir := t.TempDir()
	credsFile := filepath.Join(dir, "credentials")
	creds, err := credentials.LoadOrCreate(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	emptyConfig := filepath.Join(dir, "config")
	if err := os.WriteFile(emptyConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(api.NewServer(api.Options{Store: st, Engine: &fakeEngine{}, ARNs: testARNs, Credentials: creds, Logger: testr.New(t)}))
	defer srv.Close()
	c := &cli{t: t, endpoint: srv.URL, env: cliEnv(dir, credsFile, emptyConfig)}

	c.run("create-cluster", "--cluster-name", "smoke")
	td := c.run("register-task-definition", "--family", "web", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
		"--cpu", "256", "--memory", "512", "--container-definitions",
		`[{"name":"web","image":"public.ecr.aws/docker/library/nginx:latest","portMappings":[{"containerPort":80}],"healthCheck":{"command":["CMD-SHELL","true"]}}]`)
	tdArn := dig(t, td, "taskDefinition", "taskDefinitionArn").(string)
	if want := "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"; tdArn != want {
		t.Errorf("taskDefinitionArn %s, want %s", tdArn, want)
	}
	if got := c.run("list-task-definitions")["taskDefinitionArns"].([]any); len(got) != 1 {
		t.Errorf("list-task-definitions: %v", got)
	}
	c.run("describe-task-definition", "--task-definition", "web")
	c.run("list-task-definition-families")
	c.run("describe-clusters", "--clusters", "smoke")
	c.run("list-clusters")

	run := c.run("run-task", "--cluster", "smoke", "--task-definition", "web", "--count", "2")
	tasks := run["tasks"].([]any)
	if len(tasks) != 2 {
		t.Fatalf("run-task: %v", run)
	}
	taskArn := tasks[0].(map[string]any)["taskArn"].(string)
	c.run("describe-tasks", "--cluster", "smoke", "--tasks", taskArn)
	if got := c.run("list-tasks", "--cluster", "smoke")["taskArns"].([]any); len(got) != 2 {
		t.Errorf("list-tasks: %v", got)
	}
	stopped := c.run("stop-task", "--cluster", "smoke", "--task", taskArn, "--reason", "smoke test")
	if got := dig(t, stopped, "task", "desiredStatus"); got != "STOPPED" {
		t.Errorf("stop-task desiredStatus %v", got)
	}

	svc := c.run("create-service", "--cluster", "smoke", "--service-name", "api", "--task-definition", "web", "--desired-count", "1",
		"--network-configuration", "awsvpcConfiguration={subnets=[local]}")
	if got := dig(t, svc, "service", "status"); got != "ACTIVE" {
		t.Errorf("create-service status %v", got)
	}
	up := c.run("update-service", "--cluster", "smoke", "--service", "api", "--desired-count", "2", "--force-new-deployment")
	if got := len(dig(t, up, "service", "deployments").([]any)); got != 2 {
		t.Errorf("update-service --force-new-deployment: %d deployments", got)
	}
	c.run("describe-services", "--cluster", "smoke", "--services", "api")
	c.run("list-services", "--cluster", "smoke")
	svcArn := dig(t, svc, "service", "serviceArn").(string)
	c.run("tag-resource", "--resource-arn", svcArn, "--tags", "key=team,value=smoke")
	if got := c.run("list-tags-for-resource", "--resource-arn", svcArn)["tags"].([]any); len(got) != 1 {
		t.Errorf("list-tags-for-resource: %v", got)
	}
	c.run("untag-resource", "--resource-arn", svcArn, "--tag-keys", "team")
	del := c.run("delete-service", "--cluster", "smoke", "--service", "api", "--force")
	if got := dig(t, del, "service", "status"); got != "DRAINING" {
		t.Errorf("delete-service status %v", got)
	}
	c.run("deregister-task-definition", "--task-definition", "web:1")

	// errors reach the CLI with their type and message
	if msg := c.fail("describe-task-definition", "--task-definition", "nope:1"); !strings.Contains(msg, "ClientException") {
		t.Errorf("describe of a missing task definition: %s", msg)
	}
	if msg := c.fail("delete-cluster", "--cluster", "smoke"); !strings.Contains(msg, "ClusterContains") {
		t.Errorf("delete of a busy cluster: %s", msg)
	}
	bad := *c
	bad.env = append(append([]string{}, c.env...), "AWS_ACCESS_KEY_ID=AKIAWRONGWRONGWRONG0", "AWS_SECRET_ACCESS_KEY=wrong")
	bad.env = slicesWithout(bad.env, "AWS_SHARED_CREDENTIALS_FILE=")
	if msg := bad.failNoProfile("list-clusters"); !strings.Contains(msg, "UnrecognizedClientException") {
		t.Errorf("wrong credentials: %s", msg)
	}
}

// cliEnv is the environment the CLI runs in: the credentials file given, an empty config file, no
// pager, no instance metadata.
func cliEnv(home, credsFile, configFile string) []string {
	return []string{
		"PATH=/usr/bin:/bin", "HOME=" + home, "AWS_SHARED_CREDENTIALS_FILE=" + credsFile, "AWS_CONFIG_FILE=" + configFile,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
	}
}

// requireCLI skips the test without the AWS CLI v2 at awsCLI, or in -short mode.
func requireCLI(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		t.Skipf("skipping: the AWS CLI v2 is not at %s (apt-get install awscli): %v", awsCLI, err)
	}
	if testing.Short() {
		t.Skip("skipping the AWS CLI test in -short mode")
	}
}

// TestAWSCLIELBv2 (wire, the AWS CLI): the ELBv2 commands users run on what they created —
// modify-listener, modify-target-group, add-tags / describe-tags / remove-tags (and --tags on
// creates), describe/modify-load-balancer-attributes — against the data plane's endpoint; a
// refusal reaches the CLI with ELBv2's code.
func TestAWSCLIELBv2(t *testing.T) {
	requireCLI(t)
	e := newELBEnv(t)
	dir := t.TempDir()
	credsFile, config := filepath.Join(dir, "credentials"), filepath.Join(dir, "config")
	ini := fmt.Sprintf("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", credentials.Profile, testCreds.AccessKeyID, testCreds.SecretAccessKey)
	if err := errors.Join(os.WriteFile(credsFile, []byte(ini), 0o600), os.WriteFile(config, nil, 0o600)); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, endpoint: e.url, service: "elbv2", env: cliEnv(dir, credsFile, config)}
	p1, p2 := freePort(t), freePort(t)

	lb := dig(t, c.run("create-load-balancer", "--name", "web", "--type", "network", "--tags", "Key=team,Value=shop"), "LoadBalancers").([]any)[0].(map[string]any)["LoadBalancerArn"].(string)
	tg := dig(t, c.run("create-target-group", "--name", "web", "--protocol", "TCP", "--port", "8080", "--vpc-id", "vpc-local", "--target-type", "ip"),
		"TargetGroups").([]any)[0].(map[string]any)["TargetGroupArn"].(string)
	ls := dig(t, c.run("create-listener", "--load-balancer-arn", lb, "--protocol", "TCP", "--port", fmt.Sprint(p1),
		"--default-actions", "Type=forward,TargetGroupArn="+tg), "Listeners").([]any)[0].(map[string]any)["ListenerArn"].(string)

	moved := dig(t, c.run("modify-listener", "--listener-arn", ls, "--port", fmt.Sprint(p2)), "Listeners").([]any)[0].(map[string]any)
	if got := moved["Port"]; got != float64(p2) {
		t.Errorf("modify-listener answered port %v, want %d", got, p2)
	}
	if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p2)); err != nil {
		t.Errorf("the listener's new port %d: %v", p2, err)
	} else {
		conn.Close()
	}
	hc := dig(t, c.run("modify-target-group", "--target-group-arn", tg, "--health-check-protocol", "HTTP", "--health-check-path", "/healthz",
		"--matcher", "HttpCode=200"), "TargetGroups").([]any)[0].(map[string]any)
	if hc["HealthCheckProtocol"] != "HTTP" || hc["HealthCheckPath"] != "/healthz" {
		t.Errorf("modify-target-group answered %v", hc)
	}

	c.run("add-tags", "--resource-arns", lb, tg, "--tags", "Key=env,Value=dev")
	c.run("remove-tags", "--resource-arns", lb, "--tag-keys", "team")
	var got []string
	for _, d := range dig(t, c.run("describe-tags", "--resource-arns", lb, tg), "TagDescriptions").([]any) {
		for _, tag := range d.(map[string]any)["Tags"].([]any) {
			got = append(got, fmt.Sprint(tag.(map[string]any)["Key"], "=", tag.(map[string]any)["Value"]))
		}
	}
	if want := []string{"env=dev", "env=dev"}; !slices.Equal(got, want) {
		t.Errorf("describe-tags: %v, want %v", got, want)
	}

	c.run("modify-load-balancer-attributes", "--load-balancer-arn", lb, "--attributes", "Key=deletion_protection.enabled,Value=true")
	attrs := map[string]any{}
	for _, a := range dig(t, c.run("describe-load-balancer-attributes", "--load-balancer-arn", lb), "Attributes").([]any) {
		attrs[a.(map[string]any)["Key"].(string)] = a.(map[string]any)["Value"]
	}
	if attrs["deletion_protection.enabled"] != "true" {
		t.Errorf("describe-load-balancer-attributes: %v", attrs)
	}
	if msg := c.fail("delete-load-balancer", "--load-balancer-arn", lb); !strings.Contains(msg, "OperationNotPermitted") {
		t.Errorf("delete-load-balancer with deletion protection: %s", msg)
	}
}

// failNoProfile runs a failing command with the credentials of the environment (no --profile).
func (c *cli) failNoProfile(args ...string) string {
	c.t.Helper()
	full := append([]string{"--region", testARNs.Region, "--endpoint-url", c.endpoint, "--no-cli-pager", "ecs"}, args...)
	cmd := exec.Command(awsCLI, full...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err == nil {
		c.t.Fatalf("aws ecs %s succeeded with wrong credentials", strings.Join(args, " "))
	}
	return string(out)
}

func slicesWithout(env []string, prefix string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// dig walks nested JSON objects.
func dig(t *testing.T, v map[string]any, path ...string) any {
	t.Helper()
	var cur any = v
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%v: %s is not an object", path, p)
		}
		cur = m[p]
	}
	return cur
}
