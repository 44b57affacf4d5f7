package dataplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/distribution/reference"
	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/agentimage"
	"github.com/nodeless-dev/nodeless/internal/component"
	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/connectproxy"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/elbv2"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/scheduler"
	"github.com/nodeless-dev/nodeless/internal/dataplane/secretstore"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/throttle"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Defaults of Options.
const (
	DefaultAddress = "127.0.0.1:8944"
	DefaultRegion  = "us-east-1"
	DefaultAccount = "000000000000"
)

// Options configures the data plane.
type Options struct {
	// StateDir holds the credentials, the store and the private containerd (required).
	StateDir string
	// Address is where the ECS API listens (default 127.0.0.1:8944; port 0 picks a free port).
	Address string
	// Region and Account appear in ARNs; clients must sign for Region.
	Region  string
	Account string
	Logger  logr.Logger
	// ContainerdBin is the containerd executable (default "containerd" from PATH).
	ContainerdBin string
	// VPCCIDR is the local VPC's subnet, from which every task gets its address (default
	// ipam.DefaultCIDR, 10.244.0.0/16). It can change only while no task holds an address.
	VPCCIDR string
	// Slirp4netnsBin is the VPC uplink's executable (default "slirp4netns" from PATH).
	Slirp4netnsBin string
	// AgentImage is the reference by which tasks name the nodeless agent's image (the
	// nodeless-files init container of Pods with configMap, secret, downwardAPI or projected
	// volumes); default agentimage.LocalRef("dev"). The data plane makes it from AgentBinary the
	// first time a task names it, instead of pulling it.
	AgentImage string
	// AgentBinary is the nodeless-agent executable (default: beside the running executable). A
	// missing binary fails only the tasks that name AgentImage, with a message that says how to
	// build it.
	AgentBinary string
	// SpareNamespaces is how many ready task namespaces, joined to the VPC, the runtime keeps for
	// the next starts, made while no task starts (runtime.ContainerdOptions.SpareNamespaces);
	// 0: DefaultSpareNamespaces, negative: none.
	SpareNamespaces int
	// HealthyAfterRunning is how long a service task without an essential container health check
	// must be RUNNING before it counts as healthy: toward minimumHealthyPercent, to complete a
	// rollout and to reset the circuit breaker (default scheduler.DefaultHealthyAfterRunning, ECS's
	// 40 s; shorter for impatient local use, at the price of rollouts that trust tasks sooner than
	// ECS would).
	HealthyAfterRunning time.Duration
	// Throttle, when set, throttles the ECS API with these buckets as ECS does
	// (ecsapi.DefaultLimits(): ECS's own; package throttle). Nil: no throttling.
	Throttle *ecsapi.Limits
	// Resolver is the address of a DNS server in the VPC that answers every name (under `nodeless
	// up`: nodeless's service DNS on the VPC's gateway, which forwards the rest to the host's
	// resolvers); every task's resolv.conf then names it. Zero: the host's nameservers, loopback
	// ones replaced by slirp4netns's forwarder 10.0.2.3 (ADR 0008). It must be the VPC's gateway
	// or an address of its subnet.
	Resolver netip.Addr
	// FargateStrict applies Fargate's rules where the data plane could do without them (api.Options.Strict):
	// awsvpc tasks and services need networkConfiguration, as on ECS.
	FargateStrict bool
	// ServiceConnectCIDR is the IPv4 range the virtual addresses of Service Connect client
	// aliases come from (default cloudmap.DefaultAliasCIDR, 10.0.1.0/24): made local to the VPC's
	// namespace, where the Service Connect proxy listens (package connectproxy). It must not
	// overlap the VPC's subnet; under `nodeless up`, nor the Service range. Aliases holding
	// addresses outside a new range get new ones at start.
	ServiceConnectCIDR string
}

// DataPlane is the running local data plane. It implements component.Component.
type DataPlane struct {
	opts      Options
	creds     aws.Credentials
	credsFile string
	store     *store.Store
	vpc       *vpc.VPC
	runtime   *runtime.Containerd
	scheduler *scheduler.Scheduler
	balancer  *elbv2.Balancer
	connect   *connectproxy.Proxy
	listener  net.Listener
	server    *http.Server
	conns     *unusedConns
	ready     chan struct{}
	log       logr.Logger
}

var _ component.Component = (*DataPlane)(nil)

// The scheduler assigns a new task's VPC address in RunTask's transaction.
var _ api.TaskPreparer = (*scheduler.Scheduler)(nil)

