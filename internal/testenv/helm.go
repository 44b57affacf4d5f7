package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Helm returns the Helm binary the Makefile built (`make helm`): $envVar (HELM3_BIN, HELM4_BIN)
// when set, else .cache/bin/name in the repository. It skips t when neither exists and fails it
// when $envVar names a missing file.
func Helm(t testing.TB, envVar, name string) string {
	t.Helper()
	if bin := os.Getenv(envVar); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s=%s: %v (run `make helm`)", envVar, bin, err)
		}
		return bin
	}
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("finding the module root: %v", err)
	}
	bin := filepath.Join(strings.TrimSpace(string(root)), ".cache", "bin", name)
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s is not built: run `make helm` (make test does), or set %s", name, envVar)
	}
	return bin
}
