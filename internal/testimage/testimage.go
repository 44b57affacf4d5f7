package testimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DefaultRef is the name the test image is written under unless another is given.
const DefaultRef = "nodeless.test/testserver:latest"

// Port is the port the image's default CMD serves HTTP on.
const Port = 8080

// Format is the tarball layout.
type Format int

const (
	// Docker is the `docker save` layout (manifest.json + RepoTags).
	Docker Format = iota
	// OCI is an OCI image layout (index.json + blobs) in a tar.
	OCI
)

var (
	buildMu  sync.Mutex
	buildBin string
)

// Binary compiles testserver (CGO_ENABLED=0, static) once per source version and returns the path of
// the executable. The result is cached under the temp directory, keyed by the source's hash.
func Binary() (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildBin != "" {
		return buildBin, nil
	}
	src, err := sourceDir()
	if err != nil {
		return "", err
	}
	sum, err := hashDir(src)
	if err != nil {
		return "", err
	}
	out := filepath.Join(os.TempDir(), "nodeless-testserver-"+strconv.Itoa(os.Getuid()), sum, "testserver")
	if _, err := os.Stat(out); err == nil {
		buildBin = out
		return out, nil
	}
	if err := build(src, out); err != nil {
		return "", err
	}
	buildBin = out
	return out, nil
}

func sourceDir() (string, error) {
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		return "", fmt.Errorf("locating testimage sources: no caller information")
	}
	dir := filepath.Join(filepath.Dir(file), "testserver")
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		return "", fmt.Errorf("locating testserver sources: %w", err)
	}
	return dir, nil
}

func hashDir(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", d.Name(), len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hashing testserver sources: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func build(src, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating testserver output directory: %w", err)
	}
	tmp := out + ".tmp" + strconv.Itoa(os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building testserver: %w: %s", err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("installing testserver: %w", err)
	}
	return nil
}

// Image returns the single-layer test image holding the executable at binPath.
func Image(binPath string) (v1.Image, error) {
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return nil, fmt.Errorf("reading testserver: %w", err)
	}
	layerTar, err := rootfsTar(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("creating test image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("creating test image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading test image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = v1.Config{
		Entrypoint: []string{"/testserver"},
		Cmd:        []string{"-listen", ":" + strconv.Itoa(Port)},
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin:/", "TESTIMAGE=1"},
		WorkingDir: "/",
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting test image config: %w", err)
	}
	return img, nil
}

// rootfsTar is the layer: /testserver, a minimal /etc (passwd, group), /tmp.
func rootfsTar(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		body []byte
		dir  bool
	}{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "etc/passwd", mode: 0o644, body: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{name: "testserver", mode: 0o755, body: bin},
	}
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if f.dir {
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing test image layer: %w", err)
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, fmt.Errorf("writing test image layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing test image layer: %w", err)
	}
	return buf.Bytes(), nil
}

// Write builds the binary if needed and writes the image named ref as a tarball in format to w. With
// format OCI, ref may be empty: the archive then does not name the image.
func Write(w io.Writer, ref string, format Format) error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	img, err := Image(bin)
	if err != nil {
		return err
	}
	if format == OCI {
		return writeOCI(w, ref, img)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("parsing image name %q: %w", ref, err)
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return fmt.Errorf("writing image tarball: %w", err)
	}
	return nil
}

// writeOCI writes an OCI image layout holding img, annotated with ref, as a tar stream.
func writeOCI(w io.Writer, ref string, img v1.Image) error {
	dir, err := os.MkdirTemp("", "testimage-oci-")
	if err != nil {
		return fmt.Errorf("creating OCI layout directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("creating OCI layout: %w", err)
	}
	var opts []layout.Option
	if ref != "" { // "" writes an image the archive does not name
		opts = append(opts, layout.WithAnnotations(map[string]string{"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		return fmt.Errorf("writing OCI layout: %w", err)
	}
	return tarDir(w, dir)
}

func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing OCI tarball: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing OCI tarball: %w", err)
	}
	return nil
}

// WriteFile writes the image named ref as a tarball in format to path.
func WriteFile(path, ref string, format Format) error {
	var buf bytes.Buffer
	if err := Write(&buf, ref, format); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Tarball writes the test image named ref (DefaultRef when empty) as a docker-save tarball into a
// temporary directory of tb and returns its path; it fails tb on error.
func Tarball(tb testing.TB, ref string) string {
	tb.Helper()
	if ref == "" {
		ref = DefaultRef
	}
	path := filepath.Join(tb.TempDir(), "testimage.tar")
	if err := WriteFile(path, ref, Docker); err != nil {
		tb.Fatalf("building test image: %v", err)
	}
	return path
}

// TarballEntrypoint is Tarball with entrypoint as the image's ENTRYPOINT instead of ["/testserver"]
// (its CMD stays ["-listen", ":8080"]): an image whose behaviour a Pod's args cannot change, such as
// one that crashes whatever its args ("/testserver", "-stdout", "crashing", "-exit", "2", "-sleep",
// "1ms": it serves what the args say for a millisecond, then exits 2), for tests that change a
// workload's image.
func TarballEntrypoint(tb testing.TB, ref string, entrypoint ...string) string {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		tb.Fatalf("building test image: %v", err)
	}
	img, err := Image(bin)
	if err != nil {
		tb.Fatalf("building test image: %v", err)
	}
	if img, err = withEntrypoint(img, entrypoint); err != nil {
		tb.Fatalf("building test image: %v", err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		tb.Fatalf("parsing image name %q: %v", ref, err)
	}
	path := filepath.Join(tb.TempDir(), "testimage.tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		tb.Fatalf("writing image tarball %s: %v", path, err)
	}
	return path
}

// withEntrypoint is img with its config's Entrypoint replaced by entrypoint.
func withEntrypoint(img v1.Image, entrypoint []string) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading test image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Config.Entrypoint = append([]string(nil), entrypoint...)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting test image entrypoint: %w", err)
	}
	return img, nil
}