// New prepares the data plane: state dir, credentials, store, runtime, scheduler, API server, and
// the bound listener. Nothing runs before Run. Close releases what New took if Run is never called.
func New(opts Options) (*DataPlane, error) {
	opts = withDefaults(opts)
	if opts.StateDir == "" {
		return nil, errors.New("data plane: StateDir is required")
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state dir %s: %w", opts.StateDir, err)
	}
	d := &DataPlane{opts: opts, ready: make(chan struct{}), log: opts.Logger,
		credsFile: filepath.Join(opts.StateDir, "credentials")}
	var err error
	if d.creds, err = credentials.LoadOrCreate(d.credsFile); err != nil {
		return nil, err
	}
	subnet, err := ipam.ParseSubnet(opts.VPCCIDR)
	if err != nil {
		return nil, fmt.Errorf("VPC subnet (--vpc-cidr): %w", err)
	}
	if r := opts.Resolver; r.IsValid() && !subnet.Prefix().Contains(r) {
		return nil, fmt.Errorf("data plane: the resolver %s is outside the VPC's subnet %s; use an address of it, such as its gateway %s", r, subnet, subnet.Gateway())
	}
	if d.store, err = store.Open(filepath.Join(opts.StateDir, "state.db")); err != nil {
		return nil, err
	}
	if err := d.store.Update(subnet.Adopt); err != nil {
		_ = d.store.Close()
		return nil, err
	}
	aliases, err := adoptAliasRange(d.store, opts.ServiceConnectCIDR, subnet)
	if err != nil {
		_ = d.store.Close()
		return nil, err
	}
	if err := d.wire(subnet, aliases); err != nil {
		_ = d.store.Close()
		return nil, err
	}
	if d.listener, err = listen(opts.Address); err != nil {
		_ = d.store.Close()
		return nil, err
	}
	return d, nil
}

func withDefaults(o Options) Options {
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.VPCCIDR == "" {
		o.VPCCIDR = ipam.DefaultCIDR
	}
	if o.AgentImage == "" {
		o.AgentImage = agentimage.LocalRef("dev")
	}
	if o.ServiceConnectCIDR == "" {
		o.ServiceConnectCIDR = cloudmap.DefaultAliasCIDR
	}
	return o
}

// aliasRanges are the Service Connect alias range to serve and the one served before (invalid
// when none was, or the same).
type aliasRanges struct{ current, previous netip.Prefix }

// adoptAliasRange checks the Service Connect alias range cidr against the VPC's subnet and makes
// it the store's (aliases holding addresses outside it get new ones).
func adoptAliasRange(st *store.Store, cidr string, subnet ipam.Subnet) (aliasRanges, error) {
	r := aliasRanges{}
	var err error
	if r.current, err = cloudmap.ParseAliasRange(cidr, subnet.Prefix()); err != nil {
		return r, fmt.Errorf("service connect range (--service-connect-cidr): %w", err)
	}
	err = st.Update(func(tx *store.Tx) error {
		var err error
		r.previous, err = cloudmap.AdoptAliasRange(tx, r.current)
		return err
	})
	return r, err
}

