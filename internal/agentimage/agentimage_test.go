package agentimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestLocalRef(t *testing.T) {
	for in, want := range map[string]string{
		"v0.3.0":                 "nodeless.local/nodeless-agent:v0.3.0",
		"0f81699-dirty":          "nodeless.local/nodeless-agent:0f81699-dirty",
		"dev":                    "nodeless.local/nodeless-agent:dev",
		"":                       "nodeless.local/nodeless-agent:v",
		"feature/x+y":            "nodeless.local/nodeless-agent:feature-x-y",
		"-leading":               "nodeless.local/nodeless-agent:v-leading",
		strings.Repeat("a", 200): "nodeless.local/nodeless-agent:" + strings.Repeat("a", 128),
	} {
		if got := LocalRef(in); got != want {
			t.Errorf("LocalRef(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSource(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, BinaryName)
	s := NewSource(LocalRef("test"), bin)
	if _, err := s.Digest(); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("missing binary: %v", err)
	}
	if err := os.WriteFile(bin, []byte("agent v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	digest, err := s.Tarball(&buf)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("agent v1"))
	if digest != hex.EncodeToString(sum[:]) {
		t.Errorf("digest %s", digest)
	}
	raw := buf.Bytes()
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !s.Holds(cf.Config.Labels, digest) || cf.Config.Entrypoint[0] != "/nodeless-agent" || cf.Config.User != "0" {
		t.Errorf("config %+v", cf.Config)
	}
	// A rebuilt binary is another digest.
	if err := os.WriteFile(bin, []byte("agent v2, longer"), 0o755); err != nil {
		t.Fatal(err)
	}
	d2, err := s.Digest()
	if err != nil || d2 == digest || s.Holds(cf.Config.Labels, d2) {
		t.Errorf("after a rebuild: %s, %v", d2, err)
	}
	// Reproducible: the same binary makes the same image.
	var again bytes.Buffer
	if err := os.WriteFile(bin, []byte("agent v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tarball(&again); err != nil || !bytes.Equal(again.Bytes(), raw) {
		t.Errorf("the image of the same binary differs (%v)", err)
	}
}
