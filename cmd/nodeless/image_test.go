package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// TestImageLoadStartsContainerdWhenNoneRuns: with no data plane running, `image load` starts the
// state dir's containerd for the import and stops it afterwards; a second load finds the image
// store intact.
func TestImageLoadStartsContainerdWhenNoneRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs containerd")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd")
	}
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Skipf("needs containerd: %v", err)
	}
	stateDir := t.TempDir()
	tarball := testimage.Tarball(t, "")
	for i := 0; i < 2; i++ {
		names, err := loadImage(context.Background(), stateDir, tarball)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != 1 || names[0] != testimage.DefaultRef {
			t.Fatalf("names = %v", names)
		}
		if _, err := os.Stat(filepath.Join(runtime.ContainerdDir(stateDir), "containerd.pid")); !os.IsNotExist(err) {
			t.Fatalf("containerd still recorded as running after the load: %v", err)
		}
	}
}