// wire builds the VPC, the runtime, the scheduler, the Service Connect proxy and the API server
// around the store.
func (d *DataPlane) wire(subnet ipam.Subnet, aliases aliasRanges) error {
	arns := model.ARNs{Region: d.opts.Region, Account: d.opts.Account}
	v, err := vpc.New(vpc.Options{
		StateDir: d.opts.StateDir, Subnet: subnet, Slirp4netnsBin: d.opts.Slirp4netnsBin, Logger: d.log.WithName("vpc"),
	})
	if err != nil {
		return fmt.Errorf("preparing the VPC: %w", err)
	}
	var sched *scheduler.Scheduler
	agentRef, err := reference.ParseDockerRef(d.opts.AgentImage)
	if err != nil {
		return fmt.Errorf("agent image %q: %w", d.opts.AgentImage, err)
	}
	rt, err := runtime.NewContainerd(runtime.ContainerdOptions{
		StateDir:    d.opts.StateDir,
		LocalImages: map[string]runtime.LocalImage{agentRef.String(): agentimage.NewSource(d.opts.AgentImage, d.opts.AgentBinary)},
		// sched is set below, before anything runs; the runtime observes only once Run started.
		Observer:      func(taskID string, st runtime.TaskState) { sched.Observe(taskID, st) },
		Logger:        d.log.WithName("runtime"),
		ContainerdBin: d.opts.ContainerdBin,
		VPC:           v,
		Resolver:      d.opts.Resolver,
		LogBinary:     d.logBinary(),

		SpareNamespaces: spareNamespaces(d.opts.SpareNamespaces),
	})
	if err != nil {
		return fmt.Errorf("preparing the container runtime: %w", err)
	}
	// One secret store serves the Secrets Manager API and resolves tasks' secrets at start.
	secrets := secretstore.New(d.store, arns, clock.RealClock{})
	// The local ELBv2 API's load balancers: listeners on 127.0.0.1, targets in the VPC (elbv2).
	d.balancer = elbv2.NewBalancer(elbv2.Options{Store: d.store, Dial: v.Dial, Subnet: subnet.Prefix(),
		Logger: d.log.WithName("elbv2"), Changed: func(cluster, id string) { sched.TargetChanged(cluster, id) }})
	sched = scheduler.New(scheduler.Options{
		Store: d.store, Runtime: rt, ARNs: arns, Secrets: secrets, Clock: clock.RealClock{}, Logger: d.log.WithName("scheduler"),
		Subnet: subnet, HealthyAfterRunning: d.opts.HealthyAfterRunning, TargetHealth: d.balancer, Targets: d.balancer,
	})
	handler := api.NewServer(api.Options{
		Store: d.store, Engine: sched, ARNs: arns, Secrets: secrets, Credentials: d.creds, Logger: d.log.WithName("api"),
		Clock: clock.RealClock{}, Strict: d.opts.FargateStrict, LoadBalancers: elbv2.NewAPI(d.store, arns, d.balancer),
	})
	d.connect, err = connectproxy.New(connectproxy.Options{Store: d.store, VPC: v, Dial: v.Dial,
		Range: aliases.current, Previous: aliases.previous, Logger: d.log.WithName("serviceconnect")})
	if err != nil {
		return err
	}
	d.vpc, d.runtime, d.scheduler = v, rt, sched
	d.conns = &unusedConns{}
	h := handler
	if d.opts.Throttle != nil {
		h = throttle.New(handler, *d.opts.Throttle)
	}
	d.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: d.conns.track}
	return nil
}

// DefaultSpareNamespaces is how many ready task namespaces the data plane keeps by default: a
// namespace and its veth pair made beforehand take 4–5 % off a start sequentially and 3–7 % with 50
// at once on two cores (bench/README.md, "Faster starts, sixth pass"); eight cover a burst of eight
// starts, and cost eight idle namespaces.
const DefaultSpareNamespaces = 8

func spareNamespaces(n int) int {
	switch {
	case n == 0:
		return DefaultSpareNamespaces
	case n < 0:
		return 0
	}
	return n
}

// logBinary is the containers' logging binary (runtime.ContainerdOptions.LogBinary): the
// nodeless-agent (AgentBinary, or the one beside the executable), whose CRI-format logs give
// `kubectl logs` its --timestamps and --since. Without it (a build without the agent) the shim
// writes raw logs, which lose what a container writes to stderr after its stdout closes
// (containerd 1.x's shim closes the file the two share when stdout ends), and the data plane
// says so once.
func (d *DataPlane) logBinary() string {
	bin := d.opts.AgentBinary
	if bin == "" {
		bin = agentimage.DefaultBinary()
	}
	abs, err := filepath.Abs(bin)
	if err == nil {
		_, err = os.Stat(abs)
	}
	if err != nil {
		d.log.Info("no nodeless-agent to write container logs with: logs have no timestamps and may lose the end of stderr; build it with make build or pass --agent-binary", "agentBinary", bin, "error", err.Error())
		return ""
	}
	return abs
}

// listen binds the API's address, with a clear message when the port is taken.
func listen(address string) (net.Listener, error) {
	l, err := net.Listen("tcp", address)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("address %s is already in use: another nodeless data plane may be running; stop it or pass another --address", address)
	}
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", address, err)
	}
	return l, nil
}

// Preflight returns why the data plane cannot run containers here — not root, or containerd, its
// runc shim, runc or slirp4netns (the VPC's uplink) missing from PATH — or nil.
func Preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("the local data plane runs containers with containerd and runc, which needs root: run it as root (sudo)")
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "slirp4netns"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not on PATH: install containerd, runc and slirp4netns (apt-get install containerd runc slirp4netns): %w", bin, err)
		}
	}
	return nil
}

