package controllerimage

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Paths and identity inside the image.
const (
	// BinaryPath is the nodeless executable, the image's entrypoint.
	BinaryPath = "/nodeless"
	// CACertsPath is the CA bundle (Debian's layout, the first file Go's crypto/x509 reads).
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// UID and GID of the non-root user the image runs as (distroless's nonroot).
	UID = 65532
	GID = 65532
	// User is the image's USER.
	User = "65532:65532"
)

// Labels of the image config (OCI annotations keys, https://github.com/opencontainers/image-spec/blob/main/annotations.md).
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelSource      = "org.opencontainers.image.source"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	// LabelCACertificates is the version of Debian's ca-certificates package the bundle is from.
	LabelCACertificates = "dev.nodeless.ca-certificates.version"
)

// Source is the repository the image is built from.
const Source = "https://github.com/nodeless-dev/nodeless"

// Options are what goes into the image.
type Options struct {
	// Binary is the path of the nodeless executable: static (CGO_ENABLED=0), for Linux on Arch.
	// Required.
	Binary string
	// CACerts is the path of the CA bundle (Debian: /etc/ssl/certs/ca-certificates.crt). Required.
	CACerts string
	// CACertsVersion is the ca-certificates package version (dpkg-query -W ca-certificates),
	// recorded as a label; optional.
	CACertsVersion string
	// Arch is the GOARCH of Binary (amd64, arm64). Required.
	Arch string
	// Version and Revision are the nodeless version and git commit, recorded as labels.
	Version, Revision string
	// Created is the image's creation time; zero: the Unix epoch (reproducible).
	Created time.Time
}

// Build returns the image of opts. It fails when a file is missing or the binary is not a
// static Linux executable.
func Build(opts Options) (v1.Image, error) {
	if opts.Binary == "" || opts.CACerts == "" || opts.Arch == "" {
		return nil, errors.New("controllerimage: Binary, CACerts and Arch are required")
	}
	if err := checkStatic(opts.Binary); err != nil {
		return nil, err
	}
	if _, err := os.Stat(opts.CACerts); err != nil {
		return nil, fmt.Errorf("the CA bundle: %w (install Debian's ca-certificates package)", err)
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return rootfs(opts, created), nil })
	if err != nil {
		return nil, fmt.Errorf("the image's layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("the image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("the image's config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", opts.Arch, v1.Time{Time: created}
	cf.Config = v1.Config{
		Entrypoint: []string{BinaryPath},
		Cmd:        []string{"controller"},
		User:       User,
		WorkingDir: "/",
		Env:        []string{"PATH=/", "SSL_CERT_FILE=" + CACertsPath},
		Labels:     labels(opts),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting the image's config: %w", err)
	}
	return img, nil
}

func labels(opts Options) map[string]string {
	l := map[string]string{
		LabelTitle:       "nodeless",
		LabelDescription: "nodeless controller: the Kubernetes API as control plane, Amazon ECS as data plane",
		LabelSource:      Source,
	}
	for k, v := range map[string]string{LabelVersion: opts.Version, LabelRevision: opts.Revision, LabelCACertificates: opts.CACertsVersion} {
		if v != "" {
			l[k] = v
		}
	}
	return l
}

// checkStatic refuses a binary that is not a Linux ELF executable or that needs a dynamic
// loader, which a base-less image does not have.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("the nodeless binary %s: %w (give a Linux executable)", path, err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("the nodeless binary %s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// rootfs streams the layer's tar.
func rootfs(opts Options, mtime time.Time) io.ReadCloser {
	r, w := io.Pipe()
	go func() { w.CloseWithError(writeRootfs(w, opts, mtime)) }()
	return r
}

// entry is one file or directory of the layer.
type entry struct {
	name     string
	mode     int64
	uid, gid int
	body     []byte
	from     string // path on disk instead of body
}

func entries(opts Options) []entry {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:" + strconv.Itoa(UID) + ":" + strconv.Itoa(GID) + ":nonroot:/home/nonroot:/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:" + strconv.Itoa(GID) + ":\n"
	return []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{name: "etc/group", mode: 0o644, body: []byte(group)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: CACertsPath[1:], mode: 0o644, from: opts.CACerts},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: UID, gid: GID},
		{name: "tmp/", mode: 0o1777},
		{name: BinaryPath[1:], mode: 0o755, from: opts.Binary},
	}
}

func writeRootfs(w io.Writer, opts Options, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries(opts) {
		if err := writeEntry(tw, e, mtime); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing the image's layer: %w", err)
	}
	return nil
}

func writeEntry(tw *tar.Writer, e entry, mtime time.Time) error {
	h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, Format: tar.FormatPAX}
	if e.name[len(e.name)-1] == '/' {
		h.Typeflag = tar.TypeDir
		return writeHeader(tw, h)
	}
	h.Typeflag = tar.TypeReg
	if e.from == "" {
		h.Size = int64(len(e.body))
		if err := writeHeader(tw, h); err != nil {
			return err
		}
		_, err := tw.Write(e.body)
		return wrapWrite(err)
	}
	f, err := os.Open(e.from)
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.from, err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.from, err)
	}
	h.Size = st.Size()
	if err := writeHeader(tw, h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return wrapWrite(err)
}

func writeHeader(tw *tar.Writer, h *tar.Header) error { return wrapWrite(tw.WriteHeader(h)) }

func wrapWrite(err error) error {
	if err != nil {
		return fmt.Errorf("writing the image's layer: %w", err)
	}
	return nil
}

// WriteTarball writes img named ref as a `docker save` tarball to path.
func WriteTarball(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteLayout writes img named ref into the OCI image layout directory dir (created or added to).
func WriteLayout(dir, ref string, img v1.Image) error {
	if _, err := name.NewTag(ref); err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("creating the OCI layout %s: %w", dir, err)
		}
	}
	err = p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
	if err != nil {
		return fmt.Errorf("writing the OCI layout %s: %w", dir, err)
	}
	return nil
}
