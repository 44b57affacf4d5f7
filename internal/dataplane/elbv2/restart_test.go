package elbv2

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// running is a Balancer and its API over st, run until stop.
func running(t *testing.T, st *store.Store) (*API, func()) {
	t.Helper()
	var d net.Dialer
	b := NewBalancer(Options{Store: st, Dial: d.DialContext, Logger: testr.New(t)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	<-b.Ready()
	return NewAPI(st, model.ARNs{Region: "us-east-1", Account: "000000000000"}, b), func() { cancel(); <-done }
}

func call(t *testing.T, a *API, form string) any {
	t.Helper()
	v, err := url.ParseQuery(form + "&Version=" + APIVersion)
	if err != nil {
		t.Fatal(err)
	}
	_, out, err := a.Serve(v)
	if err != nil {
		t.Fatalf("%s: %v", form, err)
	}
	return out
}

func health(t *testing.T, a *API, tg string) []string {
	t.Helper()
	out := call(t, a, "Action=DescribeTargetHealth&TargetGroupArn="+url.QueryEscape(tg)).(targetHealthResult)
	var got []string
	for _, d := range out.TargetHealthDescriptions {
		got = append(got, fmt.Sprintf("%s:%d=%s", d.Target.ID, d.Target.Port, d.TargetHealth.State))
	}
	return got
}

// TestRestart: after the balancer stops (as the process would) and a new one starts on the same
// store, the listener listens again, and targets — one draining, with its deadline — are as they
// were; nothing is duplicated.
func TestRestart(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, stop := running(t, st)
	port := freePort(t)
	lb := call(t, a, "Action=CreateLoadBalancer&Name=web&Type=network").(loadBalancersResult).LoadBalancers[0].LoadBalancerArn
	tg := call(t, a, "Action=CreateTargetGroup&Name=web&Protocol=TCP&Port=80&VpcId=v&TargetType=ip").(targetGroupsResult).TargetGroups[0].TargetGroupArn
	call(t, a, fmt.Sprintf("Action=CreateListener&LoadBalancerArn=%s&Protocol=TCP&Port=%d&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn=%s",
		url.QueryEscape(lb), port, url.QueryEscape(tg)))
	call(t, a, "Action=RegisterTargets&TargetGroupArn="+url.QueryEscape(tg)+"&Targets.member.1.Id=127.0.0.2&Targets.member.2.Id=127.0.0.3")
	call(t, a, "Action=DeregisterTargets&TargetGroupArn="+url.QueryEscape(tg)+"&Targets.member.1.Id=127.0.0.3")
	before := health(t, a, tg)
	stop()
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		_ = c.Close()
		t.Fatal("the listener still listens after the balancer stopped")
	}
	a, stop = running(t, st)
	defer stop()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("the listener does not listen again after a restart: %v", err)
	}
	_ = c.Close()
	after := health(t, a, tg)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("targets across a restart (-before +after):\n%s", diff)
	}
	if len(after) != 2 || after[1] != "127.0.0.3:80=draining" {
		t.Errorf("targets %v, want two, 127.0.0.3 draining", after)
	}
	ls := call(t, a, "Action=DescribeListeners&LoadBalancerArn="+url.QueryEscape(lb)).(listenersResult)
	if len(ls.Listeners) != 1 {
		t.Errorf("%d listeners after a restart, want 1", len(ls.Listeners))
	}
}
