package runtime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// unnamedImagePrefix names the images of an archive that gives them no name.
const unnamedImagePrefix = "import.nodeless.local/unnamed"

// normalizeRef turns an ECS image name ("nginx", "repo/app:tag") into containerd's full name.
func normalizeRef(image string) (string, error) {
	named, err := reference.ParseDockerRef(image)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", image, err)
	}
	return named.String(), nil
}

// LoadImage imports an OCI or docker-save tarball into containerd, unpacks it for the overlayfs
// snapshotter, and returns the names of the images it held.
func (c *Containerd) LoadImage(ctx context.Context, r io.Reader) ([]string, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	defer c.names.changed()
	return ImportImages(ctx, c.client, r)
}

// ImportImages imports a tarball with client (namespaced) and unpacks what it held; used by
// LoadImage and by `nodeless image load` when it talks to a containerd it did not start.
//
// When containerd refuses the archive, the error says what is wrong with it (diagnoseArchive):
// containerd's own ("image might be filtered out") does not. To read it again, r is rewound when it
// is a seekable file, and otherwise (a pipe) copied to a temporary file as containerd reads it.
func ImportImages(ctx context.Context, client *containerd.Client, r io.Reader) ([]string, error) {
	again, in, done, err := rereadable(r)
	if err != nil {
		return nil, err
	}
	defer done()
	imgs, err := client.Import(ctx, in, containerd.WithAllPlatforms(false),
		// An image the archive does not name is still reachable by digest.
		containerd.WithDigestRef(func(d digest.Digest) string { return unnamedImagePrefix + "@" + d.String() }),
		containerd.WithSkipDigestRef(func(name string) bool { return name != "" }))
	if err != nil {
		return nil, fmt.Errorf("importing image archive: %w", explain(err, in, again))
	}
	names := make([]string, 0, len(imgs))
	for _, i := range imgs {
		img := containerd.NewImage(client, i)
		if err := img.Unpack(ctx, snapshotter); err != nil {
			return nil, fmt.Errorf("unpacking %s: %w", i.Name, explain(err, in, again))
		}
		names = append(names, i.Name)
	}
	return names, nil
}

// explain replaces containerd's error by what diagnoseArchive finds wrong with the archive, if
// anything.
func explain(err error, in io.Reader, again func() (io.Reader, error)) error {
	_, _ = io.Copy(io.Discard, in) // the rest of the archive, so that a copy of a pipe is complete
	r, rerr := again()
	if rerr != nil {
		return err
	}
	if diag := diagnoseArchive(r); diag != nil {
		return diag
	}
	return err
}

// rereadable returns a reader of r for containerd (in) and a function that gives a reader of the
// whole archive again once in was read; done releases what it took.
func rereadable(r io.Reader) (again func() (io.Reader, error), in io.Reader, done func(), err error) {
	if f, ok := r.(*os.File); ok {
		if start, err := f.Seek(0, io.SeekCurrent); err == nil {
			again := func() (io.Reader, error) {
				_, err := f.Seek(start, io.SeekStart)
				return f, err
			}
			return again, f, func() {}, nil
		}
	}
	spool, err := os.CreateTemp("", "nodeless-image-*.tar")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating a temporary copy of the image archive: %w", err)
	}
	_ = os.Remove(spool.Name()) // unlinked: it goes with the descriptor
	again = func() (io.Reader, error) {
		_, err := spool.Seek(0, io.SeekStart)
		return spool, err
	}
	return again, io.TeeReader(r, spool), func() { _ = spool.Close() }, nil
}

// LocalImage is an image the runtime makes itself instead of pulling it: the nodeless agent's
// (package agentimage), built from a binary on this machine.
type LocalImage interface {
	// Digest says what the image must hold now (the binary's SHA-256); the error says why the
	// image cannot be made (it becomes the container's CannotPullContainerError).
	Digest() (string, error)
	// Tarball writes the image, named, as a docker-save tarball and returns the digest it holds.
	Tarball(w io.Writer) (string, error)
	// Holds reports whether an image whose config has these labels holds digest.
	Holds(labels map[string]string, digest string) bool
}

