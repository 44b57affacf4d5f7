// Package agentimage makes the image of the nodeless agent (cmd/nodeless-agent) for the local
// data plane: a one-layer OCI image holding the static agent binary, built with
// go-containerregistry from the binary beside the nodeless executable (make build puts
// bin/nodeless-agent beside bin/nodeless) and imported into the data plane's containerd the first
// time a task names it — again only when the binary changed (the image carries the binary's
// SHA-256 as a label). Nothing is downloaded.
//
// On AWS the agent image is a reference in a registry (an option of the Pod controller); this
// package is not involved.
package agentimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	// Repository is the local agent image's repository; LocalRef adds the tag.
	Repository = "nodeless.local/nodeless-agent"
	// BinaryName is the agent executable's file name, beside the nodeless executable.
	BinaryName = "nodeless-agent"
	// DigestLabel is the image config label holding the SHA-256 of the agent binary inside.
	DigestLabel = "dev.nodeless.agent.binary-sha256"
	// entrypoint is where the binary sits in the image.
	entrypoint = "/nodeless-agent"
)

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// LocalRef is the local agent image of a nodeless version: nodeless.local/nodeless-agent:<version>
// (characters a tag cannot hold become '-'). A task definition names it, so it changes only with
// the version: a rebuilt binary of the same version replaces the image under the same name.
func LocalRef(version string) string {
	tag := tagUnsafe.ReplaceAllString(version, "-")
	if tag == "" || tag[0] == '.' || tag[0] == '-' {
		tag = "v" + tag
	}
	if len(tag) > 128 {
		tag = tag[:128]
	}
	return Repository + ":" + tag
}

// DefaultBinary is the agent beside the running executable.
func DefaultBinary() string {
	exe, err := os.Executable()
	if err != nil {
		return BinaryName
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Join(filepath.Dir(exe), BinaryName)
}

// Source builds the agent image named Ref from the binary at Binary. It is safe for concurrent
// use.
type Source struct {
	Ref    string
	Binary string

	mu     sync.Mutex
	stamp  fileStamp
	digest string
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// NewSource returns the source of the image ref built from binary (DefaultBinary when empty).
func NewSource(ref, binary string) *Source {
	if binary == "" {
		binary = DefaultBinary()
	}
	return &Source{Ref: ref, Binary: binary}
}

// Digest is the SHA-256 of the agent binary (hex), read again only when the file changed. A
// missing binary is an error that says how to build it.
func (s *Source) Digest() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.Binary)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("the nodeless agent binary %s does not exist: build it with `make build` (it goes to bin/nodeless-agent, beside bin/nodeless), "+
			"or give its path with --agent-binary", s.Binary)
	}
	if err != nil {
		return "", fmt.Errorf("the nodeless agent binary: %w", err)
	}
	st := fileStamp{size: fi.Size(), mod: fi.ModTime()}
	if st == s.stamp && s.digest != "" {
		return s.digest, nil
	}
	b, err := os.ReadFile(s.Binary)
	if err != nil {
		return "", fmt.Errorf("reading the nodeless agent binary: %w", err)
	}
	sum := sha256.Sum256(b)
	s.stamp, s.digest = st, hex.EncodeToString(sum[:])
	return s.digest, nil
}

// Tarball writes the image (a docker-save tarball, named Ref) and returns the binary's digest.
func (s *Source) Tarball(w io.Writer) (string, error) {
	digest, err := s.Digest()
	if err != nil {
		return "", err
	}
	bin, err := os.ReadFile(s.Binary)
	if err != nil {
		return "", fmt.Errorf("reading the nodeless agent binary: %w", err)
	}
	if sum := sha256.Sum256(bin); hex.EncodeToString(sum[:]) != digest {
		return "", fmt.Errorf("the nodeless agent binary %s changed while it was read; try again", s.Binary)
	}
	img, err := Image(bin, digest)
	if err != nil {
		return "", err
	}
	tag, err := name.NewTag(s.Ref)
	if err != nil {
		return "", fmt.Errorf("agent image name %q: %w", s.Ref, err)
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return "", fmt.Errorf("writing the agent image: %w", err)
	}
	return digest, nil
}

// Image is the agent image holding bin: /nodeless-agent as the entrypoint, run as root (it gives
// files to fsGroup), DigestLabel set to digest, reproducible (fixed times).
func Image(bin []byte, digest string) (v1.Image, error) {
	layerTar, err := rootfs(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		return nil, fmt.Errorf("making the agent image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("making the agent image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the agent image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = v1.Config{
		Entrypoint: []string{entrypoint},
		Cmd:        []string{"version"},
		User:       "0",
		WorkingDir: "/",
		Labels:     map[string]string{DigestLabel: digest},
	}
	return mutate.ConfigFile(img, cf)
}

// rootfs is the layer: the binary and the directory the volumes are mounted under.
func rootfs(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, h := range []*tar.Header{
		{Name: "nodeless/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch},
		{Name: "nodeless/volumes/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch},
		{Name: "tmp/", Mode: 0o1777, Typeflag: tar.TypeDir, ModTime: epoch},
		{Name: entrypoint[1:], Mode: 0o755, Typeflag: tar.TypeReg, Size: int64(len(bin)), ModTime: epoch},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing the agent image layer: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bin); err != nil {
				return nil, fmt.Errorf("writing the agent image layer: %w", err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing the agent image layer: %w", err)
	}
	return buf.Bytes(), nil
}

// Holds reports whether an image whose config has these labels holds the binary of digest.
func (s *Source) Holds(labels map[string]string, digest string) bool {
	return labels[DigestLabel] == digest
}
