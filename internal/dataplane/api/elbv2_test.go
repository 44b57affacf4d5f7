package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/go-logr/logr/testr"
	proxyproto "github.com/pires/go-proxyproto"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/elbv2"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// elbEnv is the API server with the local ELBv2 API and a running Balancer whose targets are
// dialed on the host (test backends on 127.0.0.1), with SDK clients for ECS and ELBv2.
type elbEnv struct {
	*env
	elb      *elb.Client
	balancer *elbv2.Balancer
}

func newELBEnv(t *testing.T) *elbEnv {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, stop := startELBEnv(t, st)
	t.Cleanup(stop)
	return e
}

// startELBEnv starts an elbEnv over st; stop ends its server and balancer, as a data plane that
// stops (a new one may start over st).
func startELBEnv(t *testing.T, st *store.Store) (*elbEnv, func()) {
	t.Helper()
	log := testr.NewWithInterface(t, testr.Options{})
	var d net.Dialer
	b := elbv2.NewBalancer(elbv2.Options{Store: st, Dial: d.DialContext, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	<-b.Ready()
	eng := &fakeEngine{}
	srv := httptest.NewServer(api.NewServer(api.Options{
		Store: st, Engine: eng, ARNs: testARNs, Credentials: testCreds, Logger: log,
		LoadBalancers: elbv2.NewAPI(st, testARNs, b),
	}))
	e := &env{t: t, url: srv.URL, store: st, engine: eng}
	e.ecs = e.client(testCreds)
	return &elbEnv{env: e, balancer: b, elb: elbClient(srv.URL, testCreds)}, func() { srv.Close(); cancel(); <-done }
}

func elbClient(url string, creds aws.Credentials) *elb.Client {
	return elb.New(elb.Options{
		Region: testARNs.Region, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
	})
}

// freePort returns a port nothing listens on at the moment.
func freePort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// serveTCP serves every connection to a new port of 127.0.0.1 with handle (in a goroutine of its
// own) until the test ends, and returns the port.
func serveTCP(t *testing.T, handle func(net.Conn)) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { handle(c); _ = c.Close() }()
		}
	}()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// backend answers every connection with its name and closes it.
func backend(t *testing.T, name string) int32 {
	t.Helper()
	return serveTCP(t, func(c net.Conn) { _, _ = io.WriteString(c, name) })
}

// stack creates a network load balancer, a TCP target group checked every 5 s (healthy after 2)
// and a listener on a free port.
func (e *elbEnv) stack(t *testing.T, name string, port int32) (lb, tg, listener string) {
	t.Helper()
	ctx := context.Background()
	lbOut := must[*elb.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String(name), Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: []string{"subnet-1"},
	}))
	tgOut := must[*elb.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, tgInput(name, 8080)))
	lsOut := must[*elb.CreateListenerOutput](t)(e.elb.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lbOut.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(port),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgOut.TargetGroups[0].TargetGroupArn}},
	}))
	return *lbOut.LoadBalancers[0].LoadBalancerArn, *tgOut.TargetGroups[0].TargetGroupArn, *lsOut.Listeners[0].ListenerArn
}

func tgInput(name string, port int32) *elb.CreateTargetGroupInput {
	return &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(port), VpcId: aws.String("vpc-1"),
		TargetType: elbtypes.TargetTypeEnumIp, HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2),
	}
}

// waitState polls DescribeTargetHealth until every target is in state (bounded: 60 polls).
func (e *elbEnv) waitState(t *testing.T, tg string, state elbtypes.TargetHealthStateEnum, n int) []elbtypes.TargetHealthDescription {
	t.Helper()
	var last []elbtypes.TargetHealthDescription
	for range 60 {
		out := must[*elb.DescribeTargetHealthOutput](t)(e.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)}))
		last = out.TargetHealthDescriptions
		all := len(last) == n
		for _, d := range last {
			all = all && d.TargetHealth.State == state
		}
		if all {
			return last
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("targets never all %s: %+v", state, last)
	return nil
}

