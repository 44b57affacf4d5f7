package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

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

// TestImageLoadSaysWhatIsWrong: an archive whose image config has no os/architecture is refused
// with a message naming the image and the missing fields, not containerd's "image might be
// filtered out", whether it comes from a file or from a pipe (stdin).
func TestImageLoadSaysWhatIsWrong(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs containerd")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd")
	}
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Skipf("needs containerd: %v", err)
	}
	img, err := mutate.AppendLayers(empty.Image)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "", ""
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "img.tar")
	if err := tarball.WriteToFile(path, name.MustParseReference("example.com/noplatform:1"), img); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	want := []string{"example.com/noplatform:1", "no os and no architecture"}
	check := func(how string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: loading an image without os/architecture succeeded", how)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nwant it to say %q", how, err, w)
			}
		}
	}
	_, err = loadImage(context.Background(), stateDir, path)
	check("from a file", err)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	err = withContainerd(context.Background(), stateDir, func(client *containerd.Client) error {
		_, err := runtime.ImportImages(context.Background(), client, struct{ io.Reader }{bytes.NewReader(raw)})
		return err
	})
	check("from a pipe", err)
}
