package controlplane_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// TestKubectlAndKubeconfigSubcommands checks `nodeless kubectl` (the embedded kubectl, pointed at
// the state dir's kubeconfig by $NODELESS_STATE_DIR) and `nodeless kubeconfig`.
func TestKubectlAndKubeconfigSubcommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodeless up")
	}
	env := testenv.Start(t, testenv.WithBinary())
	bin, err := testenv.Binary()
	if err != nil {
		t.Fatal(err)
	}
	nodeless := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(withoutKubeconfig(os.Environ()), "NODELESS_STATE_DIR="+env.StateDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("nodeless %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	if out := nodeless("kubectl", "get", "ns", "kube-system", "-o", "name"); strings.TrimSpace(out) != "namespace/kube-system" {
		t.Errorf("nodeless kubectl get ns kube-system: %q", out)
	}
	if out := nodeless("kubectl", "auth", "whoami", "-o", "jsonpath={.status.userInfo.groups}"); !strings.Contains(out, "system:masters") {
		t.Errorf("nodeless kubectl auth whoami: %q, want the admin (system:masters)", out)
	}
	kubeconfig, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if out := nodeless("kubeconfig"); out != string(kubeconfig) {
		t.Errorf("nodeless kubeconfig printed something else than %s", env.Kubeconfig)
	}
	if out := nodeless("kubeconfig", "--path"); strings.TrimSpace(out) != env.Kubeconfig {
		t.Errorf("nodeless kubeconfig --path = %q, want %s", out, env.Kubeconfig)
	}
}

// TestVersionsNameTheEmbeddedRelease checks that `nodeless version` and `nodeless kubectl version
// --client` name the Kubernetes release of the k8s.io/kubernetes module, i.e. that the binary is
// stamped (hack/kube-version-ldflags.sh). Neither needs a running control plane.
func TestVersionsNameTheEmbeddedRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the built binary")
	}
	bin, err := testenv.Binary()
	if err != nil {
		t.Fatal(err)
	}
	want := kubernetesModuleVersion(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("nodeless version: %v\n%s", err, out)
	}
	if line := "\n  kubernetes " + want + "\n"; !strings.Contains(string(out), line) {
		t.Errorf("nodeless version lacks the line %q:\n%s", strings.TrimSpace(line), out)
	}
	out, err = exec.Command(bin, "kubectl", "version", "--client", "-o", "json").Output()
	if err != nil {
		t.Fatalf("nodeless kubectl version --client: %v\n%s", err, out)
	}
	var client struct {
		ClientVersion struct{ GitVersion string } `json:"clientVersion"`
	}
	if err := json.Unmarshal(out, &client); err != nil {
		t.Fatalf("nodeless kubectl version --client -o json: %v\n%s", err, out)
	}
	if client.ClientVersion.GitVersion != want {
		t.Errorf("nodeless kubectl version --client: gitVersion %q, want %s", client.ClientVersion.GitVersion, want)
	}
}

func withoutKubeconfig(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "KUBECONFIG=") {
			out = append(out, kv)
		}
	}
	return out
}
