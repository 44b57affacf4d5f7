package integration

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// TestServiceLoadBalancersInMemory: the path of a Service's loadBalancers end to end — the custom
// resource names a target group made with the ELBv2 API on the in-memory ECS's endpoint, the
// controller sends it, the ECS service shows it, its tasks are registered as targets, and the
// Service becomes Ready once they are healthy (TCP checks pass against the fake tasks).
func TestServiceLoadBalancersInMemory(t *testing.T) {
	c, env := kube(t)
	e, api := inMemory(t)
	ctx := context.Background()
	lbc := elb.New(elb.Options{Region: e.Region, BaseEndpoint: aws.String(e.Endpoint), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return e.Credentials, nil })})
	lb, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Type: elbtypes.LoadBalancerTypeEnumNetwork})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("web"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(80), VpcId: aws.String("vpc-1"), TargetType: elbtypes.TargetTypeEnumIp,
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := int32(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	if _, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(port),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}}); err != nil {
		t.Fatal(err)
	}
	runControllers(t, env, api)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: ctx, image: testImage}
	cl, td, svc := newObjects(s.ns, s.image)
	td.Spec.ContainerDefinitions[0].PortMappings = []ecsv1alpha1.PortMapping{{ContainerPort: 80}}
	svc.Spec.LoadBalancers = []ecsv1alpha1.LoadBalancer{{TargetGroupArn: tgARN, ContainerName: "app", ContainerPort: 80}}
	if err := c.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, td); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "Service Ready behind the target group", s.ready(svc, func() []metav1.Condition { return svc.Status.Conditions }))
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.ns), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v", err)
	}
	if got := out.Services[0].LoadBalancers; len(got) != 1 || aws.ToString(got[0].TargetGroupArn) != tgARN || aws.ToInt32(got[0].ContainerPort) != 80 {
		t.Errorf("the ECS service's loadBalancers: %+v, want the target group on app:80", got)
	}
	eventually(t, 60*time.Second, "2 healthy targets", func() (bool, string) {
		h, err := lbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
		if err != nil {
			return false, err.Error()
		}
		healthy := 0
		for _, d := range h.TargetHealthDescriptions {
			if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
				healthy++
			}
		}
		return healthy == 2 && len(h.TargetHealthDescriptions) == 2, fmt.Sprintf("%d targets, %d healthy", len(h.TargetHealthDescriptions), healthy)
	})
}
