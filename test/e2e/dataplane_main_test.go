package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
)

// nodelessBin is the nodeless binary the restart tests run as a separate process (so that they can
// kill -9 it): $NODELESS_BIN (the Makefile sets it to bin/nodeless), or built once here.
var (
	nodelessBin    string
	nodelessBinErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	cleanup := func() {}
	nodelessBin = os.Getenv("NODELESS_BIN")
	if nodelessBin == "" && !testing.Short() && dataplanetest.Requirements() == nil {
		nodelessBin, cleanup, nodelessBinErr = buildNodeless()
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// buildNodeless builds cmd/nodeless into a temporary directory.
func buildNodeless() (string, func(), error) {
	dir, err := os.MkdirTemp("", "nodeless-e2e-bin-")
	if err != nil {
		return "", func() {}, fmt.Errorf("creating a directory for the nodeless binary: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	bin := filepath.Join(dir, "nodeless")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/nodeless")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", cleanup, fmt.Errorf("building nodeless (set NODELESS_BIN to skip): %w\n%s", err, out)
	}
	return bin, cleanup, nil
}

// requireBinary skips or fails unless the nodeless binary is available.
func requireBinary(t *testing.T) string {
	t.Helper()
	requireFull(t)
	if err := dataplanetest.Requirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	if nodelessBinErr != nil {
		t.Fatalf("no nodeless binary: %v", nodelessBinErr)
	}
	if nodelessBin == "" {
		t.Fatal("no nodeless binary: NODELESS_BIN is unset and none was built")
	}
	return nodelessBin
}
