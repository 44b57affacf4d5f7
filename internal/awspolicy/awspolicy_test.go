package awspolicy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/awspolicy"
	"github.com/nodeless-dev/nodeless/internal/cloudmapapi"
	"github.com/nodeless-dev/nodeless/internal/ec2api"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/elbv2api"
	"github.com/nodeless-dev/nodeless/internal/logsapi"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
)

// ecsCalls makes every call of the ECS seam once through its counting decorator (against a
// server answering {}) and returns the operations it counted.
func ecsCalls(t *testing.T) []string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	client := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
	})
	counting := ecsapi.NewCounting(client)
	api := reflect.TypeFor[ecsapi.API]()
	for i := range api.NumMethod() {
		m := reflect.ValueOf(counting).MethodByName(api.Method(i).Name)
		// Inputs without their required members fail the SDK's validation: still one call.
		m.Call([]reflect.Value{reflect.ValueOf(context.Background()), reflect.New(m.Type().In(1).Elem())})
	}
	var ops []string
	for op := range counting.Calls() {
		ops = append(ops, awspolicy.ServiceECS+":"+op)
	}
	return ops
}

// secretsCalls are the calls of the Secrets Manager seam (it has no counting decorator: its
// method names are the operations).
func secretsCalls() []string {
	var ops []string
	api := reflect.TypeFor[secretsapi.API]()
	for i := range api.NumMethod() {
		ops = append(ops, awspolicy.ServiceSecretsManager+":"+api.Method(i).Name)
	}
	return ops
}

// logsCalls are the calls of the CloudWatch Logs seam (its method names are the operations).
func logsCalls() []string {
	var ops []string
	api := reflect.TypeFor[logsapi.API]()
	for i := range api.NumMethod() {
		ops = append(ops, awspolicy.ServiceLogs+":"+api.Method(i).Name)
	}
	return ops
}

// methodCalls are the calls of a seam whose method names are its operations, prefixed with the
// service's IAM name.
func methodCalls[API any](service string) []string {
	var ops []string
	api := reflect.TypeFor[API]()
	for i := range api.NumMethod() {
		ops = append(ops, service+":"+api.Method(i).Name)
	}
	return ops
}

// TestEveryCallHasItsActionsAndNoMore: the policy's requirements name exactly the calls of the
// seams, and the policy grants exactly the actions of those requirements.
func TestEveryCallHasItsActionsAndNoMore(t *testing.T) {
	calls := slices.Concat(ecsCalls(t), secretsCalls(), logsCalls(),
		methodCalls[elbv2api.API](awspolicy.ServiceELBv2), methodCalls[cloudmapapi.API](awspolicy.ServiceCloudMap),
		methodCalls[ec2api.API](awspolicy.ServiceEC2))
	sort.Strings(calls)
	reqs := awspolicy.Requirements()
	var mapped []string
	for call := range reqs {
		mapped = append(mapped, call)
	}
	sort.Strings(mapped)
	if diff := cmp.Diff(calls, mapped); diff != "" {
		t.Errorf("calls nodeless makes (-) without IAM actions, and IAM requirements of calls it does not make (+):\n%s", diff)
	}

	doc, err := awspolicy.Policy()
	if err != nil {
		t.Fatal(err)
	}
	needed := map[string]bool{}
	for _, call := range calls {
		for _, r := range reqs[call] {
			needed[r.Sid+" "+r.Action] = true
		}
	}
	granted := map[string]bool{}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || s.Resource == "" {
			t.Errorf("statement %s: effect %q, resource %q", s.Sid, s.Effect, s.Resource)
		}
		for _, a := range s.Action {
			granted[s.Sid+" "+a] = true
		}
	}
	if diff := cmp.Diff(needed, granted); diff != "" {
		t.Errorf("actions needed by the calls (-) and granted by the policy (+):\n%s", diff)
	}
	if !slices.ContainsFunc(doc.Statement, func(s awspolicy.Statement) bool {
		return s.Sid == awspolicy.SidPassTaskRoles && s.Condition["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
	}) {
		t.Error("iam:PassRole must be limited to ecs-tasks.amazonaws.com")
	}
}

// TestDocsHoldTheGeneratedPolicy: docs/iam-policy.json is the generated policy.
func TestDocsHoldTheGeneratedPolicy(t *testing.T) {
	want, err := awspolicy.JSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "iam-policy.json")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale: run `go run ./cmd/nodeless controller --print-iam-policy > docs/iam-policy.json` (-generated +file):\n%s", path, diff)
	}
}
