package throttle_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/throttle"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestBucketsThrottleAsECS: a bucket's burst passes, the next request of any of its operations
// gets ECS's ThrottlingException (which the SDK and nodeless classify as throttled), other
// buckets and operations without one are untouched.
func TestBucketsThrottleAsECS(t *testing.T) {
	served := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served++
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte("{}"))
	})
	limits := ecsapi.Limits{
		// 1e-9 per second: no refill within the test.
		Buckets: map[string]ecsapi.Bucket{"service-write": {Burst: 2, PerSecond: 1e-9}},
		Ops:     map[string]string{ecsapi.OpCreateService: "service-write", ecsapi.OpUpdateService: "service-write"},
	}
	h := throttle.New(next, limits)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
	})
	ctx := context.Background()
	for i := range 2 {
		if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("s")}); err != nil {
			t.Fatalf("CreateService %d within the burst: %v", i, err)
		}
	}
	_, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("s")})
	if !ecsapi.IsThrottled(err) {
		t.Errorf("UpdateService after the shared bucket's burst: %v, want ThrottlingException", err)
	}
	for range 5 {
		if _, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"s"}}); err != nil {
			t.Errorf("DescribeServices has no bucket here: %v", err)
		}
	}
	if served != 7 {
		t.Errorf("%d requests reached the API server, want 7 (the throttled one must not)", served)
	}
	if diff := cmp.Diff(map[string]int{ecsapi.OpUpdateService: 1}, h.Throttled()); diff != "" {
		t.Errorf("throttled (-want +got):\n%s", diff)
	}
}
