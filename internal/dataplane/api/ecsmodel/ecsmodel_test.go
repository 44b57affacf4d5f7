package ecsmodel_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
)

func load(t testing.TB) *ecsmodel.Model {
	t.Helper()
	m, err := ecsmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestModelIsCurrent regenerates model.json from the shared botocore model when it is there.
func TestModelIsCurrent(t *testing.T) {
	src := filepath.Join("..", "..", "..", "..", "..", "shared", "ecs-model", "service-2.json")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("skipping: the shared ECS model is not at %s", src)
	}
	out, err := exec.Command("go", "run", "gen/main.go", src).Output()
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("model.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, have) {
		t.Error("model.json is stale: run go generate ./internal/dataplane/api/ecsmodel")
	}
}

func TestCheckOutput(t *testing.T) {
	m := load(t)
	for name, tc := range map[string]struct {
		op, body string
		want     []string
	}{
		"ok":            {"DescribeClusters", `{"clusters":[{"clusterName":"a","status":"ACTIVE","runningTasksCount":1}],"failures":[]}`, nil},
		"unknown enum":  {"DescribeTasks", `{"tasks":[{"launchType":"SPACESHIP"}]}`, []string{"tasks[0].launchType", "SPACESHIP"}},
		"unknown":       {"ListClusters", `{"clusterArns":[],"extra":1}`, []string{"extra", "not in the ECS model"}},
		"wrong type":    {"ListClusters", `{"clusterArns":"a"}`, []string{"clusterArns", "array"}},
		"required":      {"DescribeServices", `{"services":[{"deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":true}}}]}`, []string{"rollback", "required"}},
		"timestamp":     {"DescribeTasks", `{"tasks":[{"createdAt":"yesterday"}]}`, []string{"createdAt", "number"}},
		"integer float": {"DescribeTasks", `{"tasks":[{"version":1.5}]}`, []string{"version", "integer"}},
	} {
		t.Run(name, func(t *testing.T) {
			errs := m.CheckOutput(tc.op, []byte(tc.body))
			if len(tc.want) == 0 {
				if len(errs) != 0 {
					t.Fatalf("errors: %v", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0].Error(), w) {
					t.Errorf("%v lacks %q", errs[0], w)
				}
			}
		})
	}
}

type tagInput struct {
	ResourceArn string `json:"resourceArn"`
	Tags        []struct {
		Key *string `json:"key"`
	} `json:"tags"`
}

func TestCheckInput(t *testing.T) {
	m := load(t)
	target := reflect.TypeFor[*tagInput]()
	for name, tc := range map[string]struct {
		body    string
		path    string
		problem ecsmodel.Problem
	}{
		"ok":                     {`{"resourceArn":"a","tags":[{"key":"k"}]}`, "", 0},
		"null entry":             {`{"resourceArn":"a","tags":[null]}`, "", 0},
		"required":               {`{"tags":[]}`, "resourceArn", ecsmodel.ProblemRequired},
		"type":                   {`{"resourceArn":1,"tags":[]}`, "resourceArn", ecsmodel.ProblemType},
		"unknown":                {`{"resourceArn":"a","tags":[],"x":1}`, "x", ecsmodel.ProblemUnknown},
		"unsupported":            {`{"resourceArn":"a","tags":[{"key":"k","value":"v"}]}`, "tags[0].value", ecsmodel.ProblemUnsupported},
		"unsupported but unused": {`{"resourceArn":"a","tags":[{"key":"k","value":null}]}`, "", 0},
		"too long":               {`{"resourceArn":"a","tags":[{"key":"` + strings.Repeat("k", 129) + `"}]}`, "tags[0].key", ecsmodel.ProblemRange},
		"syntax":                 {`{`, "", ecsmodel.ProblemSyntax},
	} {
		t.Run(name, func(t *testing.T) {
			err := m.CheckInput("TagResource", []byte(tc.body), target)
			if tc.path == "" && tc.problem == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *ecsmodel.FieldError
			if !errors.As(err, &fe) || fe.Path != tc.path || fe.Problem != tc.problem {
				t.Fatalf("got %#v, want %s problem %d", err, tc.path, tc.problem)
			}
		})
	}
}

// FuzzCheckInput: whatever the body, CheckInput returns (never panics), and a body it accepts is
// valid JSON.
func FuzzCheckInput(f *testing.F) {
	m := load(f)
	f.Add("RegisterTaskDefinition", []byte(`{"family":"f","containerDefinitions":[{"name":"a","image":"i","dockerLabels":{"k":"v"}}]}`))
	f.Add("ListTasks", []byte(`{"maxResults":5,"desiredStatus":"RUNNING"}`))
	f.Add("CreateService", []byte(`{"serviceName":"s","desiredCount":1e3}`))
	ops := make([]string, 0, len(m.Operations))
	for op := range m.Operations {
		ops = append(ops, op)
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if _, ok := m.Operations[op]; !ok {
			op = ops[len(body)%len(ops)]
		}
		if err := m.CheckInput(op, body, nil); err == nil {
			if _, derr := ecsmodel.Decode(body); derr != nil {
				t.Fatalf("accepted a body that does not decode: %v", derr)
			}
		}
		_ = m.CheckOutput(op, body)
	})
}