func read(t *testing.T, port int32) string {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestELBv2Flow: a load balancer, a target group and a listener made with the SDK; targets become
// healthy after two checks and take the listener's connections in turn; a deregistered target
// drains, then it is gone.
func TestELBv2Flow(t *testing.T) {
	e := newELBEnv(t)
	ctx := context.Background()
	port := freePort(t)
	lb, tg, _ := e.stack(t, "web", port)
	a, b := backend(t, "a"), backend(t, "b")
	must[*elb.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg),
		Targets: []elbtypes.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(a)}, {Id: aws.String("127.0.0.1"), Port: aws.Int32(b)}}}))
	e.waitState(t, tg, elbtypes.TargetHealthStateEnumHealthy, 2)
	seen := map[string]int{}
	for range 4 {
		seen[read(t, port)]++
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Errorf("4 connections through the listener reached %v, want a and b twice each", seen)
	}
	must[*elb.ModifyTargetGroupAttributesOutput](t)(e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
		TargetGroupArn: aws.String(tg), Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}}))
	attrs := must[*elb.DescribeTargetGroupAttributesOutput](t)(e.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tg)}))
	got := map[string]string{}
	for _, a := range attrs.Attributes {
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if want := map[string]string{"deregistration_delay.timeout_seconds": "1", "proxy_protocol_v2.enabled": "false"}; !maps.Equal(got, want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	must[*elb.DeregisterTargetsOutput](t)(e.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(tg),
		Targets: []elbtypes.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(a)}}}))
	h := must[*elb.DescribeTargetHealthOutput](t)(e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg),
		Targets: []elbtypes.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(a)}}}))
	if got := h.TargetHealthDescriptions[0].TargetHealth; got.State != elbtypes.TargetHealthStateEnumDraining || got.Reason != elbtypes.TargetHealthReasonEnumDeregistrationInProgress {
		t.Errorf("deregistered target: %s %s, want draining Target.DeregistrationInProgress", got.State, got.Reason)
	}
	for range 3 {
		if got := read(t, port); got != "b" {
			t.Errorf("a connection after a's deregistration reached %q, want b", got)
		}
	}
	e.waitState(t, tg, elbtypes.TargetHealthStateEnumHealthy, 1)
	lbs := must[*elb.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{lb}}))
	if d := *lbs.LoadBalancers[0].DNSName; !strings.HasSuffix(d, ".elb.localhost") || lbs.LoadBalancers[0].Type != elbtypes.LoadBalancerTypeEnumNetwork {
		t.Errorf("load balancer %s of type %s, want NAME-ID.elb.localhost, network", d, lbs.LoadBalancers[0].Type)
	}
	tgs := must[*elb.DescribeTargetGroupsOutput](t)(e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(lb)}))
	if len(tgs.TargetGroups) != 1 || len(tgs.TargetGroups[0].LoadBalancerArns) != 1 {
		t.Errorf("target groups of the load balancer: %+v", tgs.TargetGroups)
	}
}

// TestELBv2ProxyProtocol: with the target group attribute proxy_protocol_v2.enabled, each
// connection through the listener reaches the target with a PROXY protocol v2 header carrying the
// client's address (what an NLB sends); turned off again, none. A value other than true or false
// is refused naming the member.
func TestELBv2ProxyProtocol(t *testing.T) {
	e := newELBEnv(t)
	ctx := context.Background()
	port := freePort(t)
	_, tg, _ := e.stack(t, "pp", port)
	backendPort := serveTCP(t, func(raw net.Conn) {
		c := proxyproto.NewConn(raw, proxyproto.WithPolicy(proxyproto.USE))
		_, _ = io.WriteString(c, c.RemoteAddr().String())
	})
	must[*elb.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg),
		Targets: []elbtypes.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(backendPort)}}}))
	e.waitState(t, tg, elbtypes.TargetHealthStateEnumHealthy, 1)
	setPP := func(v string) error {
		_, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tg),
			Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("proxy_protocol_v2.enabled"), Value: aws.String(v)}}})
		return err
	}
	// throughListener dials the listener and returns the address the target saw and the
	// client's own.
	throughListener := func() (seen, client string) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A first byte lets the target tell at once that no header came (else it waits for one).
		if _, err := io.WriteString(c, "x"); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(c)
		return string(b), c.LocalAddr().String()
	}
	if seen, client := throughListener(); seen == client {
		t.Errorf("without the attribute the target saw the client's address %s, want the balancer's", client)
	}
	if err := setPP("true"); err != nil {
		t.Fatal(err)
	}
	attrs := must[*elb.DescribeTargetGroupAttributesOutput](t)(e.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tg)}))
	found := false
	for _, a := range attrs.Attributes {
		found = found || (aws.ToString(a.Key) == "proxy_protocol_v2.enabled" && aws.ToString(a.Value) == "true")
	}
	if !found {
		t.Errorf("attributes %+v, want proxy_protocol_v2.enabled=true", attrs.Attributes)
	}
	if seen, client := throughListener(); seen != client {
		t.Errorf("with proxy_protocol_v2.enabled the target saw %s, want the client's address %s", seen, client)
	}
	if err := setPP("false"); err != nil {
		t.Fatal(err)
	}
	if seen, client := throughListener(); seen == client {
		t.Errorf("with proxy_protocol_v2.enabled=false the target still saw the client's address %s", client)
	}
	wantAPIError(t, setPP("yes"), "ValidationError", "proxy_protocol_v2.enabled", "true or false")
}

