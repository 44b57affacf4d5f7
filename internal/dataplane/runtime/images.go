package runtime

import (
	"context"
	"fmt"
	"io"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
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
	return ImportImages(ctx, c.client, r)
}

// ImportImages imports a tarball with client (namespaced) and unpacks what it held; used by
// LoadImage and by `nodeless image load` when it talks to a containerd it did not start.
func ImportImages(ctx context.Context, client *containerd.Client, r io.Reader) ([]string, error) {
	imgs, err := client.Import(ctx, r, containerd.WithAllPlatforms(false),
		// An image the archive does not name is still reachable by digest.
		containerd.WithDigestRef(func(d digest.Digest) string { return unnamedImagePrefix + "@" + d.String() }),
		containerd.WithSkipDigestRef(func(name string) bool { return name != "" }))
	if err != nil {
		return nil, fmt.Errorf("importing image archive: %w", err)
	}
	names := make([]string, 0, len(imgs))
	for _, i := range imgs {
		img := containerd.NewImage(client, i)
		if err := img.Unpack(ctx, snapshotter); err != nil {
			return nil, fmt.Errorf("unpacking %s: %w", i.Name, err)
		}
		names = append(names, i.Name)
	}
	return names, nil
}

// ensureImage returns the image named ref, unpacked; pulling it (bounded by PullTimeout) when it is
// not present. The error is the container's stop reason.
func (c *Containerd) ensureImage(ctx context.Context, image string) (containerd.Image, error) {
	ref, err := normalizeRef(image)
	if err != nil {
		return nil, fmt.Errorf("CannotPullContainerError: %w", err)
	}
	img, err := c.client.GetImage(ctx, ref)
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
	img, err = c.client.Pull(pctx, ref, containerd.WithPullUnpack, containerd.WithPullSnapshotter(snapshotter))
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
