package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd"
	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/typeurl/v2"
	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	"k8s.io/utils/lru"

	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/containerdproc"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// Namespace is the containerd namespace every task container lives in.
const Namespace = "nodeless"

const (
	snapshotter = "overlayfs"
	runtimeName = "io.containerd.runc.v2"
)

// ContainerdOptions configures the containerd runtime.
type ContainerdOptions struct {
	// StateDir is nodeless's state directory; containerd lives under StateDir/containerd, network
	// namespaces under StateDir/netns, logs under StateDir/logs.
	StateDir string
	// Observer receives every change of a task's state.
	Observer Observer
	Logger   logr.Logger
	// ContainerdBin is the containerd executable; default "containerd" from PATH.
	ContainerdBin string
	// RuncBin is the runc executable; default "runc" from PATH.
	RuncBin string
	// PullTimeout bounds an image pull; default 2 minutes.
	PullTimeout time.Duration
	// VPC is the local VPC that tasks with a TaskSpec.Network join; nil when there is none (such
	// tasks then fail to start, saying so).
	VPC *vpc.VPC
	// Resolver is a DNS server in the VPC that answers every name (nodeless's service DNS, which
	// forwards what it does not serve to the host's resolvers); every task on the VPC then names
	// it as its only nameserver. Zero: tasks name the host's nameservers, loopback ones replaced by
	// slirp4netns's forwarder (vpc.Nameserver).
	Resolver netip.Addr
	// LogBinary is the containers' logging binary: the containerd shim runs `LogBinary log PATH`
	// for each container process (containerd's binary:// logging) and it writes the process's
	// stdout and stderr to PATH (LogPath) in the CRI log format, with a time per line (package
	// crilog; the nodeless-agent is one). Empty: the shim appends the raw output to PATH
	// (cio.LogFile), without times, and may lose stderr written after stdout closed (containerd
	// 1.x's shim closes the file the two streams share when stdout ends).
	LogBinary string
	// LocalImages are the images the runtime makes instead of pulling, by full reference
	// (docker.io/library/... form, as containerd names images): the nodeless agent's.
	LocalImages map[string]LocalImage
	// SpareNamespaces is how many ready task namespaces, joined to the VPC, the runtime keeps for
	// the next starts (vpc.Spares), made while no task starts (or none has moved for
	// spareHoldLimit); 0: none (each start makes its own). Needs VPC. Whatever the size, the runtime
	// removes the spares an earlier process left once the VPC is ready (vpc.Spares.Sweep).
	SpareNamespaces int
}

// Containerd runs tasks as OCI containers on a private containerd with runc. It implements Runtime
// and component.Component: Run starts and supervises containerd and blocks; Ready is closed once the
// client is connected. Runtime calls wait for Ready.
//
// Under StateDir:
//
//	containerd/            the daemon's config.toml, socket, pid file, log, root, state, opt, runc/
//	netns/<task>           the task's network namespace (bind mount), shared by its containers; its
//	                       eth0 joins the VPC (package vpc, whose own namespace is netns/vpc)
//	netns/spare-<hex>      a ready namespace of the pool (SpareNamespaces, vpc.Spares)
//	tasks/<task>/          generated resolv.conf, hosts, hostname; volumes/<name> (ephemeral volumes)
//	logs/<task>/<ctr>.log  stdout and stderr of each container, written by the shim (see LogPath)
//
// Containers live in containerd namespace "nodeless" with IDs "<task ID>-<container name>" (see
// containerID), so a repeated Start finds them instead of creating them again. Port mappings are
// served by proxies in this process, listening on 127.0.0.1 and dialing 127.0.0.1:containerPort
// inside the task's namespace from the client's own port where it is free there, so the
// application sees the client's address; the proxies end with the process and Attach opens them
// again on the recorded ports.
type Containerd struct {
	opts  ContainerdOptions
	sup   *containerdproc.Supervisor
	log   logr.Logger
	ready chan struct{}

	// Set before ready is closed.
	client *containerd.Client
	runCtx context.Context

	mu    sync.Mutex
	tasks map[string]*task
	oom   map[string]bool // containerd IDs that the kernel OOM-killed
	// unpacked holds the digests of images known to be unpacked for the snapshotter.
	unpacked map[string]bool
	// configs holds, by image target digest, the config descriptor with its blob (knownConfig):
	// the knownConfigs targets used last.
	configs *lru.Cache
	// names is what image names lead to, while containerd's image events are followed.
	names imageNames

	// shimSearches counts the searches for forgotten shims (killForgottenShims), for tests.
	shimSearches atomic.Uint64

	// spares is the pool of ready task namespaces (nil without a VPC; of size 0, it only sweeps an
	// earlier process's spares); starting counts the starts under way (beginStart), startsChanged
	// wakes the pool's refill when one begins or ends, and startMoved is when a start last began
	// or one of its containers passed its start (Unix nanoseconds).
	spares        *vpc.Spares
	starting      atomic.Int32
	startsChanged chan struct{}
	startMoved    atomic.Int64

	// localMu serialises making local images; localDigests records what each holds.
	localMu      sync.Mutex
	localDigests map[string]string
}

