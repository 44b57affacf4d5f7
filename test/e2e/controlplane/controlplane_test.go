// Package controlplane_test checks `nodeless up` end to end: the built binary in a temp state
// dir, driven with the real kubectl.
package controlplane_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// maxStop is how long `nodeless up` may take to exit after SIGTERM.
const maxStop = 10 * time.Second

func TestUpWithKubectl(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodeless up")
	}
	env := testenv.Start(t, testenv.WithBinary())
	k := newKubectl(t, env)

	out := k.run(t, "get", "ns")
	for _, ns := range []string{"default", "kube-system", "kube-public"} {
		if !strings.Contains(out, ns) {
			t.Errorf("kubectl get ns: %s missing in\n%s", ns, out)
		}
	}

	k.apply(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: survivor, namespace: default}
data: {answer: "42"}
`)
	if got := k.run(t, "get", "cm", "survivor", "-n", "default", "-o", "jsonpath={.data.answer}"); got != "42" {
		t.Fatalf("configmap survivor: answer = %q, want 42", got)
	}

	t.Run("namespace deletion finishes", func(t *testing.T) { testNamespaceDeletion(t, k) })
	t.Run("owner references are garbage collected", func(t *testing.T) { testGarbageCollection(t, k, env.Namespace) })
	t.Run("non-admin identities are refused", func(t *testing.T) { testNonAdminRefused(t, k, env) })

	took := env.Stop(t)
	t.Logf("nodeless up stopped in %s", took)
	if took > maxStop {
		t.Errorf("nodeless up took %s to stop after SIGTERM, want <= %s", took, maxStop)
	}
	env.Restart(t)
	if got := k.run(t, "get", "cm", "survivor", "-n", "default", "-o", "jsonpath={.data.answer}"); got != "42" {
		t.Errorf("after restart, configmap survivor: answer = %q, want 42", got)
	}
}

func testNamespaceDeletion(t *testing.T, k *kubectl) {
	k.run(t, "create", "namespace", "doomed")
	k.run(t, "-n", "doomed", "create", "configmap", "a", "--from-literal=k=v")
	k.run(t, "-n", "doomed", "create", "secret", "generic", "b", "--from-literal=k=v")
	k.run(t, "-n", "doomed", "create", "serviceaccount", "c")
	k.run(t, "delete", "namespace", "doomed", "--wait=true", "--timeout=60s")
	if out, err := k.try("get", "namespace", "doomed"); err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("namespace doomed still there after delete --wait: err=%v\n%s", err, out)
	}
}

func testGarbageCollection(t *testing.T, k *kubectl, ns string) {
	k.run(t, "-n", ns, "create", "configmap", "parent")
	uid := k.run(t, "-n", ns, "get", "configmap", "parent", "-o", "jsonpath={.metadata.uid}")
	k.apply(t, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: child
  namespace: %s
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: parent, uid: %s}
`, ns, uid))
	k.run(t, "-n", ns, "delete", "configmap", "parent")
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := k.try("-n", ns, "get", "configmap", "child")
		if err != nil && strings.Contains(out, "NotFound") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child still there 60s after its owner was deleted:\n%s", out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func testNonAdminRefused(t *testing.T, k *kubectl, env *testenv.Env) {
	token := k.run(t, "-n", env.Namespace, "create", "token", "default")
	// A kubeconfig-less kubectl, so that the admin client certificate is not sent along.
	empty := filepath.Join(t.TempDir(), "empty-kubeconfig")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--kubeconfig", empty, "--server", env.Config.Host,
		"--certificate-authority", filepath.Join(env.StateDir, "pki", "ca.crt")}

	out, err := k.try(append(base, "--token", token, "-n", "kube-system", "get", "secrets")...)
	if err == nil || !strings.Contains(out, "Forbidden") {
		t.Errorf("service account token listing kube-system secrets: want Forbidden, got err=%v\n%s", err, out)
	}

	// Anonymous: kubectl would prompt for a password on 401, so ask over plain HTTPS.
	anon := rest.AnonymousClientConfig(env.Config)
	client, err := rest.HTTPClientFor(anon)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(env.Config.Host + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous GET /api/v1/namespaces: status %d, want 401", resp.StatusCode)
	}
}

// TestServerVersionIsARelease checks that /version names the Kubernetes release the binary is
// built from (the k8s.io/kubernetes module), which Helm's kubeVersion constraints and kubectl's
// version skew check need. The version is stamped at link time (hack/kube-version-ldflags.sh); a
// binary built without those flags reports v0.0.0-master+$Format:%H$.
func TestServerVersionIsARelease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodeless up")
	}
	env := testenv.Start(t, testenv.WithBinary())
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	want := kubernetesModuleVersion(t)
	if v.GitVersion != want || v.Major != "1" {
		t.Errorf("server version %q (major %q), want %s: build with -ldflags \"$(hack/kube-version-ldflags.sh)\" (in the Makefile's LDFLAGS)",
			v.GitVersion, v.Major, want)
	}
}

// kubernetesModuleVersion is the version of k8s.io/kubernetes in this tree's go.mod, the release
// that the nodeless binary under test embeds (e.g. v1.37.2). It asks the go command: a test
// binary's build info lists no dependencies.
func kubernetesModuleVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes").Output()
	if err != nil {
		t.Fatalf("go list -m k8s.io/kubernetes: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// kubectl runs the real kubectl (/usr/bin/kubectl) or, without it, `nodeless kubectl`, against
// the env's kubeconfig.
type kubectl struct {
	argv       []string
	kubeconfig string
}

func newKubectl(t *testing.T, env *testenv.Env) *kubectl {
	t.Helper()
	if _, err := os.Stat("/usr/bin/kubectl"); err == nil {
		return &kubectl{argv: []string{"/usr/bin/kubectl"}, kubeconfig: env.Kubeconfig}
	}
	bin, err := testenv.Binary()
	if err != nil {
		t.Fatal(err)
	}
	t.Log("no /usr/bin/kubectl: using nodeless kubectl")
	return &kubectl{argv: []string{bin, "kubectl"}, kubeconfig: env.Kubeconfig}
}

// try runs kubectl and returns its output (stdout then stderr), trimmed.
func (k *kubectl) try(args ...string) (string, error) {
	stdout, stderr, err := k.exec("", args...)
	return strings.TrimSpace(stdout + "\n" + stderr), err
}

func (k *kubectl) exec(stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(k.argv[0], append(k.argv[1:], args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// run runs kubectl, fails the test when it fails, and returns its stdout, trimmed.
func (k *kubectl) run(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := k.exec("", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return strings.TrimSpace(stdout)
}

func (k *kubectl) apply(t *testing.T, manifest string) {
	t.Helper()
	if stdout, stderr, err := k.exec(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s%s\n%s", err, stdout, stderr, manifest)
	}
}

// TestRestartAfterKill checks that objects survive a crash (SIGKILL) of nodeless up: etcd's data
// is consistent on disk and the state dir's lock dies with the process.
func TestRestartAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodeless up")
	}
	env := testenv.Start(t, testenv.WithBinary())
	k := newKubectl(t, env)
	k.run(t, "-n", env.Namespace, "create", "configmap", "crash-survivor", "--from-literal=k=v")
	env.Kill(t)
	env.Restart(t)
	if got := k.run(t, "-n", env.Namespace, "get", "configmap", "crash-survivor", "-o", "jsonpath={.data.k}"); got != "v" {
		t.Errorf("after kill -9 and restart: configmap data k = %q, want v", got)
	}
}
