package ecsapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

func TestRateLimitWaitsForTokens(t *testing.T) {
	counting := ecsapi.NewCounting(nopAPI{})
	limits := ecsapi.Limits{
		Buckets: map[string]ecsapi.Bucket{"w": {Burst: 2, PerSecond: 10}},
		Ops:     map[string]string{ecsapi.OpRegisterTaskDefinition: "w"},
	}
	api := ecsapi.WithRateLimit(counting, limits)
	ctx := context.Background()
	start := time.Now()
	for range 4 {
		if _, err := api.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{}); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 2, then two more at 10/s: at least ~200ms.
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("4 calls with burst 2 at 10/s took %v, want >= 150ms", d)
	}
	// Unlimited operations pass straight through: with a cancelled context, a call that waited
	// for a token would fail (as the last check below shows for a limited one).
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for range 50 {
		if _, err := api.DescribeServices(cancelled, &ecs.DescribeServicesInput{}); err != nil {
			t.Fatalf("an unlimited call waited for a token: %v", err)
		}
	}
	want := map[string]int{ecsapi.OpRegisterTaskDefinition: 4, ecsapi.OpDescribeServices: 50}
	if diff := cmp.Diff(want, counting.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if counting.Writes() != 4 || counting.Reads() != 50 {
		t.Errorf("writes=%d reads=%d, want 4 and 50", counting.Writes(), counting.Reads())
	}
	if _, err := api.RegisterTaskDefinition(cancelled, &ecs.RegisterTaskDefinitionInput{}); err == nil {
		t.Error("a cancelled context did not stop the wait")
	}
}

// nopAPI answers every call with an empty output.
type nopAPI struct{ ecsapi.API }

func (nopAPI) RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	return &ecs.RegisterTaskDefinitionOutput{}, nil
}

func (nopAPI) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return &ecs.DescribeServicesOutput{}, nil
}

func TestClientAgainstMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecstest.Client(t, ecstest.StartMoto(t))
	ctx := context.Background()
	out, err := api.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")})
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if aws.ToString(out.Cluster.Status) != "ACTIVE" {
		t.Errorf("cluster status %q, want ACTIVE", aws.ToString(out.Cluster.Status))
	}
	_, err = api.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("nope")})
	if !ecsapi.IsNotFound(err) {
		t.Errorf("UpdateService on a missing service: got %v (kind %v), want NotFound", err, ecsapi.KindOf(err))
	}
}

// TestEveryOperationIsDecorated: every call of the API has an operation name, is counted by the
// decorators, draws from a rate-limit bucket, and is classed as a read or a write by its name. A
// call added to the interface without them fails here.
func TestEveryOperationIsDecorated(t *testing.T) {
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
	counting := ecsapi.NewCounting(ecsapi.WithRateLimit(client, ecsapi.DefaultLimits()))
	limits := ecsapi.DefaultLimits()
	api := reflect.TypeFor[ecsapi.API]()
	for i := range api.NumMethod() {
		op := api.Method(i).Name
		m := reflect.ValueOf(counting).MethodByName(op)
		in := reflect.New(m.Type().In(1).Elem())
		// Inputs without their required members fail the SDK's validation: still one call.
		m.Call([]reflect.Value{reflect.ValueOf(context.Background()), in})
		if got := counting.Count(op); got != 1 {
			t.Errorf("%s: counted %d calls, want 1", op, got)
		}
		bucket, ok := limits.Ops[op]
		if _, has := limits.Buckets[bucket]; !ok || !has {
			t.Errorf("%s: no rate-limit bucket in DefaultLimits", op)
		}
		read := strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List")
		if ecsapi.IsWrite(op) == read {
			t.Errorf("IsWrite(%s) = %v", op, ecsapi.IsWrite(op))
		}
	}
}
