package controller_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// chart is the repository's chart.
var chart = filepath.Join("..", "..", "..", "charts", "nodeless")

// helm runs bin with its own home directories and returns stdout.
func helm(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), stderr.String())
	}
	return out.String(), nil
}

// TestChartRenders: `helm lint` passes and `helm template` renders what the chart promises, with
// Helm 3 and Helm 4.
func TestChartRenders(t *testing.T) {
	for _, h := range []struct{ env, name string }{{"HELM3_BIN", "helm3"}, {"HELM4_BIN", "helm4"}} {
		t.Run(h.name, func(t *testing.T) {
			bin := testenv.Helm(t, h.env, h.name)
			if out, err := helm(t, bin, "lint", "--strict", chart); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			out, err := helm(t, bin, "template", "nl", chart, "--namespace", "nodeless-system",
				"--set", "aws.region=eu-west-1", "--set", "pods.subnets={subnet-1,subnet-2}",
				"--set", `serviceAccount.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::111122223333:role/nodeless`)
			if err != nil {
				t.Fatal(err)
			}
			checkRendered(t, out)
		})
	}
}

// rendered is the objects of a `helm template`, by kind.
type rendered struct {
	deployment     appsv1.Deployment
	serviceAccount corev1.ServiceAccount
	clusterRole    rbacv1.ClusterRole
	roles          map[string]rbacv1.Role // by namespace
	kinds          []string
}

func parseRendered(t *testing.T, manifest string) rendered {
	t.Helper()
	r := rendered{roles: map[string]rbacv1.Role{}}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var raw map[string]any
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding the rendered chart: %v", err)
		}
		if raw == nil {
			continue
		}
		kind, _ := raw["kind"].(string)
		r.kinds = append(r.kinds, kind)
		switch kind {
		case "Deployment":
			convert(t, raw, &r.deployment)
		case "ServiceAccount":
			convert(t, raw, &r.serviceAccount)
		case "ClusterRole":
			convert(t, raw, &r.clusterRole)
		case "Role":
			var role rbacv1.Role
			convert(t, raw, &role)
			r.roles[role.Namespace] = role
		}
	}
	return r
}

func checkRendered(t *testing.T, manifest string) {
	r := parseRendered(t, manifest)
	slices.Sort(r.kinds)
	want := []string{"ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget", "Role", "Role", "RoleBinding", "RoleBinding", "ServiceAccount"}
	if !slices.Equal(r.kinds, want) {
		t.Errorf("kinds %v, want %v", r.kinds, want)
	}
	d := r.deployment
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("containers %d, want 1", len(d.Spec.Template.Spec.Containers))
	}
	checkContainer(t, d.Spec.Template.Spec.Containers[0], d.Spec.Template.Spec.SecurityContext)
	if got := r.serviceAccount.Annotations["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::111122223333:role/nodeless" {
		t.Errorf("service account annotation eks.amazonaws.com/role-arn %q (IRSA)", got)
	}
	if d.Spec.Template.Spec.ServiceAccountName != r.serviceAccount.Name {
		t.Errorf("the Deployment runs as %q, the chart makes %q", d.Spec.Template.Spec.ServiceAccountName, r.serviceAccount.Name)
	}
	for _, rule := range r.clusterRole.Rules {
		if slices.Contains(rule.Verbs, "*") || slices.Contains(rule.Resources, "*") || slices.Contains(rule.APIGroups, "*") {
			t.Errorf("ClusterRole rule %+v uses a wildcard", rule)
		}
	}
	for _, ns := range []string{"nodeless-system", "kube-node-lease"} {
		if _, ok := r.roles[ns]; !ok {
			t.Errorf("no Role in %s (leases)", ns)
		}
	}
}

// checkContainer checks the controller container's flags, probes and security context.
func checkContainer(t *testing.T, c corev1.Container, psc *corev1.PodSecurityContext) {
	t.Helper()
	for _, arg := range []string{"controller", "--leader-elect", "--leader-election-namespace=$(POD_NAMESPACE)", "--health-addr=:8081",
		"--metrics-addr=:8080", "--node-address=$(POD_IP)", "--pod-subnets=subnet-1,subnet-2", "--region=eu-west-1"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("container args %v lack %s", c.Args, arg)
		}
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "health" {
		t.Errorf("liveness probe %+v, want GET /healthz on the health port", p)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", p)
	}
	sc := c.SecurityContext
	if sc == nil || !ptrTrue(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %+v, want a read-only root, no privilege escalation, every capability dropped", sc)
	}
	if psc == nil || !ptrTrue(psc.RunAsNonRoot) || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v, want a non-root user", psc)
	}
}

func convert(t *testing.T, raw map[string]any, obj any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, obj); err != nil {
		t.Fatalf("decoding %v: %v", raw["kind"], err)
	}
}

