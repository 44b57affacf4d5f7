package runtime

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/content"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// knownConfigs is how many image targets' configs knownConfig keeps (a few KiB each).
const knownConfigs = 256

// knownConfig returns img with its config descriptor, its config and its layers' diffIDs served
// from memory: the config blob is read from containerd once per image target digest (manifest or
// index) in this process, not three times per container. Creating a container reads it for the
// runtime's own spec (Spec), for the snapshot's parent (WithNewSnapshot: RootFS) and for the
// image's defaults (oci.WithImageConfig: Config, then content.ReadBlob), each time walking from the
// target to the config through the content store: about 1 ms each on the way to RUNNING
// (bench/README.md, "Faster starts, fifth pass"). Content is addressed by digest, so what a target
// digest leads to never changes; an image retagged since is a new target, looked up by ensureImage
// as before. The descriptor carries the blob in Data, which content.ReadBlob returns without a
// round trip once it matches the descriptor's size and digest.
//
// It keeps the configs of the knownConfigs targets used last, so a long-lived data plane that
// runs many images over time does not hold every config it ever read.
func (c *Containerd) knownConfig(ctx context.Context, img containerd.Image) (containerd.Image, error) {
	key := img.Target().Digest
	var desc ocispec.Descriptor
	cached, ok := c.configs.Get(key)
	if ok {
		desc = cached.(ocispec.Descriptor)
	} else {
		var err error
		if desc, err = img.Config(ctx); err != nil {
			return nil, fmt.Errorf("reading the config descriptor of %s: %w", img.Name(), err)
		}
		if desc.Data, err = content.ReadBlob(ctx, img.ContentStore(), desc); err != nil {
			return nil, fmt.Errorf("reading the config of %s: %w", img.Name(), err)
		}
		if int64(len(desc.Data)) != desc.Size || digest.FromBytes(desc.Data) != desc.Digest {
			return nil, fmt.Errorf("reading the config of %s: the blob does not match its descriptor %s", img.Name(), desc.Digest)
		}
		c.configs.Add(key, desc)
	}
	return configImage{Image: img, config: desc}, nil
}

// configImage is an image whose config (descriptor with its blob in Data) is known: Config, Spec
// and RootFS answer from it; everything else is the image's own.
type configImage struct {
	containerd.Image
	config ocispec.Descriptor
}

// Config implements containerd.Image and oci.Image.
func (i configImage) Config(context.Context) (ocispec.Descriptor, error) { return i.config, nil }

// Spec implements containerd.Image: the config, decoded afresh for each caller.
func (i configImage) Spec(context.Context) (ocispec.Image, error) {
	var spec ocispec.Image
	if err := json.Unmarshal(i.config.Data, &spec); err != nil {
		return ocispec.Image{}, fmt.Errorf("decoding the config of %s: %w", i.Name(), err)
	}
	return spec, nil
}

// RootFS implements containerd.Image: the diffIDs of the image's layers, as the config lists them
// (what containerd's images.RootFS reads).
func (i configImage) RootFS(ctx context.Context) ([]digest.Digest, error) {
	spec, err := i.Spec(ctx)
	if err != nil {
		return nil, err
	}
	return spec.RootFS.DiffIDs, nil
}
