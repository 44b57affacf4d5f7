package runtime

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// platformImage is a one-layer image whose config says os/arch (empty: unset).
func platformImage(t *testing.T, os, arch string) v1.Image {
	t.Helper()
	layer, err := random.Layer(64, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func dockerSave(t *testing.T, img v1.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := tarball.Write(name.MustParseReference("example.com/app:1"), img, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ociArchive writes img as an OCI image layout and tars it, after drop removes some of its files.
func ociArchive(t *testing.T, img v1.Image, drop func(dir string)) []byte {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	if drop != nil {
		drop(dir)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil || tw.Close() != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDiagnoseArchive(t *testing.T) {
	host := platformImage(t, platforms.DefaultSpec().OS, platforms.DefaultSpec().Architecture)
	noPlatform := platformImage(t, "", "")
	cfgName, err := noPlatform.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	var justTar bytes.Buffer
	tw := tar.NewWriter(&justTar)
	_ = tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("hi"))
	_ = tw.Close()
	for _, tc := range []struct {
		name    string
		archive []byte
		want    []string // substrings of the error; none: no error
	}{
		{"docker-save for this machine", dockerSave(t, host), nil},
		{"OCI layout for this machine", ociArchive(t, host, nil), nil},
		{"not a tar", bytes.Repeat([]byte("not a tar archive "), 64), []string{"not a valid tar file"}},
		{"a tar of something else", justTar.Bytes(), []string{"neither an OCI image layout", "no index.json", "no manifest.json"}},
		{"docker-save without os and architecture", dockerSave(t, noPlatform), []string{"image example.com/app:1", "no os and no architecture", "this machine's platform"}},
		{"docker-save without architecture", dockerSave(t, platformImage(t, "linux", "")), []string{"example.com/app:1", "has no architecture"}},
		{"docker-save for another platform", dockerSave(t, platformImage(t, "linux", "s390x")), []string{"example.com/app:1 is for linux/s390x", "cannot run"}},
		{"OCI layout without os and architecture", ociArchive(t, noPlatform, nil), []string{"no os and no architecture"}},
		{"OCI layout missing its config", ociArchive(t, noPlatform, func(dir string) {
			_ = os.Remove(filepath.Join(dir, "blobs", cfgName.Algorithm, cfgName.Hex))
		}), []string{"config " + cfgName.String() + " is missing from the archive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := diagnoseArchive(bytes.NewReader(tc.archive))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("diagnoseArchive: %v, want nothing wrong", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("diagnoseArchive found nothing wrong, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("diagnoseArchive: %v\nwant it to say %q", err, w)
				}
			}
		})
	}
}
