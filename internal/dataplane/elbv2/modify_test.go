package elbv2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// serve runs one action given as form members (Version added) and returns its result or error.
func serve(a *API, members ...string) (any, error) {
	v := url.Values{"Version": {APIVersion}}
	for i := 0; i+1 < len(members); i += 2 {
		v.Add(members[i], members[i+1])
	}
	_, out, err := a.Serve(v)
	return out, err
}

// ok runs an action that must succeed.
func ok(t *testing.T, a *API, members ...string) any {
	t.Helper()
	out, err := serve(a, members...)
	if err != nil {
		t.Fatalf("%v: %v", members[:2], err)
	}
	return out
}

// wantError checks that err is an *Error with code whose message has every part.
func wantError(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want %s", err, code)
	}
	if e.Code != code {
		t.Errorf("code %s (%s), want %s", e.Code, e.Message, code)
	}
	for _, p := range parts {
		if !strings.Contains(e.Message, p) {
			t.Errorf("message %q does not name %q", e.Message, p)
		}
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// freePort is a port of 127.0.0.1 nothing listens on at the moment: one the balancer's own bind
// got from the system, closed again.
func freePort(t *testing.T) int32 {
	t.Helper()
	ln, err := (&Balancer{address: "127.0.0.1"}).bind(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// stack creates load balancer name, a TCP target group name (checks every 5 s, 2 passes or
// failures decide) and a listener on port, and returns their ARNs.
func stack(t *testing.T, a *API, name string, port int32) (lb, tg, ls string) {
	t.Helper()
	lb = ok(t, a, "Action", "CreateLoadBalancer", "Name", name, "Type", "network").(loadBalancersResult).LoadBalancers[0].LoadBalancerArn
	tg = ok(t, a, "Action", "CreateTargetGroup", "Name", name, "Protocol", "TCP", "Port", "80", "VpcId", "v", "TargetType", "ip",
		"HealthCheckIntervalSeconds", "5", "HealthCheckTimeoutSeconds", "2", "HealthyThresholdCount", "2", "UnhealthyThresholdCount", "2").(targetGroupsResult).TargetGroups[0].TargetGroupArn
	ls = ok(t, a, "Action", "CreateListener", "LoadBalancerArn", lb, "Protocol", "TCP", "Port", fmt.Sprint(port),
		"DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", tg).(listenersResult).Listeners[0].ListenerArn
	return lb, tg, ls
}

// TestModifyTargetGroupRules: ModifyTargetGroup changes only the members given, applies
// CreateTargetGroup's rules to the result, and refuses bad input with ELBv2's codes naming the
// member.
func TestModifyTargetGroupRules(t *testing.T) {
	a, stop := running(t, openStore(t))
	defer stop()
	_, tg, _ := stack(t, a, "web", freePort(t))
	type hc struct {
		Protocol, Port, Path, Matcher         string
		Interval, Timeout, Healthy, Unhealthy int32
	}
	modify := func(members ...string) (hc, error) {
		out, err := serve(a, append([]string{"Action", "ModifyTargetGroup", "TargetGroupArn", tg}, members...)...)
		if err != nil {
			return hc{}, err
		}
		g := out.(targetGroupsResult).TargetGroups[0]
		m := ""
		if g.Matcher != nil {
			m = g.Matcher.HTTPCode
		}
		return hc{g.HealthCheckProtocol, g.HealthCheckPort, g.HealthCheckPath, m, g.HealthCheckIntervalSeconds,
			g.HealthCheckTimeoutSeconds, g.HealthyThresholdCount, g.UnhealthyThresholdCount}, nil
	}
	for _, tc := range []struct {
		name    string
		members []string
		want    hc
	}{
		{"numbers", []string{"HealthCheckIntervalSeconds", "10", "HealthyThresholdCount", "3", "UnhealthyThresholdCount", "4"},
			hc{"TCP", "traffic-port", "", "", 10, 2, 3, 4}},
		{"HTTP gets the default path and codes", []string{"HealthCheckProtocol", "HTTP"}, hc{"HTTP", "traffic-port", "/", "200-399", 10, 2, 3, 4}},
		{"path, codes and port", []string{"HealthCheckPath", "/healthz", "Matcher.HttpCode", "200,204", "HealthCheckPort", "8081"},
			hc{"HTTP", "8081", "/healthz", "200,204", 10, 2, 3, 4}},
		{"back to TCP drops the path and codes", []string{"HealthCheckProtocol", "TCP", "HealthCheckPort", "traffic-port"},
			hc{"TCP", "traffic-port", "", "", 10, 2, 3, 4}},
		{"nothing given changes nothing", nil, hc{"TCP", "traffic-port", "", "", 10, 2, 3, 4}},
	} {
		got, err := modify(tc.members...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, tc := range []struct {
		name    string
		members []string
		code    string
		parts   []string
	}{
		{"path with a TCP check", []string{"HealthCheckPath", "/x"}, CodeValidation, []string{"HealthCheckPath", "HTTP"}},
		{"timeout not below the interval", []string{"HealthCheckTimeoutSeconds", "10"}, CodeValidation,
			[]string{"HealthCheckTimeoutSeconds: 10 must be smaller than HealthCheckIntervalSeconds (10 (the target group's current value, not given));", "--health-check-timeout-seconds", "a longer HealthCheckIntervalSeconds"}},
		{"interval not above the timeout", []string{"HealthCheckTimeoutSeconds", "6", "HealthCheckIntervalSeconds", "5"}, CodeValidation,
			[]string{"HealthCheckTimeoutSeconds: 6 must be smaller than HealthCheckIntervalSeconds (5);"}},
		{"interval out of range", []string{"HealthCheckIntervalSeconds", "301"}, CodeValidation, []string{"healthCheckIntervalSeconds", "between 5 and 300"}},
		{"threshold out of range", []string{"HealthyThresholdCount", "11"}, CodeValidation, []string{"healthyThresholdCount", "between 2 and 10"}},
		{"HTTPS checks", []string{"HealthCheckProtocol", "HTTPS"}, CodeValidation, []string{"HealthCheckProtocol", "TCP or HTTP"}},
		{"bad codes", []string{"HealthCheckProtocol", "HTTP", "Matcher.HttpCode", "600"}, CodeValidation, []string{"Matcher.HttpCode"}},
		{"gRPC codes", []string{"Matcher.GrpcCode", "0"}, CodeValidation, []string{"Matcher.GrpcCode", "not supported"}},
		{"bad port", []string{"HealthCheckPort", "0"}, CodeValidation, []string{"HealthCheckPort"}},
		{"checks off", []string{"HealthCheckEnabled", "false"}, CodeValidation, []string{"HealthCheckEnabled"}},
	} {
		_, err := modify(tc.members...)
		t.Run(tc.name, func(t *testing.T) { wantError(t, err, tc.code, tc.parts...) })
	}
	if got, _ := modify(); got.Interval != 10 || got.Protocol != "TCP" {
		t.Errorf("a refused change changed the group: %+v", got)
	}
	_, err := serve(a, "Action", "ModifyTargetGroup", "TargetGroupArn", tg+"0", "HealthCheckIntervalSeconds", "6")
	wantError(t, err, CodeTargetGroupNotFound)
	// The changed group is what a repeated create must match now.
	_, err = serve(a, "Action", "CreateTargetGroup", "Name", "web", "Protocol", "TCP", "Port", "80", "VpcId", "v", "TargetType", "ip",
		"HealthCheckIntervalSeconds", "5", "HealthCheckTimeoutSeconds", "2", "HealthyThresholdCount", "2", "UnhealthyThresholdCount", "2")
	wantError(t, err, CodeDuplicateTargetGroupName, "web")
}

// TestCreateTargetGroupTimeoutRule: a timeout not below the interval is refused saying which
// value the request gave and which is the default (HTTP checks time out after 6 s, TCP after
// 10 s, the interval is 30 s), and what to do.
func TestCreateTargetGroupTimeoutRule(t *testing.T) {
	a, stop := running(t, openStore(t))
	defer stop()
	for _, tc := range []struct {
		name    string
		members []string
		want    string
	}{
		{"HTTP default timeout", []string{"HealthCheckProtocol", "HTTP", "HealthCheckIntervalSeconds", "5"},
			"HealthCheckTimeoutSeconds: 6 (the default for HealthCheckProtocol HTTP, not given) must be smaller than HealthCheckIntervalSeconds (5);"},
		{"TCP default timeout", []string{"HealthCheckIntervalSeconds", "10"},
			"HealthCheckTimeoutSeconds: 10 (the default for HealthCheckProtocol TCP, not given) must be smaller than HealthCheckIntervalSeconds (10);"},
		{"default interval", []string{"HealthCheckTimeoutSeconds", "30"},
			"HealthCheckTimeoutSeconds: 30 must be smaller than HealthCheckIntervalSeconds (30 (the default, not given));"},
		{"both given", []string{"HealthCheckIntervalSeconds", "5", "HealthCheckTimeoutSeconds", "5"},
			"HealthCheckTimeoutSeconds: 5 must be smaller than HealthCheckIntervalSeconds (5);"},
	} {
		_, err := serve(a, append([]string{"Action", "CreateTargetGroup", "Name", "web", "Protocol", "TCP", "Port", "80", "VpcId", "v", "TargetType", "ip"}, tc.members...)...)
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, err, CodeValidation, tc.want, "give HealthCheckTimeoutSeconds (--health-check-timeout-seconds) below the interval",
				"or a longer HealthCheckIntervalSeconds (--health-check-interval-seconds)")
		})
	}
}

// TestModifyTargetGroupRestartsChecks: a target healthy under a TCP check becomes unhealthy once
// ModifyTargetGroup makes the check an HTTP GET of a path that answers 500, and healthy again
// when the path answers 200 — the checkers follow the group's settings. The balancer's clock is
// fake: each check interval passes when the test steps it.
func TestModifyTargetGroupRestartsChecks(t *testing.T) {
	st := openStore(t)
	clk := clocktesting.NewFakeClock(time.Now())
	var d net.Dialer
	b := NewBalancer(Options{Store: st, Dial: d.DialContext, Logger: testr.New(t), Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	<-b.Ready()
	a := NewAPI(st, model.ARNs{Region: "us-east-1", Account: "000000000000"}, b)

	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = backend.Serve(l) }()
	defer backend.Close()
	_, tg, _ := stack(t, a, "web", freePort(t))
	ok(t, a, "Action", "RegisterTargets", "TargetGroupArn", tg, "Targets.member.1.Id", "127.0.0.1",
		"Targets.member.1.Port", fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	// until steps the fake clock (whenever a checker waits) until the target's health is state.
	until := func(state, reason string) {
		t.Helper()
		var got xmlTargetHealth
		for range 1000 {
			h := ok(t, a, "Action", "DescribeTargetHealth", "TargetGroupArn", tg).(targetHealthResult).TargetHealthDescriptions
			if got = h[0].TargetHealth; got.State == state && got.Reason == reason {
				return
			}
			if clk.HasWaiters() {
				clk.Step(5 * time.Second)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("target health %+v, want %s %s", got, state, reason)
	}
	until(StateHealthy, "")
	ok(t, a, "Action", "ModifyTargetGroup", "TargetGroupArn", tg, "HealthCheckProtocol", "HTTP", "HealthCheckPath", "/bad", "Matcher.HttpCode", "200")
	until(StateUnhealthy, reasonCodeMismatch)
	ok(t, a, "Action", "ModifyTargetGroup", "TargetGroupArn", tg, "HealthCheckPath", "/ok")
	until(StateHealthy, "")
}

// TestModifyListener: a listener's port changes (the new one bound, the old one closed, the load
// balancer's other listener untouched), a port in use is refused with ELBv2's codes and changes
// nothing, and after a restart the listener listens on its new port only, once.
func TestModifyListener(t *testing.T) {
	st := openStore(t)
	a, stop := running(t, st)
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	lb, tg, ls := stack(t, a, "web", p1)
	other := ok(t, a, "Action", "CreateListener", "LoadBalancerArn", lb, "Protocol", "TCP", "Port", fmt.Sprint(p2),
		"DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", tg).(listenersResult).Listeners[0].ListenerArn
	got := ok(t, a, "Action", "ModifyListener", "ListenerArn", ls, "Port", fmt.Sprint(p3)).(listenersResult).Listeners[0]
	if got.Port != p3 || got.DefaultActions[0].TargetGroupArn != tg {
		t.Errorf("ModifyListener answered %+v, want port %d forwarding to %s", got, p3, tg)
	}
	listening := func(port int32) bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}
	if listening(p1) || !listening(p2) || !listening(p3) {
		t.Errorf("after the change: %d listening %v (want false), %d %v, %d %v (want true)", p1, listening(p1), p2, listening(p2), p3, listening(p3))
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = serve(a, "Action", "ModifyListener", "ListenerArn", ls, "Port", fmt.Sprint(taken.Addr().(*net.TCPAddr).Port))
	wantError(t, err, CodeInvalidConfigurationRequest, "Port", "127.0.0.1")
	_, err = serve(a, "Action", "ModifyListener", "ListenerArn", ls, "Port", fmt.Sprint(p2))
	wantError(t, err, CodeDuplicateListener, lb)
	_, err = serve(a, "Action", "ModifyListener", "ListenerArn", ls, "Protocol", "TLS")
	wantError(t, err, CodeUnsupportedProtocol, "Protocol")
	_, err = serve(a, "Action", "ModifyListener", "ListenerArn", ls, "Certificates.member.1.CertificateArn", "arn:aws:acm:x")
	wantError(t, err, CodeValidation, "Certificates[0].CertificateArn")
	_, err = serve(a, "Action", "ModifyListener", "ListenerArn", ls+"0", "Port", "1")
	wantError(t, err, CodeListenerNotFound)
	if !listening(p3) {
		t.Errorf("a refused change closed the listener's port %d", p3)
	}
	stop()
	a, stop = running(t, st)
	defer stop()
	if listening(p1) || !listening(p2) || !listening(p3) {
		t.Errorf("after a restart: %d listening %v (want false), %d %v, %d %v (want true)", p1, listening(p1), p2, listening(p2), p3, listening(p3))
	}
	got2 := map[string]int32{}
	for _, l := range ok(t, a, "Action", "DescribeListeners", "LoadBalancerArn", lb).(listenersResult).Listeners {
		got2[l.ListenerArn] = l.Port
	}
	if diff := cmp.Diff(map[string]int32{ls: p3, other: p2}, got2); diff != "" {
		t.Errorf("listeners after a restart (-want +got):\n%s", diff)
	}
}

// TestTagsAndAttributes: tags on creates and with AddTags / RemoveTags, ELBv2's limits, and the
// load balancer attributes served (deletion protection refuses DeleteLoadBalancer); a deleted
// resource's tags go with it.
func TestTagsAndAttributes(t *testing.T) {
	st := openStore(t)
	a, stop := running(t, st)
	defer stop()
	lb := ok(t, a, "Action", "CreateLoadBalancer", "Name", "web", "Type", "network", "Tags.member.1.Key", "team", "Tags.member.1.Value", "a").(loadBalancersResult).LoadBalancers[0].LoadBalancerArn
	tg := ok(t, a, "Action", "CreateTargetGroup", "Name", "web", "Protocol", "TCP", "Port", "80", "VpcId", "v", "TargetType", "ip").(targetGroupsResult).TargetGroups[0].TargetGroupArn
	ok(t, a, "Action", "AddTags", "ResourceArns.member.1", lb, "ResourceArns.member.2", tg, "Tags.member.1.Key", "team", "Tags.member.1.Value", "b",
		"Tags.member.2.Key", "env", "Tags.member.2.Value", "")
	ok(t, a, "Action", "RemoveTags", "ResourceArns.member.1", tg, "TagKeys.member.1", "team", "TagKeys.member.2", "absent")
	got := ok(t, a, "Action", "DescribeTags", "ResourceArns.member.1", lb, "ResourceArns.member.2", tg).(tagsResult)
	want := tagsResult{TagDescriptions: []xmlTagDescription{
		{ResourceArn: lb, Tags: []xmlTag{{"team", "b"}, {"env", ""}}},
		{ResourceArn: tg, Tags: []xmlTag{{"env", ""}}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeTags (-want +got):\n%s", diff)
	}
	many := []string{"Action", "AddTags", "ResourceArns.member.1", tg}
	for i := range 50 {
		many = append(many, fmt.Sprintf("Tags.member.%d.Key", i+1), fmt.Sprint("k", i))
	}
	for _, tc := range []struct {
		name    string
		members []string
		code    string
		parts   []string
	}{
		{"51 tags", many, CodeTooManyTags, []string{"51", "50"}},
		{"a key twice", []string{"Action", "AddTags", "ResourceArns.member.1", lb, "Tags.member.1.Key", "a", "Tags.member.2.Key", "a"}, CodeDuplicateTagKeys, []string{"Tags[1].Key"}},
		{"reserved prefix", []string{"Action", "AddTags", "ResourceArns.member.1", lb, "Tags.member.1.Key", "aws:x"}, CodeValidation, []string{"Tags[0].Key", "aws:"}},
		{"bad character", []string{"Action", "AddTags", "ResourceArns.member.1", lb, "Tags.member.1.Key", "a", "Tags.member.1.Value", "a*b"}, CodeValidation, []string{"Tags[0].Value"}},
		{"no tags", []string{"Action", "AddTags", "ResourceArns.member.1", lb}, CodeValidation, []string{"Tags"}},
		{"unknown load balancer", []string{"Action", "DescribeTags", "ResourceArns.member.1", lb + "0"}, CodeLoadBalancerNotFound, nil},
		{"unknown target group", []string{"Action", "RemoveTags", "ResourceArns.member.1", tg + "0", "TagKeys.member.1", "a"}, CodeTargetGroupNotFound, nil},
		{"not an ELBv2 ARN", []string{"Action", "DescribeTags", "ResourceArns.member.1", "arn:aws:ecs:us-east-1:0:cluster/x"}, CodeValidation, []string{"ResourceArns"}},
		{"tags on create checked", []string{"Action", "CreateLoadBalancer", "Name", "x", "Type", "network", "Tags.member.1.Value", "v"}, CodeValidation, []string{"Tags[0].Key"}},
		{"unknown attribute", []string{"Action", "ModifyLoadBalancerAttributes", "LoadBalancerArn", lb, "Attributes.member.1.Key", "access_logs.s3.enabled", "Attributes.member.1.Value", "true"},
			CodeValidation, []string{"Attributes[0].Key", "access_logs.s3.enabled", attrDeletionProtection}},
		{"a load balancer attribute twice", []string{"Action", "ModifyLoadBalancerAttributes", "LoadBalancerArn", lb, "Attributes.member.1.Key", attrDeletionProtection, "Attributes.member.1.Value", "true",
			"Attributes.member.2.Key", attrCrossZone, "Attributes.member.2.Value", "true", "Attributes.member.3.Key", attrDeletionProtection, "Attributes.member.3.Value", "false"},
			CodeValidation, []string{"Attributes[2].Key: attribute \"" + attrDeletionProtection + "\" is also given as Attributes[0]; give each key once"}},
		{"a target group attribute twice", []string{"Action", "ModifyTargetGroupAttributes", "TargetGroupArn", tg, "Attributes.member.1.Key", attrDeregistrationDelay, "Attributes.member.1.Value", "0",
			"Attributes.member.2.Key", attrDeregistrationDelay, "Attributes.member.2.Value", "30"},
			CodeValidation, []string{"Attributes[1].Key: attribute \"" + attrDeregistrationDelay + "\" is also given as Attributes[0]"}},
		{"attribute not a bool", []string{"Action", "ModifyLoadBalancerAttributes", "LoadBalancerArn", lb, "Attributes.member.1.Key", attrDeletionProtection, "Attributes.member.1.Value", "yes"},
			CodeValidation, []string{"Attributes[0].Value", "true or false"}},
		{"attributes of no load balancer", []string{"Action", "DescribeLoadBalancerAttributes", "LoadBalancerArn", lb + "0"}, CodeLoadBalancerNotFound, nil},
	} {
		_, err := serve(a, tc.members...)
		t.Run(tc.name, func(t *testing.T) { wantError(t, err, tc.code, tc.parts...) })
	}
	many[len(many)-2], many[len(many)-1] = "Tags.member.50.Key", "env" // 49 new keys and one it has: 50
	ok(t, a, many...)

	attrs := func(members ...string) map[string]string {
		out := map[string]string{}
		for _, at := range ok(t, a, members...).(attributesResult).Attributes {
			out[at.Key] = at.Value
		}
		return out
	}
	if diff := cmp.Diff(map[string]string{attrDeletionProtection: "false", attrCrossZone: "false"},
		attrs("Action", "DescribeLoadBalancerAttributes", "LoadBalancerArn", lb)); diff != "" {
		t.Errorf("default attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{attrDeletionProtection: "true", attrCrossZone: "true"}, attrs("Action", "ModifyLoadBalancerAttributes", "LoadBalancerArn", lb,
		"Attributes.member.1.Key", attrDeletionProtection, "Attributes.member.1.Value", "true", "Attributes.member.2.Key", attrCrossZone, "Attributes.member.2.Value", "true")); diff != "" {
		t.Errorf("modified attributes (-want +got):\n%s", diff)
	}
	_, err := serve(a, "Action", "DeleteLoadBalancer", "LoadBalancerArn", lb)
	wantError(t, err, CodeOperationNotPermitted, "deletion protection", attrDeletionProtection)
	ok(t, a, "Action", "ModifyLoadBalancerAttributes", "LoadBalancerArn", lb, "Attributes.member.1.Key", attrDeletionProtection, "Attributes.member.1.Value", "false")
	ok(t, a, "Action", "DeleteLoadBalancer", "LoadBalancerArn", lb)
	ok(t, a, "Action", "DeleteTargetGroup", "TargetGroupArn", tg)
	err = st.View(func(tx *store.Tx) error {
		for _, arn := range []string{lb, tg} {
			if tags, err := tx.ELBTags(arn); err != nil || len(tags) > 0 {
				return fmt.Errorf("tags of deleted %s: %v, %w", arn, tags, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}