// TestELBv2Refusals: bad input gets ELBv2's error code and a message naming the member.
func TestELBv2Refusals(t *testing.T) {
	e := newELBEnv(t)
	ctx := context.Background()
	port := freePort(t)
	lb, tg, _ := e.stack(t, "web", port)
	other := must[*elb.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("other"), Type: elbtypes.LoadBalancerTypeEnumNetwork}))
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := int32(taken.Addr().(*net.TCPAddr).Port)
	tg2 := must[*elb.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, tgInput("second", 80)))
	for _, tc := range []struct {
		name  string
		call  func() error
		code  string
		parts []string
	}{
		{"application load balancer", func() error {
			_, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("alb")})
			return err
		}, "ValidationError", []string{"Type", "network"}},
		{"members not served are refused by name", func() error {
			_, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("t"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
				SubnetMappings: []elbtypes.SubnetMapping{{SubnetId: aws.String("subnet-1"), AllocationId: aws.String("eipalloc-1")}}})
			return err
		}, "ValidationError", []string{"SubnetMappings[0].AllocationId"}},
		{"bad name", func() error {
			_, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("-x"), Type: elbtypes.LoadBalancerTypeEnumNetwork})
			return err
		}, "ValidationError", []string{"Name"}},
		{"same name, other settings", func() error {
			_, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Type: elbtypes.LoadBalancerTypeEnumNetwork, Scheme: elbtypes.LoadBalancerSchemeEnumInternal})
			return err
		}, "DuplicateLoadBalancerName", []string{"web"}},
		{"instance targets", func() error {
			in := tgInput("inst", 80)
			in.TargetType = ""
			_, err := e.elb.CreateTargetGroup(ctx, in)
			return err
		}, "ValidationError", []string{"TargetType", "ip"}},
		{"HTTP target group", func() error {
			in := tgInput("http", 80)
			in.Protocol = elbtypes.ProtocolEnumHttp
			_, err := e.elb.CreateTargetGroup(ctx, in)
			return err
		}, "UnsupportedProtocol", []string{"Protocol"}},
		{"health check timeout not below the interval", func() error {
			in := tgInput("slow", 80)
			in.HealthCheckTimeoutSeconds = aws.Int32(5)
			_, err := e.elb.CreateTargetGroup(ctx, in)
			return err
		}, "ValidationError", []string{"HealthCheckTimeoutSeconds"}},
		{"bad matcher", func() error {
			in := tgInput("m", 80)
			in.HealthCheckProtocol = elbtypes.ProtocolEnumHttp
			in.Matcher = &elbtypes.Matcher{HttpCode: aws.String("abc")}
			_, err := e.elb.CreateTargetGroup(ctx, in)
			return err
		}, "ValidationError", []string{"Matcher.HttpCode"}},
		{"target group name taken", func() error {
			_, err := e.elb.CreateTargetGroup(ctx, tgInput("web", 9090))
			return err
		}, "DuplicateTargetGroupName", []string{"web"}},
		{"unknown target group", func() error {
			_, err := e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg + "x")})
			return err
		}, "TargetGroupNotFound", nil},
		{"unknown attribute", func() error {
			_, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tg),
				Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("stickiness.enabled"), Value: aws.String("true")}}})
			return err
		}, "ValidationError", []string{"Attributes[0].Key", "stickiness.enabled"}},
		{"deregistering an unregistered target", func() error {
			_, err := e.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.0.9")}}})
			return err
		}, "InvalidTarget", []string{"10.0.0.9:8080"}},
		{"a target that is no address", func() error {
			_, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("i-123")}}})
			return err
		}, "InvalidTarget", []string{"Targets[0].Id"}},
		{"availability zone of a target", func() error {
			_, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.0.9"), AvailabilityZone: aws.String("all")}}})
			return err
		}, "ValidationError", []string{"Targets[0].AvailabilityZone"}},
		{"port held by another process", func() error {
			_, err := e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: other.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp,
				Port: aws.Int32(takenPort), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg2.TargetGroups[0].TargetGroupArn}}})
			return err
		}, "InvalidConfigurationRequest", []string{"Port", "127.0.0.1"}},
		{"port of another load balancer", func() error {
			_, err := e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: other.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp,
				Port: aws.Int32(port), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg2.TargetGroups[0].TargetGroupArn}}})
			return err
		}, "InvalidConfigurationRequest", []string{"Port"}},
		{"target group of another load balancer", func() error {
			_, err := e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: other.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp,
				Port: aws.Int32(freePort(t)), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}})
			return err
		}, "TargetGroupAssociationLimit", []string{tg}},
		{"listener on the same port again", func() error {
			_, err := e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lb), Protocol: elbtypes.ProtocolEnumTcp,
				Port: aws.Int32(port), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg2.TargetGroups[0].TargetGroupArn}}})
			return err
		}, "DuplicateListener", nil},
		{"HTTP listener", func() error {
			_, err := e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lb), Protocol: elbtypes.ProtocolEnumHttp,
				Port: aws.Int32(freePort(t)), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg2.TargetGroups[0].TargetGroupArn}}})
			return err
		}, "UnsupportedProtocol", []string{"Protocol"}},
		{"target group in use", func() error {
			_, err := e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)})
			return err
		}, "ResourceInUse", nil},
		{"an action the local load balancer does not serve", func() error {
			_, err := e.elb.DescribeSSLPolicies(ctx, &elb.DescribeSSLPoliciesInput{})
			return err
		}, "InvalidAction", []string{"DescribeSSLPolicies"}},
		{"signed for another service", func() error {
			_, err := elb.New(elb.Options{Region: testARNs.Region, BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1, Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "x"}, nil
			})}).DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
			return err
		}, "UnrecognizedClient", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code, tc.parts...) })
	}
}

