package runtime

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxMetadataSize bounds the archive entries diagnoseArchive keeps in memory (index, manifests,
// configs); larger entries are layers and only their presence is recorded.
const maxMetadataSize = 4 << 20

// archive is what diagnoseArchive read of an image tarball: small entries by path, and the paths
// of every entry.
type archive struct {
	small map[string][]byte
	all   map[string]bool
}

// diagnoseArchive says what is wrong with an image tarball that containerd refused to import
// (containerd says only "image might be filtered out" for an image it cannot match to this
// machine's platform): not a tar, neither an OCI image layout nor a docker-save archive, a blob
// its manifests name missing, or an image whose config has no os or architecture or names another
// platform. It returns nil when it finds nothing wrong.
func diagnoseArchive(r io.Reader) error {
	a, err := readArchive(r)
	if err != nil {
		return err
	}
	var problems []error
	switch {
	case a.small["index.json"] != nil:
		problems = a.checkOCI()
	case a.small["manifest.json"] != nil:
		problems = a.checkDockerSave()
	default:
		return errors.New("the archive is neither an OCI image layout (no index.json at its root) nor a docker-save archive (no manifest.json): write it with `docker save`, `podman save`, `crane pull --format oci` or `skopeo copy ... oci-archive:`")
	}
	return errors.Join(problems...)
}

func readArchive(r io.Reader) (*archive, error) {
	a := &archive{small: map[string][]byte{}, all: map[string]bool{}}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the archive is not a valid tar file (%w): write it with `docker save` or as an OCI image layout archive", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		a.all[name] = true
		if h.Typeflag == tar.TypeReg && h.Size <= maxMetadataSize {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("reading %s in the archive: %w", name, err)
			}
			a.small[name] = b
		}
	}
	return a, nil
}

// blob returns the OCI layout blob of digest d, or an error naming what is missing.
func (a *archive) blob(d v1.Hash, what string) ([]byte, error) {
	p := path.Join("blobs", d.Algorithm, d.Hex)
	if b, ok := a.small[p]; ok {
		return b, nil
	}
	if a.all[p] {
		return nil, fmt.Errorf("%s %s is larger than %d bytes: not an image %s", what, d, maxMetadataSize, what)
	}
	return nil, fmt.Errorf("%s %s is missing from the archive (no %s)", what, d, p)
}

func (a *archive) checkOCI() []error {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(a.small["index.json"]))
	if err != nil {
		return []error{fmt.Errorf("index.json is not an OCI image index: %w", err)}
	}
	if len(idx.Manifests) == 0 {
		return []error{errors.New("index.json lists no image")}
	}
	var errs []error
	for _, d := range idx.Manifests {
		errs = append(errs, a.checkDescriptor(d, d.Annotations[ocispec.AnnotationRefName], 0)...)
	}
	return errs
}

// checkDescriptor checks a manifest or a nested index of an OCI layout.
func (a *archive) checkDescriptor(d v1.Descriptor, name string, depth int) []error {
	if name == "" {
		name = d.Digest.String()
	}
	raw, err := a.blob(d.Digest, "manifest")
	if err != nil {
		return []error{fmt.Errorf("image %s: %w", name, err)}
	}
	if d.MediaType.IsIndex() && depth < 4 {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return []error{fmt.Errorf("image %s: its index is not valid: %w", name, err)}
		}
		var errs []error
		for _, m := range idx.Manifests {
			errs = append(errs, a.checkDescriptor(m, name, depth+1)...)
		}
		return errs
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return []error{fmt.Errorf("image %s: its manifest is not valid: %w", name, err)}
	}
	var errs []error
	for _, l := range m.Layers {
		if !a.all[path.Join("blobs", l.Digest.Algorithm, l.Digest.Hex)] {
			errs = append(errs, fmt.Errorf("image %s: layer %s is missing from the archive", name, l.Digest))
		}
	}
	cfg, err := a.blob(m.Config.Digest, "config")
	if err != nil {
		return append(errs, fmt.Errorf("image %s: %w", name, err))
	}
	if err := checkConfig(name, cfg); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// dockerManifest is an entry of a docker-save archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func (a *archive) checkDockerSave() []error {
	var entries []dockerManifest
	if err := json.Unmarshal(a.small["manifest.json"], &entries); err != nil {
		return []error{fmt.Errorf("manifest.json is not a docker-save manifest: %w", err)}
	}
	if len(entries) == 0 {
		return []error{errors.New("manifest.json lists no image")}
	}
	var errs []error
	for _, e := range entries {
		name := e.Config
		if len(e.RepoTags) > 0 {
			name = e.RepoTags[0]
		}
		for _, l := range e.Layers {
			if !a.all[path.Clean(l)] {
				errs = append(errs, fmt.Errorf("image %s: layer %s is missing from the archive", name, l))
			}
		}
		cfg, ok := a.small[path.Clean(e.Config)]
		if !ok {
			errs = append(errs, fmt.Errorf("image %s: its config %s is missing from the archive", name, e.Config))
			continue
		}
		if err := checkConfig(name, cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// checkConfig checks that an image config names a platform this machine runs: containerd imports
// and unpacks only those.
func checkConfig(name string, raw []byte) error {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("image %s: its config is not an image config: %w", name, err)
	}
	host := platforms.DefaultSpec()
	var missing []string
	if cfg.OS == "" {
		missing = append(missing, "os")
	}
	if cfg.Architecture == "" {
		missing = append(missing, "architecture")
	}
	if len(missing) > 0 {
		return fmt.Errorf("image %s: its config has no %s: containerd imports only images for this machine's platform (%s); set them when building the image (e.g. os %q, architecture %q)",
			name, strings.Join(missing, " and no "), platforms.Format(host), host.OS, host.Architecture)
	}
	p := ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	if !platforms.Default().Match(p) {
		return fmt.Errorf("image %s is for %s, which this machine (%s) cannot run: build or pull it for %s",
			name, platforms.Format(p), platforms.Format(host), platforms.Format(host))
	}
	return nil
}
