package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/go-logr/logr/testr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

var testCreds = aws.Credentials{AccessKeyID: "AKIDNODELESSTEST0001", SecretAccessKey: "c2VjcmV0LWZvci10ZXN0cy1vbmx5LW5vdC1yZWFs", Source: "test"}

var testARNs = model.ARNs{Region: "us-east-1", Account: "000000000000"}

// fakeEngine records what the API told the scheduler.
type fakeEngine struct {
	mu      sync.Mutex
	created []string
	stopped []string
	changed []string
}

func (f *fakeEngine) TaskCreated(cluster, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, cluster+"/"+id)
}

func (f *fakeEngine) TaskStopRequested(cluster, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, cluster+"/"+id)
}

func (f *fakeEngine) ServiceChanged(cluster, service string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changed = append(f.changed, cluster+"/"+service)
}

func (f *fakeEngine) calls() (created, stopped, changed []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.created), slices.Clone(f.stopped), slices.Clone(f.changed)
}

// env is an API server over real HTTP with a fake engine, and an SDK client for it. Every response
// the client receives is checked against the ECS model.
type env struct {
	t      testing.TB
	url    string
	store  *store.Store
	engine *fakeEngine
	ecs    *ecs.Client
	// benchTasks are the tasks BenchmarkAPI's DescribeTasks describes.
	benchTasks []string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := &fakeEngine{}
	srv := httptest.NewServer(api.NewServer(api.Options{
		Store: st, Engine: eng, ARNs: testARNs, Credentials: testCreds, Logger: testr.NewWithInterface(t, testr.Options{}),
	}))
	t.Cleanup(srv.Close)
	e := &env{t: t, url: srv.URL, store: st, engine: eng}
	e.ecs = e.client(testCreds)
	return e
}

// client returns an SDK client signing with creds, whose responses are checked against the model.
func (e *env) client(creds aws.Credentials) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:           testARNs.Region,
		BaseEndpoint:     aws.String(e.url),
		Credentials:      aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: &ecsmodel.Transport{Report: func(op string, problems []error) {
			e.t.Errorf("%s response does not conform to the ECS model: %v", op, problems)
		}}},
	})
}

// checkResponse fails the test when a response does not conform to the ECS model.
func checkResponse(t testing.TB, op string, status int, contentType string, body []byte) {
	t.Helper()
	for _, p := range ecsmodel.Check(op, status, contentType, body) {
		t.Errorf("%s response does not conform to the ECS model: %v\nbody: %s", op, p, body)
	}
}

// wantAPIError asserts err is an API error of type code whose message contains each of parts.
func wantAPIError(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
	for _, p := range parts {
		if !strings.Contains(ae.ErrorMessage(), p) {
			t.Errorf("%s message %q lacks %q", code, ae.ErrorMessage(), p)
		}
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// web is a valid Fargate task definition with two containers.
func web(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{
				Name:         aws.String("app"),
				Image:        aws.String("example.com/app:1"),
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}},
				HealthCheck:  &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "true"}},
				Environment:  []ecstypes.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}},
			},
			{
				Name:      aws.String("sidecar"),
				Image:     aws.String("example.com/sidecar:1"),
				Essential: aws.Bool(false),
				DependsOn: []ecstypes.ContainerDependency{{ContainerName: aws.String("app"), Condition: ecstypes.ContainerConditionHealthy}},
			},
		},
	}
}
