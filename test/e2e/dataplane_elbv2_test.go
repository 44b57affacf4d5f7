package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// elbClient is an ELBv2 client for the data plane the ECS client c talks to: same endpoint,
// region and credentials, signed for elasticloadbalancing.
func elbClient(c *ecs.Client) *elb.Client {
	o := c.Options()
	return elb.New(elb.Options{Region: o.Region, BaseEndpoint: o.BaseEndpoint, Credentials: o.Credentials, HTTPClient: o.HTTPClient})
}

// loadBalancerStack creates a network load balancer, a TCP target group of ip targets on 8080 with
// HTTP checks of /healthz every 5 s (healthy after 2) and a deregistration delay of 3 s, and a
// listener on 127.0.0.1:port; it returns the target group's ARN.
func loadBalancerStack(ctx context.Context, t *testing.T, c *elb.Client, port int32) string {
	t.Helper()
	lb, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Subnets: []string{"subnet-local"}})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	tg, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("web"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(8080), VpcId: aws.String("vpc-local"),
		TargetType: elbtypes.TargetTypeEnumIp, HealthCheckProtocol: elbtypes.ProtocolEnumHttp, HealthCheckPath: aws.String("/healthz"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2),
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	arn := tg.TargetGroups[0].TargetGroupArn
	if _, err := c.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: arn,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("3")}}}); err != nil {
		t.Fatalf("ModifyTargetGroupAttributes: %v", err)
	}
	if _, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(port),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: arn}}}); err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	return *arn
}

// targets returns the target group's targets as "IP:PORT=state", sorted.
func targets(ctx context.Context, c *elb.Client, tg string) ([]string, error) {
	out, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		return nil, err
	}
	var got []string
	for _, d := range out.TargetHealthDescriptions {
		got = append(got, fmt.Sprintf("%s:%d=%s", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port), d.TargetHealth.State))
	}
	slices.Sort(got)
	return got, nil
}

// allHealthy waits for n targets, all healthy.
func allHealthy(c *elb.Client, tg string, n int) func(ctx context.Context) (bool, string, error) {
	return func(ctx context.Context) (bool, string, error) {
		got, err := targets(ctx, c, tg)
		ok := len(got) == n
		for _, g := range got {
			ok = ok && strings.HasSuffix(g, "=healthy")
		}
		return ok, fmt.Sprintf("targets %v", got), err
	}
}

// get fetches / through the listener on a new connection (no keep-alive, so every request is
// balanced on its own) and returns the body.
func get(ctx context.Context, port int32) (string, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return strings.TrimSpace(string(b)), err
}

// requestLoop sends requests one after the other through the listener until stopped, or 20000
// were sent, or converge passed; it counts them and keeps the first failures.
type requestLoop struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	failures     []string
	stop         context.CancelFunc
	done         chan struct{}
}

func startRequests(port int32) *requestLoop {
	ctx, cancel := context.WithTimeout(context.Background(), converge)
	l := &requestLoop{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := 0; i < 20000 && ctx.Err() == nil; i++ {
			_, err := get(ctx, port)
			if ctx.Err() != nil {
				return
			}
			l.sent.Add(1)
			if err != nil {
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.failures) < 10 {
					l.failures = append(l.failures, err.Error())
				}
				l.mu.Unlock()
			}
		}
	}()
	return l
}

func (l *requestLoop) finish() (sent, failed int64, failures []string) {
	l.stop()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent.Load(), l.failed.Load(), slices.Clone(l.failures)
}

