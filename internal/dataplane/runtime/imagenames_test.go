package runtime

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/images"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nodeless-dev/nodeless/internal/testimage"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

func TestImageNamesKeepOnlyWhatNoEventRaced(t *testing.T) {
	rec := func(s string) images.Image {
		return images.Image{Name: "example.com/app:1", Target: ocispec.Descriptor{Digest: digest.FromString(s)}}
	}
	const ref = "example.com/app:1"
	var n imageNames

	n.put(ref, rec("a"), n.generation())
	if _, ok := n.get(ref); ok {
		t.Fatal("a name was kept before the subscription was live")
	}

	n.setLive(true)
	n.put(ref, rec("a"), n.generation())
	if got, ok := n.get(ref); !ok || got.Target.Digest != digest.FromString("a") {
		t.Fatalf("get after put = %v, %v; want the record of a", got.Target.Digest, ok)
	}

	n.changed()
	if _, ok := n.get(ref); ok {
		t.Fatal("an image event did not drop the kept names")
	}

	gen := n.generation() // a lookup starts
	n.changed()           // an event arrives while it waits for containerd
	n.put(ref, rec("old"), gen)
	if _, ok := n.get(ref); ok {
		t.Fatal("a lookup that raced an image event was kept")
	}

	n.put(ref, rec("b"), n.generation())
	n.setLive(false)
	if _, ok := n.get(ref); ok {
		t.Fatal("a broken subscription did not drop the kept names")
	}
	n.put(ref, rec("b"), n.generation())
	if _, ok := n.get(ref); ok {
		t.Fatal("a name was kept while the subscription was broken")
	}

	n.setLive(true)
	for i := range knownNames + 1 {
		n.put(ref+strings.Repeat("x", i), rec("b"), n.generation())
	}
	if len(n.names) > knownNames {
		t.Fatalf("%d names kept; at most %d", len(n.names), knownNames)
	}
}

// TestImageNamesFollowChangesOfEveryClient retags the test image while the runtime keeps its name:
// by another client of the runtime's containerd (as `nodeless image load` does), by the runtime's
// own LoadImage, and by another client after containerd was killed and restarted. Every start after
// the change takes the new image.
func TestImageNamesFollowChangesOfEveryClient(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	ctx := context.Background()
	ref, err := normalizeRef(testimage.DefaultRef)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the runtime follows containerd's image events", func() bool { return e.rt.names.liveNow() })

	// args starts a task of one container without a command and returns its process's args,
	// which come from the image's ENTRYPOINT and CMD.
	args := func() string {
		t.Helper()
		spec := taskSpec(container("web"))
		e.start(spec)
		e.waitState(spec.TaskID, time.Minute, "web RUNNING", running("web"))
		cont, err := e.rt.Client().LoadContainer(ctx, containerID(spec.TaskID, "web"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := cont.Spec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(s.Process.Args, " ")
	}
	const first, second = "/testserver -listen :8080", "/testserver -stdout image-b -listen :8080"
	imageB := testimage.TarballEntrypoint(t, testimage.DefaultRef, "/testserver", "-stdout", "image-b")
	// retag imports the archive at path with a client of its own.
	retag := func(path string) {
		t.Helper()
		other, err := containerd.New(e.rt.Address(), containerd.WithDefaultNamespace(Namespace))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := ImportImages(ctx, other, f); err != nil {
			t.Fatal(err)
		}
	}
	dropped := func() bool { _, ok := e.rt.names.get(ref); return !ok }

	if got := args(); got != first {
		t.Fatalf("first start: args %q, want %q", got, first)
	}
	if dropped() {
		t.Fatalf("%s not kept after a start", ref)
	}

	retag(imageB)
	waitUntil(t, "the retag's event drops the name", dropped)
	if got := args(); got != second {
		t.Fatalf("after another client's retag: args %q, want %q", got, second)
	}

	e.loadImage() // the first image again, through the runtime: no wait for the event
	if got := args(); got != first {
		t.Fatalf("after the runtime's own LoadImage: args %q, want %q", got, first)
	}

	gen := e.rt.names.generation()
	e.killContainerd()
	waitUntil(t, "a new subscription is live after containerd's restart", func() bool {
		return e.rt.names.generation() >= gen+2 && e.rt.names.liveNow()
	})
	if got := args(); got != first {
		t.Fatalf("after containerd's restart: args %q, want %q", got, first)
	}
	retag(imageB)
	waitUntil(t, "the retag's event drops the name after containerd's restart", dropped)
	if got := args(); got != second {
		t.Fatalf("after another client's retag, after containerd's restart: args %q, want %q", got, second)
	}
}

// waitUntil waits (testwait.For, 30 s, every 20 ms) until ok holds.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	testwait.For(t, 30*time.Second, 20*time.Millisecond, what, func() (bool, string) {
		done := ok()
		return done, "not yet"
	})
}

// liveNow reports whether the subscription is live.
func (n *imageNames) liveNow() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.live
}