func ptrTrue(b *bool) bool { return b != nil && *b }

// TestChartInstallsAndItsRBACIsEnough installs the chart onto `nodeless up --control-plane-only`
// (first --dry-run=server, then for real: the API server accepts every object), then runs
// `nodeless controller` as the chart's service account, with the chart's flags of leader
// election and the virtual node: it installs the CRDs, leads, registers the node and reconciles
// the example to Ready, and nothing it asks for is forbidden.
func TestChartInstallsAndItsRBACIsEnough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodeless up --control-plane-only")
	}
	bin := testenv.Helm(t, "HELM3_BIN", "helm3")
	env := testenv.Start(t, testenv.WithBinary())
	const ns, release = "nodeless-system", "nl"
	install := []string{"install", release, chart, "--kubeconfig", env.Kubeconfig, "--namespace", ns, "--create-namespace",
		"--set", "aws.ecsEndpoint=http://127.0.0.1:1", "--set", "aws.region=us-east-1"}
	if out, err := helm(t, bin, append(install, "--dry-run=server")...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := helm(t, bin, install...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := kube.AppsV1().Deployments(ns).Get(ctx, release+"-nodeless", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's Deployment: %v", err)
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("Deployment replicas %d, want 2", *d.Spec.Replicas)
	}

	kubeconfig := serviceAccountKubeconfig(ctx, t, env, kube, ns, release+"-nodeless")
	e := ecsmem.Start(t, ecsmem.Options{})
	asSA := &testenv.Env{Kubeconfig: kubeconfig, Config: env.Config}
	p := startController(t, asSA, e, "as-chart-sa", "--leader-elect", "--leader-election-namespace", ns,
		"--leader-election-id", "nodeless-controller", "--node-name", "nodeless")
	waitLeader(t, []*controllerProc{p}, "nodeless-controller")
	k := kubectl{t: t, env: env}
	k.apply(exampleManifest(t))
	k.waitService("the example Service Ready under the chart's service account", func(s serviceStatus) bool {
		return s.ready == "True" && s.running == "2"
	})
	waitNode(t, env, p)
	if out := p.out.String(); strings.Contains(strings.ToLower(out), "forbidden") {
		t.Errorf("the controller was refused something under the chart's RBAC:\n%s", out)
	}
	checkCan(ctx, t, kubeconfig, ns)
}

// checkCan asks the API server (SelfSubjectAccessReview, as the service account) for what the
// controller does only at times this test does not reach: a node status update, the kubelet
// API's reviews, a Pod's start (its token, its status, its deletion), events.
func checkCan(ctx context.Context, t *testing.T, kubeconfig, ns string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []authorizationv1.ResourceAttributes{
		{Verb: "patch", Resource: "nodes", Subresource: "status", Name: "nodeless"},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "nodeless"},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: ns, Name: "nodeless-controller"},
		{Verb: "create", Group: "authentication.k8s.io", Resource: "tokenreviews"},
		{Verb: "create", Group: "authorization.k8s.io", Resource: "subjectaccessreviews"},
		{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: "shop", Name: "default"},
		{Verb: "patch", Resource: "pods", Subresource: "status", Namespace: "shop"},
		{Verb: "delete", Resource: "pods", Namespace: "shop"},
		{Verb: "watch", Resource: "secrets", Namespace: "shop"},
		{Verb: "get", Resource: "configmaps", Namespace: "kube-system", Name: "extension-apiserver-authentication"},
		{Verb: "create", Resource: "events", Namespace: "shop"},
		{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicies", Name: "nodeless-opt-in-nodeless"},
		{Verb: "update", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions", Name: "services.ecs.nodeless.dev"},
	} {
		r, err := sa.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Status.Allowed {
			t.Errorf("the chart's service account may not %s %s/%s %s/%s", a.Verb, a.Resource, a.Subresource, a.Namespace, a.Name)
		}
	}
	// Least privilege: nothing beyond the virtual node's own objects.
	for _, a := range []authorizationv1.ResourceAttributes{
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "some-real-node"},
		{Verb: "update", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions", Name: "certificates.cert-manager.io"},
		{Verb: "create", Resource: "pods", Namespace: "shop"},
		{Verb: "update", Resource: "secrets", Namespace: "shop"},
	} {
		r, err := sa.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed {
			t.Errorf("the chart's service account may %s %s %s/%s: more than it needs", a.Verb, a.Resource, a.Namespace, a.Name)
		}
	}
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the service account with a
// token of it (TokenRequest).
func serviceAccountKubeconfig(ctx context.Context, t *testing.T, env *testenv.Env, kube kubernetes.Interface, ns, sa string) string {
	t.Helper()
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token of %s/%s: %v", ns, sa, err)
	}
	admin, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = cluster
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
