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

var _ = ecsapi.OpCreateService
