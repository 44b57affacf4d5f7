package runtime

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd"
	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/events"
	"github.com/containerd/containerd/images"
	"github.com/containerd/typeurl/v2"
)

// knownNames is how many image names imageNames keeps; more are looked up each time.
const knownNames = 1024

// probeTopic is the topic of the event the runtime publishes to itself to learn that its
// subscription to containerd's events is established (containerd's Subscribe returns before the
// daemon has registered the subscriber). It is under /images/ so that the image filter passes it;
// containerd itself publishes only /images/create, /images/update and /images/delete there.
const probeTopic = "/images/nodeless-probe"

// eventFilters are what watchEvents subscribes to: the kernel's OOM kills, and every change of an
// image name in the runtime's containerd namespace (containerd's filter syntax: filters are ORed,
// a comma ANDs within one).
var eventFilters = []string{
	`topic=="/tasks/oom"`,
	`namespace==` + Namespace + `,topic~="^/images/"`,
}

// imageNames is what each image name of containerd's image store leads to (its record: the target
// descriptor), as this process last looked it up, kept only while every change of an image in
// containerd's namespace reaches the runtime as an event: the lookup (GetImage, one round trip,
// 1.5–2.5 ms on the way to RUNNING: bench/README.md, "Faster starts, fifth pass") then happens
// once per name, not once per container. Kept as a Kubernetes informer keeps objects: a lookup
// answers from memory while the watch runs, and the memory is dropped whenever the watch may have
// missed something.
//
// The rules (ADR 0004, "Image names"):
//   - nothing is kept unless the subscription is live: a probe event the runtime published came
//     back through it (setLive), and until the stream breaks or containerd restarts (setLive(false));
//   - every image event in the namespace (create, update, delete) drops every name, and so does
//     this process's own change of an image (changed), before its call returns;
//   - a lookup that raced an event is not kept: put keeps a record only if no event came between
//     the lookup's start (generation) and put.
//
// So a start uses a name's old target only in the moment between another client's change of that
// name and containerd's delivery of its event (as an ECS task started while its tag is being pushed
// may run either image).
type imageNames struct {
	mu    sync.Mutex
	live  bool
	gen   uint64
	names map[string]images.Image
}

// get returns the kept record of ref and whether there is one.
func (n *imageNames) get(ref string) (images.Image, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	img, ok := n.names[ref]
	return img, ok
}

// generation is the current generation, to give put after a lookup.
func (n *imageNames) generation() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.gen
}

// put keeps img as what ref leads to, if the subscription is live and nothing changed since gen.
func (n *imageNames) put(ref string, img images.Image, gen uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.live || gen != n.gen {
		return
	}
	if n.names == nil || len(n.names) >= knownNames {
		n.names = map[string]images.Image{}
	}
	n.names[ref] = img
}

// changed drops every kept name: an image changed (an event, or this process's own import or pull).
func (n *imageNames) changed() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.gen++
	n.names = nil
}

// setLive records whether the subscription is established, and drops every kept name.
func (n *imageNames) setLive(live bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.gen++
	n.names = nil
	n.live = live
}

// lookupImage returns the image named ref (containerd's GetImage), answering from imageNames when
// it can.
func (c *Containerd) lookupImage(ctx context.Context, ref string) (containerd.Image, error) {
	if rec, ok := c.names.get(ref); ok {
		return containerd.NewImage(c.client, rec), nil
	}
	gen := c.names.generation()
	rec, err := c.client.ImageService().Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	c.names.put(ref, rec, gen)
	return containerd.NewImage(c.client, rec), nil
}

// probeEvery is how often watchEvents publishes its probe until it comes back; probeTries bounds
// how many it publishes before it subscribes anew.
const (
	probeEvery = 20 * time.Millisecond
	probeTries = 250
)

// watchEvents follows containerd's event stream: it records the containers the kernel OOM-killed
// and keeps imageNames in step with containerd's images. It subscribes again when the stream
// breaks (containerd restarted), after half a second.
func (c *Containerd) watchEvents(ctx context.Context) {
	for round := 0; ctx.Err() == nil; round++ {
		c.followEvents(ctx, strconv.FormatInt(time.Now().UnixNano(), 36)+"-"+strconv.Itoa(round))
		c.names.setLive(false)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// followEvents reads one subscription until it breaks; probe names this subscription's probe.
func (c *Containerd) followEvents(ctx context.Context, probe string) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs, errs := c.client.Subscribe(sctx, eventFilters...)
	probed := make(chan struct{})
	go c.publishProbes(sctx, probe, probed)
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-errs:
			if err != nil && ctx.Err() == nil {
				c.log.V(1).Info("containerd event stream broke, resubscribing", "error", err.Error())
			}
			return
		case e := <-evs:
			switch {
			case e.Topic == probeTopic:
				if isProbe(e, probe) {
					select {
					case <-probed:
					default:
						close(probed)
						c.names.setLive(true)
					}
				}
			case strings.HasPrefix(e.Topic, "/images/"):
				c.names.changed()
			default:
				c.recordOOM(e.Event)
			}
		}
	}
}

// publishProbes publishes the probe named probe every probeEvery until probed is closed (it came
// back) or probeTries were published; then it cancels nothing: a subscription whose probe never
// comes back serves the OOM records still, and the image names are looked up every time.
func (c *Containerd) publishProbes(ctx context.Context, probe string, probed <-chan struct{}) {
	for range probeTries {
		if err := c.client.EventService().Publish(ctx, probeTopic, &apievents.ImageUpdate{Name: probe}); err != nil && ctx.Err() == nil {
			c.log.V(1).Info("publishing the event-stream probe failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-probed:
			return
		case <-time.After(probeEvery):
		}
	}
	c.log.Info("containerd's event stream did not deliver the runtime's probe; image names are looked up on every start", "tries", probeTries)
}

// isProbe reports whether the event is the probe named probe.
func isProbe(e *events.Envelope, probe string) bool {
	v, err := typeurl.UnmarshalAny(e.Event)
	if err != nil {
		return false
	}
	u, ok := v.(*apievents.ImageUpdate)
	return ok && u.Name == probe
}
