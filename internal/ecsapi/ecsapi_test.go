package ecsapi_test

import (
	"context"
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
	// Unlimited operations pass straight through.
	start = time.Now()
	for range 50 {
		_, _ = api.DescribeServices(ctx, &ecs.DescribeServicesInput{})
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("unlimited calls took %v", d)
	}
	want := map[string]int{ecsapi.OpRegisterTaskDefinition: 4, ecsapi.OpDescribeServices: 50}
	if diff := cmp.Diff(want, counting.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if counting.Writes() != 4 || counting.Reads() != 50 {
		t.Errorf("writes=%d reads=%d, want 4 and 50", counting.Writes(), counting.Reads())
	}
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := api.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{}); err == nil {
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