// Name implements component.Component.
func (d *DataPlane) Name() string { return "dataplane" }

// Ready is closed once the API serves requests (after the VPC is up, the runtime connected and the
// scheduler recovered from the store).
func (d *DataPlane) Ready() <-chan struct{} { return d.ready }

// Endpoint is the API's URL, e.g. http://127.0.0.1:8944 (on loopback when it listens on every
// address).
func (d *DataPlane) Endpoint() string {
	addr := d.listener.Addr()
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
	}
	return "http://" + addr.String()
}

// Credentials are the only credentials whose signatures the API accepts.
func (d *DataPlane) Credentials() aws.Credentials { return d.creds }

// CredentialsFile is the shared-credentials file holding them (profile nodeless).
func (d *DataPlane) CredentialsFile() string { return d.credsFile }

// Region is the region clients must sign for.
func (d *DataPlane) Region() string { return d.opts.Region }

// AgentImage is the reference of the nodeless agent's image, which the data plane makes itself.
func (d *DataPlane) AgentImage() string { return d.opts.AgentImage }

// Runtime is the containerd runtime (for image loading and tests).
func (d *DataPlane) Runtime() *runtime.Containerd { return d.runtime }

// Commits is how many write transactions the store has committed (the start benchmark counts them
// per task).
func (d *DataPlane) Commits() uint64 { return d.store.Commits() }

// VPC is the local VPC every task joins.
func (d *DataPlane) VPC() *vpc.VPC { return d.vpc }

// Dial connects to a task's address in the VPC, address "IP:port" (the task's privateIPv4Address as
// DescribeTasks reports it in its ENI attachment, and a port it listens on), over network "tcp" or
// "udp": the way the nodeless process reaches Pods for probes and port forwarding. The connection
// comes from inside the VPC's namespace, from the gateway's address. It waits for the VPC to be
// ready (bounded by ctx), and fails for an address outside the VPC's subnet.
func (d *DataPlane) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return d.vpc.Dial(ctx, network, address)
}

// Run runs the runtime, the scheduler and the API server until ctx ends or one of them fails. It
// closes the store when everything has stopped; running containers keep running and are
// re-attached by the next Run on the same state dir.
func (d *DataPlane) Run(ctx context.Context) error {
	err := d.run(ctx)
	if cerr := d.store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("closing the store: %w", cerr))
	}
	return err
}

func (d *DataPlane) run(ctx context.Context) error {
	if !isLoopback(d.listener.Addr()) {
		d.log.Info("the ECS API listens beyond loopback: anyone who reaches it with the credentials can run containers as this user", "address", d.listener.Addr().String())
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return named("VPC", d.vpc.Run(gctx)) })
	g.Go(func() error { return named("container runtime", d.runtime.Run(gctx)) })
	g.Go(func() error {
		if !waitReady(gctx, d.vpc) || !waitReady(gctx, d.runtime) {
			return nil
		}
		return named("scheduler", d.scheduler.Run(gctx))
	})
	g.Go(func() error {
		if !waitReady(gctx, d.vpc) {
			return nil
		}
		return named("load balancer", d.balancer.Run(gctx))
	})
	g.Go(func() error {
		if !waitReady(gctx, d.vpc) {
			return nil
		}
		return named("service connect proxy", d.connect.Run(gctx))
	})
	g.Go(func() error { return d.serve(gctx) })
	return g.Wait()
}

func (d *DataPlane) serve(ctx context.Context) error {
	if !waitReady(ctx, d.scheduler) {
		_ = d.listener.Close()
		return nil
	}
	errc := make(chan error, 1)
	go func() { errc <- d.server.Serve(d.listener) }()
	close(d.ready)
	d.writeRunInfo()
	defer d.removeRunInfo()
	d.log.Info("ECS API serving", "endpoint", d.Endpoint(), "credentials", d.credsFile)
	select {
	case err := <-errc:
		return named("ECS API server", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.conns.shutdown(shutdownCtx, d.server); err != nil {
		return named("ECS API server shutdown", err)
	}
	return nil
}

// Close releases the listener and the store of a data plane whose Run was never called.
func (d *DataPlane) Close() error {
	_ = d.listener.Close()
	return d.store.Close()
}

func waitReady(ctx context.Context, c component.Component) bool {
	select {
	case <-c.Ready():
		return true
	case <-ctx.Done():
		return false
	}
}

func named(what string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
