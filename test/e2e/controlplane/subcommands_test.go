package controlplane_test

import (
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

func withoutKubeconfig(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "KUBECONFIG=") {
			out = append(out, kv)
		}
	}
	return out
}