// TestELBv2Idempotent: the same create request again returns what the first one made.
func TestELBv2Idempotent(t *testing.T) {
	e := newELBEnv(t)
	ctx := context.Background()
	port := freePort(t)
	lb, tg, ls := e.stack(t, "web", port)
	lb2, tg2, ls2 := e.stack(t, "web", port)
	if lb != lb2 || tg != tg2 || ls != ls2 {
		t.Errorf("a repeated create made new resources: %s %s %s, then %s %s %s", lb, tg, ls, lb2, tg2, ls2)
	}
	must[*elb.DeleteLoadBalancerOutput](t)(e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)}))
	if _, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		t.Errorf("the listener of a deleted load balancer still accepts connections")
	}
	must[*elb.DeleteTargetGroupOutput](t)(e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)}))
	_, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})
	wantAPIError(t, err, "TargetGroupNotFound")
}

// testTargetGroupARN is the target group putTargetGroup records.
const testTargetGroupARN = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/local/0123456789abcdef"

// putTargetGroup records a target group with a listener of a load balancer straight in the
// store (for ECS tests that need loadBalancers to name one) and returns its ARN.
func putTargetGroup(t *testing.T, st *store.Store) string {
	t.Helper()
	lb := "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/local/0123456789abcdef"
	err := st.Update(func(tx *store.Tx) error {
		return errors.Join(
			tx.PutLoadBalancer(&store.LoadBalancerRecord{ARN: lb, Name: "local", Type: "network"}),
			tx.PutTargetGroup(&store.TargetGroupRecord{ARN: testTargetGroupARN, Name: "local", Protocol: "TCP", Port: 8080, TargetType: "ip"}),
			tx.PutListener(&store.ListenerRecord{ARN: lb + "/listener", LoadBalancerARN: lb, Protocol: "TCP", Port: 1, TargetGroupARN: testTargetGroupARN}))
	})
	if err != nil {
		t.Fatal(err)
	}
	return testTargetGroupARN
}