// TestDataPlaneLoadBalancer: a network load balancer, a target group and a listener made with the
// ELBv2 SDK on the data plane's endpoint; an ECS service with loadBalancers registers its tasks,
// and requests through 127.0.0.1:listenerPort reach both; a rolling update behind it drops no
// request of a sequential loop while DescribeTargetHealth shows the old targets draining;
// ModifyListener moves the listener to another port; after kill -9 and a restart the listener
// answers again on its new port (not the old one) with the same targets, nothing duplicated.
func TestDataPlaneLoadBalancer(t *testing.T) {
	bin := requireBinary(t)
	ctx := context.Background()
	stateDir := t.TempDir()
	t.Cleanup(func() { dataplanetest.UnmountUnder(t, stateDir) })
	t.Cleanup(func() { dataplanetest.KillLeftoverShims(t, stateDir) })
	load := exec.Command(bin, "image", "load", "--state-dir", stateDir, testimage.Tarball(t, ""))
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("nodeless image load: %v\n%s", err, out)
	}
	addr := dataplanetest.FreeAddress(t)
	p := dataplanetest.StartProcess(t, bin, stateDir, addr, 1)
	t.Cleanup(func() { cleanUpDataplane(t, &p, stateDir) })
	c := clientFor(ctx, t, stateDir, addr, p)
	lbc := elbClient(c)
	port := freeListenerPort(t)

	createCluster(ctx, t, c)
	tg := loadBalancerStack(ctx, t, lbc, port)
	v1 := registerRevision(ctx, t, c, "web", webCommand("v1"), false)
	v2 := registerRevision(ctx, t, c, "web", webCommand("v2"), false)
	_, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(e2eCluster), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1),
		DesiredCount: aws.Int32(2), LaunchType: ecstypes.LaunchTypeFargate, HealthCheckGracePeriodSeconds: aws.Int32(30),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-local"}}},
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}},
	})
	if err != nil {
		t.Fatalf("creating the service: %v", err)
	}
	t.Cleanup(func() { drainService(t, c, "web") })
	waitFor(ctx, t, "2 healthy targets", allHealthy(lbc, tg, 2))
	waitFor(ctx, t, "the service steady on web:1", steadyOn(c, "web", v1, 2))

	hosts := map[string]int{}
	for i := 0; i < 40 && len(hosts) < 2; i++ {
		body, err := get(ctx, port)
		if err != nil {
			t.Fatalf("a request through the listener: %v", err)
		}
		hosts[body]++
	}
	if len(hosts) != 2 {
		t.Fatalf("requests through 127.0.0.1:%d reached %v, want both tasks", port, hosts)
	}

	loop := startRequests(port)
	deploy(ctx, t, c, "web", v2)
	var seen []string
	waitFor(ctx, t, "the rollout to web:2 behind the load balancer", func(ctx context.Context) (bool, string, error) {
		got, err := targets(ctx, lbc, tg)
		for _, g := range got {
			if strings.HasSuffix(g, "=draining") && !slices.Contains(seen, g) {
				seen = append(seen, g)
			}
		}
		ok, msg, err2 := steadyOn(c, "web", v2, 2)(ctx)
		return ok && err == nil && len(got) == 2, fmt.Sprintf("%s; targets %v", msg, got), err2
	})
	sent, failed, failures := loop.finish()
	t.Logf("rolling update: %d requests through the listener, %d failed; draining seen: %v", sent, failed, seen)
	if failed > 0 || sent == 0 {
		t.Errorf("the rolling update dropped %d of %d requests: %v", failed, sent, failures)
	}
	if len(seen) != 2 {
		t.Errorf("DescribeTargetHealth showed %v draining during the rollout, want the 2 old targets", seen)
	}
	waitFor(ctx, t, "2 healthy targets of web:2", allHealthy(lbc, tg, 2))
	before, err := targets(ctx, lbc, tg)
	if err != nil {
		t.Fatal(err)
	}
	old := port
	port = moveListener(ctx, t, lbc)

	p.Kill9(t)
	t.Log("killed -9")
	p = dataplanetest.StartProcess(t, bin, stateDir, addr, 2)
	c = clientFor(ctx, t, stateDir, addr, p)
	lbc = elbClient(c)
	waitFor(ctx, t, "the listener answers on its new port after the restart", func(ctx context.Context) (bool, string, error) {
		body, err := get(ctx, port)
		return err == nil, fmt.Sprintf("GET: %q %v", body, err), nil
	})
	if body, err := get(ctx, old); err == nil {
		t.Errorf("after the restart the listener's old port %d still answers: %q", old, body)
	}
	after, err := targets(ctx, lbc, tg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(before, ",") != strings.Join(after, ",") {
		t.Errorf("targets changed across kill -9: before %v, after %v", before, after)
	}
	checkCounts(ctx, t, lbc)
}

// moveListener moves the one listener to another port with ModifyListener and returns it: the new
// port answers at once, the old one is closed.
func moveListener(ctx context.Context, t *testing.T, c *elb.Client) int32 {
	t.Helper()
	lbs, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("DescribeLoadBalancers: %v, %v", lbs, err)
	}
	ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 1 {
		t.Fatalf("DescribeListeners: %v, %v", ls, err)
	}
	old, port := aws.ToInt32(ls.Listeners[0].Port), freeListenerPort(t)
	if _, err := c.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: ls.Listeners[0].ListenerArn, Port: aws.Int32(port)}); err != nil {
		t.Fatalf("ModifyListener to port %d: %v", port, err)
	}
	if _, err := get(ctx, port); err != nil {
		t.Fatalf("a request through the listener's new port %d: %v", port, err)
	}
	if body, err := get(ctx, old); err == nil {
		t.Errorf("the listener's old port %d still answers: %q", old, body)
	}
	return port
}

// checkCounts: exactly one load balancer, target group and listener.
func checkCounts(ctx context.Context, t *testing.T, c *elb.Client) {
	t.Helper()
	lbs, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	tgs, err := c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lbs.LoadBalancers) != 1 || len(tgs.TargetGroups) != 1 {
		t.Fatalf("after the restart: %d load balancers, %d target groups, want 1 each", len(lbs.LoadBalancers), len(tgs.TargetGroups))
	}
	ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Listeners) != 1 {
		t.Errorf("after the restart: %d listeners, want 1", len(ls.Listeners))
	}
}

// freeListenerPort is a port of 127.0.0.1 nothing listens on at the moment.
func freeListenerPort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}
