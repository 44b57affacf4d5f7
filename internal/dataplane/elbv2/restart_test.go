package elbv2

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
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

// lbState is the State DescribeLoadBalancers answers for load balancer arn.
func lbState(t *testing.T, a *API, arn string) xmlLBState {
	t.Helper()
	out := call(t, a, "Action=DescribeLoadBalancers&LoadBalancerArns.member.1="+url.QueryEscape(arn)).(loadBalancersResult)
	if len(out.LoadBalancers) != 1 {
		t.Fatalf("DescribeLoadBalancers answered %d load balancers, want 1", len(out.LoadBalancers))
	}
	return out.LoadBalancers[0].State
}

// TestRestartWithAPortTaken: a listener whose port another process took while the data plane
// was down cannot listen after the restart; DescribeLoadBalancers says so (active_impaired, the
// reason naming the port and the bind error) instead of active, and the load balancer is active
// again once the port is free (the balancer's next sync) or once ModifyListener moves the
// listener to a free port.
func TestRestartWithAPortTaken(t *testing.T) {
	for _, way := range []string{"port freed", "ModifyListener"} {
		t.Run(way, func(t *testing.T) {
			st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			a, stop := running(t, st)
			port := freePort(t)
			lb, _, ls := stack(t, a, "web", port)
			if got := lbState(t, a, lb); got != (xmlLBState{Code: lbStateActive}) {
				t.Fatalf("state before the restart %+v, want active", got)
			}
			stop()
			taken, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()

			a, stop = running(t, st)
			defer stop()
			got := lbState(t, a, lb)
			if got.Code != lbStateImpaired {
				t.Errorf("state with the listener's port taken: %+v, want %s", got, lbStateImpaired)
			}
			for _, part := range []string{fmt.Sprintf("port %d", port), "address already in use", "ModifyListener"} {
				if !strings.Contains(got.Reason, part) {
					t.Errorf("reason %q does not say %q", got.Reason, part)
				}
			}

			if way == "port freed" {
				_ = taken.Close()
				a.balancer.Sync() // what the balancer does every resyncPeriod
			} else {
				call(t, a, fmt.Sprintf("Action=ModifyListener&ListenerArn=%s&Port=%d", url.QueryEscape(ls), freePort(t)))
			}
			if got := lbState(t, a, lb); got != (xmlLBState{Code: lbStateActive}) {
				t.Errorf("state after %s: %+v, want active with no reason", way, got)
			}
		})
	}
}