// TestServiceLoadBalancers: an ECS service's loadBalancers must name a target group of the local
// ELBv2 API that a listener uses, with ECS's errors otherwise.
func TestServiceLoadBalancers(t *testing.T) {
	e := newELBEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	_, tg, _ := e.stack(t, "web", freePort(t))
	lonely := must[*elb.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, tgInput("lonely", 8080)))
	create := func(lb ecstypes.LoadBalancer) error {
		lb.ContainerName, lb.ContainerPort = aws.String("app"), aws.Int32(8080)
		_, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("api"), TaskDefinition: aws.String("web"),
			DesiredCount: aws.Int32(1), LoadBalancers: []ecstypes.LoadBalancer{lb}})
		return err
	}
	for _, tc := range []struct {
		name  string
		lb    ecstypes.LoadBalancer
		parts []string
	}{
		{"no such target group", ecstypes.LoadBalancer{TargetGroupArn: aws.String(tg + "0")}, []string{"loadBalancers[0].targetGroupArn", "Unable to assume role and validate the specified targetGroupArn", "ELBv2 API"}},
		{"target group without a listener", ecstypes.LoadBalancer{TargetGroupArn: lonely.TargetGroups[0].TargetGroupArn}, []string{"does not have an associated load balancer", "CreateListener"}},
		{"classic load balancer", ecstypes.LoadBalancer{LoadBalancerName: aws.String("classic")}, []string{"loadBalancers[0].loadBalancerName", "Classic Load Balancers are not supported with Fargate"}},
		{"no target group", ecstypes.LoadBalancer{}, []string{"loadBalancers[0].targetGroupArn", "required"}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, create(tc.lb), "InvalidParameterException", tc.parts...) })
	}
	if err := create(ecstypes.LoadBalancer{TargetGroupArn: aws.String(tg)}); err != nil {
		t.Fatalf("a service behind a target group with a listener: %v", err)
	}
}

