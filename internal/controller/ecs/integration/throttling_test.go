package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestThrottlingLosesNoUpdate: with ECS's documented token buckets emulated on the wire (package
// throttle) and no client-side limiter, so that ECS answers ThrottlingException, 200 Services of
// one TaskDefinition are created, then each is scaled from 1 to 2: every one converges (ECS's
// desiredCount is the spec's), with one ECS service each and one revision in all.
//
// The service-write bucket (CreateService, UpdateService, DeleteService) refills at ECS's 5 per
// second but holds 1 token instead of ECS's burst of 50, as when other clients of the account have
// taken the burst: with the full burst, only controllers that write faster than 5 per second reach
// the bucket at all, and on a loaded machine they do not (nothing was throttled, and the test
// proved nothing). With one token, two writes within 200 ms are throttled, which the Service
// controller's 4 concurrent workers make even on a loaded machine.
func TestThrottlingLosesNoUpdate(t *testing.T) {
	const n = 200
	c, env := kube(t)
	limits := ecsapi.DefaultLimits()
	limits.Buckets["service-write"] = ecsapi.Bucket{Burst: 1, PerSecond: limits.Buckets["service-write"].PerSecond}
	e := ecsmem.Start(t, ecsmem.Options{Throttle: &limits})
	api := ecsapi.NewCounting(e.Client)
	runControllers(t, env, api)
	ctx := context.Background()
	cl, td, _ := newObjects(env.Namespace, testImage)
	for _, obj := range []client.Object{cl, td} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		svc := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%03d", i), Namespace: env.Namespace},
			Spec: ecsv1alpha1.ServiceSpec{
				ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: cl.Name}, TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: td.Name},
				DesiredCount: aws.Int32(1),
			}}
		if err := c.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
	}
	converged := func(want int32) func() (bool, string) {
		return func() (bool, string) {
			// The test's own reads take tokens of the service-read bucket too: few of them.
			time.Sleep(3 * time.Second)
			got := ecsDesiredCounts(t, e, env.Namespace, n)
			off := 0
			for i := range n {
				if got[fmt.Sprintf("s%03d", i)] != want {
					off++
				}
			}
			return off == 0, fmt.Sprintf("%d of %d services not at desiredCount %d on ECS; throttled so far %v", off, n, want, e.Throttled())
		}
	}
	eventually(t, 4*time.Minute, "every service created on ECS", converged(1))
	for i := range n {
		svc := &ecsv1alpha1.Service{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: env.Namespace, Name: fmt.Sprintf("s%03d", i)}, svc); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(svc.DeepCopy())
		svc.Spec.DesiredCount = aws.Int32(2)
		if err := c.Patch(ctx, svc, patch); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 4*time.Minute, "every service scaled to 2 on ECS", converged(2))

	throttled := e.Throttled()
	t.Logf("throttled requests by operation: %v; calls %v", throttled, api.Calls())
	for _, op := range []string{ecsapi.OpCreateService, ecsapi.OpUpdateService} {
		if throttled[op] == 0 {
			t.Errorf("no %s was throttled: the test did not reach ECS's buckets", op)
		}
	}
	for op, want := range map[string]int{ecsapi.OpCreateService: n, ecsapi.OpRegisterTaskDefinition: 1} {
		if got := e.Served(op); got != want {
			t.Errorf("ECS served %d %s, want %d: a throttled call was repeated after it landed", got, op, want)
		}
	}
}

// ecsDesiredCounts reads the desiredCount of the namespace's n services s000... from ECS.
func ecsDesiredCounts(t *testing.T, e *ecsmem.ECS, cluster string, n int) map[string]int32 {
	t.Helper()
	out := map[string]int32{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for start := 0; start < n; start += ecsapi.MaxDescribeServices {
		var names []string
		for i := start; i < min(start+ecsapi.MaxDescribeServices, n); i++ {
			names = append(names, fmt.Sprintf("s%03d", i))
		}
		got, err := e.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: names})
		if err != nil {
			continue // throttled too: the next poll reads again
		}
		for _, s := range got.Services {
			if aws.ToString(s.Status) == "ACTIVE" {
				out[aws.ToString(s.ServiceName)] = s.DesiredCount
			}
		}
	}
	return out
}
