// Package controller_test runs `nodeless controller` as a user of an existing cluster does: the
// built binary against a `nodeless up --control-plane-only` API server that has never seen
// nodeless (no CRDs), and an ECS endpoint (the in-memory ECS of package ecsmem: the local data
// plane's own API server and scheduler over a fake container runtime, so no root is needed).
package controller_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// waitTimeout bounds every wait; generous, nothing here is a timing assertion.
const waitTimeout = 3 * time.Minute

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestControllerOnAClusterWithoutCRDs is the new user's first run: `nodeless controller` against
// a cluster without the ecs.nodeless.dev CRDs installs them, waits until they are served, and
// reconciles examples/ecs/web.yaml to Ready.
func TestControllerOnAClusterWithoutCRDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodeless up --control-plane-only and nodeless controller")
	}
	env := testenv.Start(t, testenv.WithBinary())
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.ServerResourcesForGroupVersion("ecs.nodeless.dev/v1alpha1"); !apierrors.IsNotFound(err) {
		t.Fatalf("before nodeless controller, discovery of ecs.nodeless.dev/v1alpha1: %v, want NotFound (the cluster must start without the CRDs)", err)
	}
	e := ecsmem.Start(t, ecsmem.Options{})
	p := startController(t, env, e, "controller", "--virtual-node=false")
	eventually(t, "nodeless controller ready (/readyz)", func() (bool, string) {
		if done, err := p.exited(); done {
			t.Fatalf("nodeless controller exited: %v\n%s", err, p.out)
		}
		return p.ready(), p.out.String()
	})
	k := kubectl{t: t, env: env}
	k.apply(exampleManifest(t))
	k.waitService("the example Service Ready with 2 running tasks", func(s serviceStatus) bool {
		return s.ready == "True" && s.running == "2"
	})
}

// kubectl runs `nodeless kubectl` against the env's API server.
type kubectl struct {
	t   *testing.T
	env *testenv.Env
}

