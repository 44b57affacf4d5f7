package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/images"
	"github.com/google/go-cmp/cmp"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"k8s.io/utils/lru"
)

// fakeImage is an image whose config the content store serves, counting the reads.
type fakeImage struct {
	containerd.Image // nil: only the methods below are called
	name             string
	target           digest.Digest
	store            *fakeStore
}

func (i fakeImage) Name() string                { return i.name }
func (i fakeImage) Target() ocispec.Descriptor  { return ocispec.Descriptor{Digest: i.target} }
func (i fakeImage) ContentStore() content.Store { return i.store }
func (i fakeImage) Config(context.Context) (ocispec.Descriptor, error) {
	i.store.lookups++
	return i.store.desc, nil
}

// fakeStore serves one blob (blob) under desc; reads counts the ReaderAt calls.
type fakeStore struct {
	content.Store // nil: only ReaderAt is called
	desc          ocispec.Descriptor
	blob          []byte
	lookups       int
	reads         int
}

func (s *fakeStore) ReaderAt(_ context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	s.reads++
	if desc.Digest != s.desc.Digest {
		return nil, errors.New("no such blob")
	}
	return readerAt{bytes.NewReader(s.blob)}, nil
}

type readerAt struct{ *bytes.Reader }

func (readerAt) Close() error { return nil }

func configBlob(t *testing.T, cfg ocispec.Image) (ocispec.Descriptor, []byte) {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ocispec.Descriptor{MediaType: images.MediaTypeDockerSchema2Config, Digest: digest.FromBytes(raw), Size: int64(len(raw))}, raw
}

func TestKnownConfigReadsEachTargetOnce(t *testing.T) {
	cfg := ocispec.Image{
		Config: ocispec.ImageConfig{Entrypoint: []string{"/testserver"}, Env: []string{"A=1"}, WorkingDir: "/srv"},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("layer 1"), digest.FromString("layer 2")}},
	}
	desc, raw := configBlob(t, cfg)
	store := &fakeStore{desc: desc, blob: raw}
	c := &Containerd{configs: lru.New(knownConfigs)}
	ctx := context.Background()
	img := fakeImage{name: "example.com/app:1", target: digest.FromString("manifest 1"), store: store}
	retagged := fakeImage{name: "example.com/app:1", target: digest.FromString("manifest 2"), store: store}

	tests := []struct {
		name                   string
		img                    fakeImage
		wantLookups, wantReads int
	}{
		{name: "first container of the image reads its config", img: img, wantLookups: 1, wantReads: 1},
		{name: "the next one reads nothing", img: img, wantLookups: 1, wantReads: 1},
		{name: "a new target of the name reads again", img: retagged, wantLookups: 2, wantReads: 2},
		{name: "and only once", img: retagged, wantLookups: 2, wantReads: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known, err := c.knownConfig(ctx, tt.img)
			if err != nil {
				t.Fatal(err)
			}
			// What container creation reads: the runtime's spec, the snapshot's parent
			// (WithNewSnapshot: RootFS) and the image defaults (oci.WithImageConfig: Config, then
			// content.ReadBlob from the image's store).
			spec, err := known.Spec(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cfg, spec); diff != "" {
				t.Errorf("Spec: -want +got:\n%s", diff)
			}
			diffIDs, err := known.RootFS(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cfg.RootFS.DiffIDs, diffIDs); diff != "" {
				t.Errorf("RootFS: -want +got:\n%s", diff)
			}
			cd, err := known.Config(ctx)
			if err != nil {
				t.Fatal(err)
			}
			blob, err := content.ReadBlob(ctx, known.ContentStore(), cd)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(blob, raw) {
				t.Errorf("ReadBlob of the config = %q, want %q", blob, raw)
			}
			if store.lookups != tt.wantLookups || store.reads != tt.wantReads {
				t.Errorf("config descriptor lookups, blob reads = %d, %d; want %d, %d", store.lookups, store.reads, tt.wantLookups, tt.wantReads)
			}
		})
	}
}

func TestKnownConfigRefusesABlobThatIsNotTheDescriptors(t *testing.T) {
	desc, _ := configBlob(t, ocispec.Image{Config: ocispec.ImageConfig{Cmd: []string{"a"}}})
	_, other := configBlob(t, ocispec.Image{Config: ocispec.ImageConfig{Cmd: []string{"b"}}})
	c := &Containerd{configs: lru.New(knownConfigs)}
	img := fakeImage{name: "example.com/app:1", target: digest.FromString("manifest"), store: &fakeStore{desc: desc, blob: other}}
	if _, err := c.knownConfig(context.Background(), img); err == nil {
		t.Fatal("knownConfig accepted a config blob that does not match its descriptor")
	}
	if n := c.configs.Len(); n != 0 {
		t.Errorf("knownConfig remembered %d configs, want none: it refused the only one", n)
	}
}

// TestKnownConfigKeepsTheLastUsed: the configs of the knownConfigs targets used last are kept; one
// used before them is read again.
func TestKnownConfigKeepsTheLastUsed(t *testing.T) {
	desc, raw := configBlob(t, ocispec.Image{Config: ocispec.ImageConfig{Cmd: []string{"a"}}})
	store := &fakeStore{desc: desc, blob: raw}
	c := &Containerd{configs: lru.New(knownConfigs)}
	ctx := context.Background()
	use := func(i int) {
		t.Helper()
		img := fakeImage{name: fmt.Sprintf("example.com/app:%d", i), target: digest.FromString(fmt.Sprint("manifest ", i)), store: store}
		if _, err := c.knownConfig(ctx, img); err != nil {
			t.Fatal(err)
		}
	}
	for i := range knownConfigs + 1 {
		use(i)
	}
	if store.reads != knownConfigs+1 {
		t.Fatalf("blob reads = %d, want %d (one per target)", store.reads, knownConfigs+1)
	}
	use(knownConfigs) // the last one used: kept
	use(1)            // kept
	if store.reads != knownConfigs+1 {
		t.Errorf("blob reads = %d after using kept targets again, want %d", store.reads, knownConfigs+1)
	}
	use(0) // the first, pushed out by the knownConfigs after it
	if store.reads != knownConfigs+2 {
		t.Errorf("blob reads = %d after using the first target again, want %d", store.reads, knownConfigs+2)
	}
}