var _ Runtime = (*Containerd)(nil)

// NewContainerd returns the runtime; nothing starts before Run.
func NewContainerd(opts ContainerdOptions) (*Containerd, error) {
	if opts.StateDir == "" {
		return nil, errors.New("containerd runtime: StateDir is required")
	}
	dir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("containerd runtime: resolving %s: %w", opts.StateDir, err)
	}
	opts.StateDir = dir
	if opts.Observer == nil {
		opts.Observer = func(string, TaskState) {}
	}
	if opts.RuncBin == "" {
		opts.RuncBin = "runc"
	}
	if p, err := exec.LookPath(opts.RuncBin); err == nil {
		opts.RuncBin = p
	}
	if opts.PullTimeout == 0 {
		opts.PullTimeout = 2 * time.Minute
	}
	c := &Containerd{}
	sup, err := containerdproc.New(containerdproc.Options{
		Dir:       ContainerdDir(dir),
		Binary:    opts.ContainerdBin,
		Logger:    opts.Logger.WithName("containerd"),
		OnRunning: c.reconnect,
	})
	if err != nil {
		return nil, err
	}
	*c = Containerd{
		opts:  opts,
		sup:   sup,
		log:   opts.Logger,
		ready: make(chan struct{}),
		tasks: map[string]*task{},
		oom:   map[string]bool{},

		unpacked:      map[string]bool{},
		configs:       lru.New(knownConfigs),
		localDigests:  map[string]string{},
		startsChanged: make(chan struct{}, 1),
	}
	if opts.VPC != nil {
		c.spares = vpc.NewSpares(dir, opts.VPC, opts.SpareNamespaces)
	}
	return c, nil
}

// reconnect makes the client connect to a restarted containerd at once: gRPC otherwise waits out
// its reconnect backoff (1 s, growing to 3 s after repeated failures), during which every call
// fails as unavailable.
func (c *Containerd) reconnect() {
	if client := c.Client(); client != nil {
		client.Conn().ResetConnectBackoff()
	}
}

// ContainerdDir is where the private containerd of stateDir keeps its config, socket and data.
func ContainerdDir(stateDir string) string { return filepath.Join(stateDir, "containerd") }

// Name implements component.Component.
func (c *Containerd) Name() string { return "containerd-runtime" }

// Ready is closed once containerd answers and the client is connected.
func (c *Containerd) Ready() <-chan struct{} { return c.ready }

// Address is the private containerd's gRPC socket.
func (c *Containerd) Address() string { return c.sup.Address() }

// Client is the connected containerd client (nil before Ready).
func (c *Containerd) Client() *containerd.Client {
	select {
	case <-c.ready:
		return c.client
	default:
		return nil
	}
}

// Run supervises containerd and the tasks until ctx ends. Containers keep running afterwards; a new
// Containerd on the same StateDir re-attaches to them.
func (c *Containerd) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.sup.Run(gctx) })
	g.Go(func() error { return c.serve(gctx) })
	if c.spares != nil {
		g.Go(func() error { c.refillSpares(gctx); return nil })
	}
	return g.Wait()
}

func (c *Containerd) serve(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-c.sup.Ready():
	}
	client, err := containerd.New(c.sup.Address(), containerd.WithDefaultNamespace(Namespace),
		containerd.WithDefaultRuntime(runtimeName), containerd.WithTimeout(30*time.Second))
	if err != nil {
		return fmt.Errorf("connecting to containerd: %w", err)
	}
	defer func() { _ = client.Close() }()
	c.client, c.runCtx = client, ctx
	go c.watchEvents(ctx)
	close(c.ready)
	<-ctx.Done()
	c.shutdown()
	return nil
}

// shutdown closes the port proxies; the containers keep running.
func (c *Containerd) shutdown() {
	c.mu.Lock()
	tasks := make([]*task, 0, len(c.tasks))
	for _, t := range c.tasks {
		tasks = append(tasks, t)
	}
	c.mu.Unlock()
	for _, t := range tasks {
		t.detach()
	}
}

// wait blocks until the client is connected.
func (c *Containerd) wait(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for containerd: %w", ctx.Err())
	}
}

// recordOOM records a container the kernel OOM-killed (a /tasks/oom event of watchEvents).
func (c *Containerd) recordOOM(ev typeurl.Any) {
	v, err := typeurl.UnmarshalAny(ev)
	if err != nil {
		return
	}
	if oom, ok := v.(*apievents.TaskOOM); ok {
		c.mu.Lock()
		c.oom[oom.ContainerID] = true
		c.mu.Unlock()
	}
}

func (c *Containerd) oomKilled(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.oom[id]
}

func (c *Containerd) getTask(id string) *task {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tasks[id]
}