// echoBackend echoes every connection's bytes back until the client closes it.
func echoBackend(t *testing.T) int32 {
	t.Helper()
	return serveTCP(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
}

// echo writes msg on c and reads it back.
func echo(c net.Conn, msg string) (string, error) {
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	b := make([]byte, len(msg))
	_, err := io.ReadFull(c, b)
	return string(b), err
}

// TestELBv2ModifyListener (wire, aws-sdk-go-v2): ModifyListener moves a listener to another port
// — a connection open through the old port goes on, the old port closes, the new one serves, the
// load balancer's other listener is untouched — and to another target group, which takes the new
// connections once its target is healthy. A port in use is refused and changes nothing.
func TestELBv2ModifyListener(t *testing.T) {
	e := newELBEnv(t)
	ctx := context.Background()
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	lb, tg, ls := e.stack(t, "web", p1)
	must[*elb.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg),
		Targets: []elbtypes.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(echoBackend(t))}}}))
	e.waitState(t, tg, elbtypes.TargetHealthStateEnumHealthy, 1)
	must[*elb.CreateListenerOutput](t)(e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lb), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(p2), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}}))
	open, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p1))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if got, err := echo(open, "before"); got != "before" {
		t.Fatalf("through the listener before the change: %q, %v", got, err)
	}

	out := must[*elb.ModifyListenerOutput](t)(e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(ls), Port: aws.Int32(p3)}))
	if got := aws.ToInt32(out.Listeners[0].Port); got != p3 {
		t.Errorf("ModifyListener answered port %d, want %d", got, p3)
	}
	if got, err := echo(open, "after"); got != "after" {
		t.Errorf("the connection open through the old port after the change: %q, %v; want it to go on", got, err)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p1)); err == nil {
		c.Close()
		t.Errorf("the old port %d still accepts connections", p1)
	}
	for _, p := range []int32{p2, p3} {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d after the change: %v", p, err)
		}
		if got, err := echo(c, "new"); got != "new" {
			t.Errorf("through port %d after the change: %q, %v", p, got, err)
		}
		c.Close()
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(ls), Port: aws.Int32(int32(taken.Addr().(*net.TCPAddr).Port))})
	wantAPIError(t, err, "InvalidConfigurationRequest", "Port", "127.0.0.1")
	_, err = e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(ls), Port: aws.Int32(p2)})
	wantAPIError(t, err, "DuplicateListener")
	_, err = e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(ls), SslPolicy: aws.String("ELBSecurityPolicy-2016-08")})
	wantAPIError(t, err, "ValidationError", "SslPolicy")
	_, err = e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(ls),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg + "0")}}})
	wantAPIError(t, err, "TargetGroupNotFound")

	tg2 := *must[*elb.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, tgInput("second", 80))).TargetGroups[0].TargetGroupArn
	must[*elb.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg2),
		Targets: []elbtypes.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(backend(t, "second"))}}}))
	must[*elb.ModifyListenerOutput](t)(e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(ls),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg2)}}}))
	e.waitState(t, tg2, elbtypes.TargetHealthStateEnumHealthy, 1)
	if got := read(t, p3); got != "second" {
		t.Errorf("a connection after the listener moved to the second target group reached %q, want second", got)
	}
	listeners := must[*elb.DescribeListenersOutput](t)(e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{ls}})).Listeners
	if len(listeners) != 1 || aws.ToInt32(listeners[0].Port) != p3 || aws.ToString(listeners[0].DefaultActions[0].TargetGroupArn) != tg2 {
		t.Errorf("DescribeListeners after the changes: %+v", listeners)
	}
}

