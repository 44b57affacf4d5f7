// Package agenttest builds the nodeless-agent for tests that run the local data plane's real
// containers: its logging binary and the image of its init container.
package agenttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/agentimage"
)

// Build compiles cmd/nodeless-agent as make build does (static, -trimpath) into a temporary
// directory of t and returns its path. The Go build cache makes repeated builds cheap.
func Build(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), agentimage.BinaryName)
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "github.com/nodeless-dev/nodeless/cmd/nodeless-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building nodeless-agent: %v\n%s", err, b)
	}
	return out
}
