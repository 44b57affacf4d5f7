package controllerimage_test

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nodeless-dev/nodeless/internal/controllerimage"
)

// staticBinary builds a small static Go program, standing in for nodeless (whose build takes
// minutes): the image treats any static Linux executable alike.
func staticBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "nodeless")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a static binary: %v\n%s", err, b)
	}
	return out
}

func caBundle(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca-certificates.crt")
	if err := os.WriteFile(p, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImageConfig(t *testing.T) {
	opts := controllerimage.Options{
		Binary: staticBinary(t), CACerts: caBundle(t), CACertsVersion: "20250419", Arch: runtime.GOARCH,
		Version: "v0.1.0", Revision: "abc123",
	}
	img, err := controllerimage.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Entrypoint: []string{"/nodeless"},
		Cmd:        []string{"controller"},
		User:       "65532:65532",
		WorkingDir: "/",
		Env:        []string{"PATH=/", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		Labels: map[string]string{
			controllerimage.LabelTitle:          "nodeless",
			controllerimage.LabelDescription:    "nodeless controller: the Kubernetes API as control plane, Amazon ECS as data plane",
			controllerimage.LabelSource:         controllerimage.Source,
			controllerimage.LabelVersion:        "v0.1.0",
			controllerimage.LabelRevision:       "abc123",
			controllerimage.LabelCACertificates: "20250419",
		},
	}
	if diff := cmp.Diff(want, cf.Config); diff != "" {
		t.Errorf("image config (-want +got):\n%s", diff)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("os %s, architecture %s, created %s; want linux, %s, the epoch", cf.OS, cf.Architecture, cf.Created, runtime.GOARCH)
	}

	files := layerFiles(t, img)
	type file struct {
		Mode     int64
		UID, GID int
	}
	got := map[string]file{}
	for n, h := range files {
		got[n] = file{h.Mode, h.Uid, h.Gid}
	}
	wantFiles := map[string]file{
		"etc/": {0o755, 0, 0}, "etc/passwd": {0o644, 0, 0}, "etc/group": {0o644, 0, 0},
		"etc/ssl/": {0o755, 0, 0}, "etc/ssl/certs/": {0o755, 0, 0}, "etc/ssl/certs/ca-certificates.crt": {0o644, 0, 0},
		"home/": {0o755, 0, 0}, "home/nonroot/": {0o700, 65532, 65532}, "tmp/": {0o1777, 0, 0}, "nodeless": {0o755, 0, 0},
	}
	if diff := cmp.Diff(wantFiles, got); diff != "" {
		t.Errorf("layer files (-want +got):\n%s", diff)
	}
	if p := files["etc/passwd"].body; !strings.Contains(p, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user 65532:\n%s", p)
	}
	bin, _ := os.ReadFile(opts.Binary)
	if files["nodeless"].body != string(bin) {
		t.Error("/nodeless is not the given binary")
	}

	// Reproducible: the same inputs, the same digest.
	again, err := controllerimage.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same inputs: digests %s and %s", d1, d2)
	}
}

type tarFile struct {
	*tar.Header
	body string
}

func layerFiles(t *testing.T, img v1.Image) map[string]tarFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]tarFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = tarFile{h, string(b)}
	}
}

// TestWrittenImagesReadBack: the docker tarball and the OCI layout hold the image, named.
func TestWrittenImagesReadBack(t *testing.T) {
	img, err := controllerimage.Build(controllerimage.Options{Binary: staticBinary(t), CACerts: caBundle(t), Arch: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	const ref = "ghcr.io/nodeless-dev/nodeless:v0.1.0"
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := controllerimage.WriteTarball(path, ref, img); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(ref)
	back, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("reading the tarball back as %s: %v", ref, err)
	}
	if got, _ := back.Digest(); got != want {
		t.Errorf("tarball image digest %s, want %s", got, want)
	}

	dir := filepath.Join(t.TempDir(), "oci")
	if err := controllerimage.WriteLayout(dir, ref, img); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest != want || m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != ref {
		t.Errorf("OCI layout index %+v, want one manifest %s named %s", m.Manifests, want, ref)
	}
}

func TestRefusesADynamicBinary(t *testing.T) {
	dynamic := "/bin/sh" // every Debian system's shell is dynamically linked
	if _, err := os.Stat(dynamic); err != nil {
		t.Skip("no /bin/sh")
	}
	_, err := controllerimage.Build(controllerimage.Options{Binary: dynamic, CACerts: caBundle(t), Arch: runtime.GOARCH})
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("a dynamically linked binary: error %v, want one saying to build with CGO_ENABLED=0", err)
	}
}