// TestELBv2ModifyTargetGroupAndTags (wire, aws-sdk-go-v2): ModifyTargetGroup's answer and
// DescribeTargetGroups show the new health check; tags made with CreateTargetGroup, AddTags and
// RemoveTags read back with DescribeTags; load balancer attributes round-trip and deletion
// protection refuses DeleteLoadBalancer. Errors reach the SDK with ELBv2's codes.
func TestELBv2ModifyTargetGroupAndTags(t *testing.T) {
	e := newELBEnv(t)
	ctx := context.Background()
	in := tgInput("web", 8080)
	in.Tags = []elbtypes.Tag{{Key: aws.String("team"), Value: aws.String("shop")}}
	tg := *must[*elb.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, in)).TargetGroups[0].TargetGroupArn
	lb := *must[*elb.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String("web"), Type: elbtypes.LoadBalancerTypeEnumNetwork})).LoadBalancers[0].LoadBalancerArn

	mod := must[*elb.ModifyTargetGroupOutput](t)(e.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(tg),
		HealthCheckProtocol: elbtypes.ProtocolEnumHttp, HealthCheckPath: aws.String("/healthz"), Matcher: &elbtypes.Matcher{HttpCode: aws.String("200-299")},
		HealthCheckIntervalSeconds: aws.Int32(10), UnhealthyThresholdCount: aws.Int32(3)})).TargetGroups[0]
	desc := must[*elb.DescribeTargetGroupsOutput](t)(e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})).TargetGroups[0]
	for _, g := range []elbtypes.TargetGroup{mod, desc} {
		got := fmt.Sprintf("%s %s %s %d %d %d %d", g.HealthCheckProtocol, aws.ToString(g.HealthCheckPath), aws.ToString(g.Matcher.HttpCode),
			aws.ToInt32(g.HealthCheckIntervalSeconds), aws.ToInt32(g.HealthCheckTimeoutSeconds), aws.ToInt32(g.HealthyThresholdCount), aws.ToInt32(g.UnhealthyThresholdCount))
		if want := "HTTP /healthz 200-299 10 2 2 3"; got != want {
			t.Errorf("health check after ModifyTargetGroup: %s, want %s", got, want)
		}
	}
	_, err := e.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(tg), HealthCheckTimeoutSeconds: aws.Int32(10)})
	wantAPIError(t, err, "ValidationError", "HealthCheckTimeoutSeconds")

	must[*elb.AddTagsOutput](t)(e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{tg, lb},
		Tags: []elbtypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}))
	must[*elb.RemoveTagsOutput](t)(e.elb.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: []string{tg}, TagKeys: []string{"team"}}))
	tags := must[*elb.DescribeTagsOutput](t)(e.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{tg, lb}}))
	got := map[string]string{}
	for _, d := range tags.TagDescriptions {
		for _, tag := range d.Tags {
			got[aws.ToString(d.ResourceArn)] += aws.ToString(tag.Key) + "=" + aws.ToString(tag.Value) + ";"
		}
	}
	if want := map[string]string{tg: "env=dev;", lb: "env=dev;"}; !maps.Equal(got, want) {
		t.Errorf("DescribeTags: %v, want %v", got, want)
	}
	_, err = e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{lb}, Tags: []elbtypes.Tag{{Key: aws.String("a")}, {Key: aws.String("a")}}})
	wantAPIError(t, err, "DuplicateTagKeys", "Tags[1].Key")
	_, err = e.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{lb + "0"}})
	wantAPIError(t, err, "LoadBalancerNotFound")

	attrs := must[*elb.ModifyLoadBalancerAttributesOutput](t)(e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}}))
	gotAttrs := map[string]string{}
	for _, a := range attrs.Attributes {
		gotAttrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if want := map[string]string{"deletion_protection.enabled": "true", "load_balancing.cross_zone.enabled": "false"}; !maps.Equal(gotAttrs, want) {
		t.Errorf("ModifyLoadBalancerAttributes answered %v, want %v", gotAttrs, want)
	}
	described := must[*elb.DescribeLoadBalancerAttributesOutput](t)(e.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb)}))
	if len(described.Attributes) != 2 {
		t.Errorf("DescribeLoadBalancerAttributes: %+v", described.Attributes)
	}
	_, err = e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)})
	wantAPIError(t, err, "OperationNotPermitted", "deletion_protection.enabled")
	_, err = e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("access_logs.s3.enabled"), Value: aws.String("true")}}})
	wantAPIError(t, err, "ValidationError", "Attributes[0].Key", "access_logs.s3.enabled")
}

// TestELBv2ImpairedAfterARestart: a listener whose port another process took while the data
// plane was down makes DescribeLoadBalancers answer State active_impaired, its Reason naming the
// port and the bind error (ELBv2 API reference, LoadBalancerState), until the port is free again
// and the balancer's next sync listens on it: then active, with no reason.
func TestELBv2ImpairedAfterARestart(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, stop := startELBEnv(t, st)
	port := freePort(t)
	lb, _, _ := e.stack(t, "web", port)
	stop()
	taken, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	e, stop = startELBEnv(t, st)
	defer stop()
	state := func() elbtypes.LoadBalancerState {
		out := must[*elb.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{lb}}))
		return *out.LoadBalancers[0].State
	}
	got := state()
	if got.Code != elbtypes.LoadBalancerStateEnumActiveImpaired {
		t.Errorf("State.Code %s with the listener's port taken, want active_impaired", got.Code)
	}
	for _, part := range []string{fmt.Sprintf("port %d", port), "address already in use"} {
		if !strings.Contains(aws.ToString(got.Reason), part) {
			t.Errorf("State.Reason %q does not say %q", aws.ToString(got.Reason), part)
		}
	}
	_ = taken.Close()
	e.balancer.Sync() // what the balancer does every second on its own
	if got := state(); got.Code != elbtypes.LoadBalancerStateEnumActive || got.Reason != nil {
		t.Errorf("State %s (%q) once the port is free, want active with no reason", got.Code, aws.ToString(got.Reason))
	}
}