// ensureImage returns the image named ref, unpacked; pulling it (bounded by PullTimeout, with auth
// when the container has repositoryCredentials) when it is not present, or making it when it is
// one of LocalImages. The error is the container's stop reason.
func (c *Containerd) ensureImage(ctx context.Context, image string, auth *model.RegistryAuth) (containerd.Image, error) {
	ref, err := normalizeRef(image)
	if err != nil {
		return nil, fmt.Errorf("CannotPullContainerError: %w", err)
	}
	if li := c.opts.LocalImages[ref]; li != nil {
		return c.ensureLocalImage(ctx, ref, li)
	}
	img, err := c.lookupImage(ctx, ref)
	if err == nil {
		if err := c.ensureUnpacked(ctx, img); err != nil {
			return nil, fmt.Errorf("CannotPullContainerError: unpacking %s: %w", ref, err)
		}
		return img, nil
	}
	if !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("CannotPullContainerError: looking up %s: %w", ref, err)
	}
	pctx, cancel := context.WithTimeout(ctx, c.opts.PullTimeout)
	defer cancel()
	img, err = c.client.Pull(pctx, ref, pullOpts(auth)...)
	c.names.changed()
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("CannotPullContainerError: %s: image not found locally nor in its registry: %w", ref, err)
		}
		return nil, fmt.Errorf("CannotPullContainerError: %s: image not found locally and the registry could not be reached: %w", ref, err)
	}
	return img, nil
}

// ensureUnpacked unpacks img for the snapshotter unless this process already saw it unpacked.
func (c *Containerd) ensureUnpacked(ctx context.Context, img containerd.Image) error {
	key := img.Target().Digest.String()
	c.mu.Lock()
	known := c.unpacked[key]
	c.mu.Unlock()
	if known {
		return nil
	}
	if ok, _ := img.IsUnpacked(ctx, snapshotter); !ok {
		if err := img.Unpack(ctx, snapshotter); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.unpacked[key] = true
	c.mu.Unlock()
	return nil
}

// ensureLocalImage returns the local image ref, importing it into containerd the first time a
// task names it in this process when containerd lacks it or holds another digest, and whenever
// the digest changed since.
func (c *Containerd) ensureLocalImage(ctx context.Context, ref string, li LocalImage) (containerd.Image, error) {
	digest, err := li.Digest()
	if err != nil {
		return nil, fmt.Errorf("CannotPullContainerError: %s: %w", ref, err)
	}
	c.localMu.Lock()
	defer c.localMu.Unlock()
	if img, err := c.client.GetImage(ctx, ref); err == nil {
		current := c.localDigests[ref] == digest
		if !current {
			cfg, err := img.Spec(ctx)
			current = err == nil && li.Holds(cfg.Config.Labels, digest)
		}
		if current {
			if err := c.ensureUnpacked(ctx, img); err != nil {
				return nil, fmt.Errorf("CannotPullContainerError: unpacking %s: %w", ref, err)
			}
			c.localDigests[ref] = digest
			return img, nil
		}
	}
	var buf bytes.Buffer
	made, err := li.Tarball(&buf)
	if err != nil {
		return nil, fmt.Errorf("CannotPullContainerError: %s: %w", ref, err)
	}
	_, err = ImportImages(ctx, c.client, &buf)
	c.names.changed()
	if err != nil {
		return nil, fmt.Errorf("CannotPullContainerError: %s: %w", ref, err)
	}
	img, err := c.client.GetImage(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("CannotPullContainerError: %s: imported, then not found: %w", ref, err)
	}
	c.localDigests[ref] = made
	c.log.Info("local image made", "image", ref, "digest", made)
	return img, nil
}