func (k kubectl) run(stdin string, args ...string) (string, error) {
	bin, err := testenv.Binary()
	if err != nil {
		k.t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"kubectl", "--kubeconfig", k.env.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (k kubectl) must(args ...string) string {
	k.t.Helper()
	out, err := k.run("", args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (k kubectl) apply(manifest string) {
	k.t.Helper()
	if out, err := k.run(manifest, "apply", "-f", "-"); err != nil {
		k.t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

type serviceStatus struct{ ready, revision, running string }

func (k kubectl) serviceStatus() (serviceStatus, error) {
	out, err := k.run("", "get", "services.ecs.nodeless.dev", "web", "-o",
		`jsonpath={.status.conditions[?(@.type=="Ready")].status}|{.status.revision}|{.status.runningCount}`)
	if err != nil {
		return serviceStatus{}, fmt.Errorf("%w: %s", err, out)
	}
	f := strings.Split(out, "|")
	if len(f) != 3 {
		return serviceStatus{}, fmt.Errorf("unexpected status %q", out)
	}
	return serviceStatus{ready: f[0], revision: f[1], running: f[2]}, nil
}

func (k kubectl) waitService(what string, ok func(serviceStatus) bool) {
	k.t.Helper()
	eventually(k.t, what, func() (bool, string) {
		s, err := k.serviceStatus()
		return err == nil && ok(s), fmt.Sprintf("%+v (error %v)", s, err)
	})
}

// exampleManifest is examples/ecs/web.yaml as the README shows it (the fake runtime runs any image).
func exampleManifest(t *testing.T) string {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "ecs", "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// ecsState is what ECS holds of the example: its services and the revisions of its family.
type ecsState struct {
	services  []string
	revisions []string
}

func readECS(t *testing.T, e *ecsmem.ECS) ecsState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svcs, err := e.Client.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("dev")})
	if err != nil {
		t.Fatalf("listing services: %v", err)
	}
	tds, err := e.Client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})
	if err != nil {
		t.Fatalf("listing task definitions: %v", err)
	}
	return ecsState{services: svcs.ServiceArns, revisions: tds.TaskDefinitionArns}
}

// leaseHolder is the holder of the leader election Lease ("" when released or missing).
func leaseHolder(t *testing.T, env *testenv.Env, ns, id string) string {
	t.Helper()
	c, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := c.CoordinationV1().Leases(ns).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return aws.ToString(l.Spec.HolderIdentity)
}

// TestTwoReplicasElectOneLeader runs two `nodeless controller` replicas with leader election and
// the virtual node: one leads (it reconciles and registers the node with its kubelet API), the
// other waits, ready; killing the leader (SIGKILL) hands over after the Lease expires, stopping one
// (SIGTERM) hands over at once (the Lease is released); ECS ends up with one service and one
// revision per change, whoever led.
func TestTwoReplicasElectOneLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodeless up --control-plane-only and three nodeless controller processes")
	}
	env := testenv.Start(t, testenv.WithBinary())
	e := ecsmem.Start(t, ecsmem.Options{})
	const id = "nodeless-controller"
	args := []string{"--leader-elect", "--leader-election-namespace", env.Namespace, "--leader-election-id", id,
		"--leader-election-lease-duration", "6s", "--leader-election-renew-deadline", "4s", "--leader-election-retry-period", "1s",
		"--graceful-shutdown-timeout", "10s"}
	procs := []*controllerProc{startController(t, env, e, "a", args...), startController(t, env, e, "b", args...)}
	k := kubectl{t: t, env: env}

	first := waitLeader(t, procs, id)
	eventually(t, "both replicas ready (/readyz), the follower too", func() (bool, string) {
		return procs[0].ready() && procs[1].ready(), "a or b not ready"
	})
	k.apply(exampleManifest(t))
	k.waitService("the example Service Ready under the first leader", func(s serviceStatus) bool {
		return s.ready == "True" && s.running == "2" && s.revision == "1"
	})
	waitNode(t, env, first)

	t.Logf("killing the leader %s (SIGKILL)", first.name)
	first.kill()
	second := waitLeader(t, without(procs, first), id)
	k.must("patch", "taskdefinition", "web", "--type=json",
		"-p", `[{"op":"add","path":"/spec/containerDefinitions/0/environment","value":[{"name":"GREETING","value":"bonjour"}]}]`)
	k.waitService("revision 2 rolled out by the second leader", func(s serviceStatus) bool {
		return s.ready == "True" && s.running == "2" && s.revision == "2"
	})
	waitNode(t, env, second)

	third := startController(t, env, e, "c", args...)
	eventually(t, "the new replica ready", func() (bool, string) { return third.ready(), third.out.String() })
	held := leaseHolder(t, env, env.Namespace, id)
	took, err := second.stop(30 * time.Second)
	if err != nil {
		t.Errorf("stopping the leader %s: %v", second.name, err)
	}
	t.Logf("the leader %s stopped %s after SIGTERM", second.name, took)
	// Released on the way out (empty), or already taken by c: never still the stopped leader's.
	if holder := leaseHolder(t, env, env.Namespace, id); holder == held {
		t.Errorf("Lease still held by the stopped leader %s (%q): it must release it on SIGTERM", second.name, held)
	}
	waitLeader(t, []*controllerProc{third}, id)
	k.must("patch", "services.ecs.nodeless.dev", "web", "--type=merge", "-p", `{"spec":{"desiredCount":3}}`)
	k.waitService("desiredCount 3 under the third leader", func(s serviceStatus) bool {
		return s.ready == "True" && s.running == "3" && s.revision == "2"
	})
	waitNode(t, env, third)

	got := readECS(t, e)
	if len(got.services) != 1 || len(got.revisions) != 2 {
		t.Errorf("ECS holds services %v and revisions %v of the example, want 1 service and 2 revisions", got.services, got.revisions)
	}
	for op, want := range map[string]int{ecsapi.OpCreateService: 1, ecsapi.OpRegisterTaskDefinition: 2} {
		if n := e.Served(op); n != want {
			t.Errorf("ECS served %d %s, want %d (one per change, whoever led)", n, op, want)
		}
	}
}

// waitLeader waits until exactly one of procs leads and returns it.
func waitLeader(t *testing.T, procs []*controllerProc, id string) *controllerProc {
	t.Helper()
	var leader *controllerProc
	eventually(t, "exactly one leader", func() (bool, string) {
		var leaders []string
		leader = nil
		for _, p := range procs {
			if done, err := p.exited(); done {
				t.Fatalf("%s exited: %v\n%s", p.name, err, p.out)
			}
			ok, err := p.leads(id)
			if err != nil {
				return false, fmt.Sprintf("%s: %v", p.name, err)
			}
			if ok {
				leader = p
				leaders = append(leaders, p.name)
			}
		}
		return len(leaders) == 1, fmt.Sprintf("leaders %v", leaders)
	})
	t.Logf("%s leads", leader.name)
	return leader
}

// waitNode waits until the virtual node is Ready with its kubelet endpoint on the leader's port.
func waitNode(t *testing.T, env *testenv.Env, leader *controllerProc) {
	t.Helper()
	c, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the virtual node Ready, registered by "+leader.name, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := c.CoreV1().Nodes().Get(ctx, "nodeless", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		port := fmt.Sprint(n.Status.DaemonEndpoints.KubeletEndpoint.Port)
		ready := ""
		for _, cond := range n.Status.Conditions {
			if cond.Type == "Ready" {
				ready = string(cond.Status)
			}
		}
		return ready == "True" && port == leader.kubelet, fmt.Sprintf("Ready %q, kubelet port %s (want %s)", ready, port, leader.kubelet)
	})
}

func without(procs []*controllerProc, p *controllerProc) []*controllerProc {
	var out []*controllerProc
	for _, q := range procs {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}
