package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/component"
	"github.com/nodeless-dev/nodeless/internal/crdinstall"
)

// ExtrasFunc builds the components that run on top of the control plane: nodeless's controllers,
// the local data plane, the virtual node, anything else. It is called once the API server is
// ready, the CRDs are installed, the controller-manager and the scheduler run and DaemonSets are
// refused; cfg is an admin (system:masters) client config and stateDir the control plane's state
// dir, under which extras may keep their own state (each in its own sub-directory); the PKI files
// there (CAFile, KubeletServingCert, APIServerKubeletClientCert) exist by then, and the virtual
// node serves its kubelet API with KubeletAPITLSConfig(ctx, stateDir). The components are started
// in the order returned, each one waited ready before the next, and stopped in reverse order
// before the control plane.
type ExtrasFunc func(cfg *rest.Config, stateDir string) ([]component.Component, error)

// UpOptions configures Up.
type UpOptions struct {
	Config
	// CRDs are CustomResourceDefinition manifests (YAML, several documents allowed) installed or
	// updated after the API server is ready and before the controller-manager and extras start.
	CRDs [][]byte
	// Extras, when set, adds components after the control plane; see ExtrasFunc.
	Extras ExtrasFunc
	// Progress receives one line per component as it becomes ready, and one as it stops. Nil
	// discards them.
	Progress io.Writer
	// OnReady, when set, is called once every component is ready, with the admin client config.
	OnReady func(cfg *rest.Config)
	// LogVerbosity is klog's -v for the embedded Kubernetes components (their logs go to
	// LogPath(StateDir)).
	LogVerbosity int
	// LogRotation bounds LogPath(StateDir) by size (default 20 MiB, 5 old files).
	LogRotation LogRotation
	// Checks run before anything starts, after Up's own checks (state dir, ports). Use them to
	// fail fast with a clear message when an extra cannot run, e.g. containerd is missing; the
	// error is shown as is, so say how to fix it.
	Checks []func() error
}

// stopTimeout bounds how long one component may take to stop before Up gives up waiting for it.
const stopTimeout = 15 * time.Second

// upStarted makes Up refuse to run twice in one process: kube-apiserver and
// kube-controller-manager keep process-wide state (feature gates, the component registry,
// metrics registries, klog) that is not meant to be set up a second time. Up to Kubernetes 1.34,
// building the controller-manager's flags a second time panicked (see newComponentOptions); 1.37
// builds them twice, but running the components twice in one process is neither supported
// upstream nor tested here.
var upStarted atomic.Bool

// ErrAlreadyStarted is returned by Up when a control plane already ran in this process.
var ErrAlreadyStarted = errors.New("a control plane already ran in this process; the embedded kube-apiserver can run once per process")

// Up runs the control plane described by o until ctx is cancelled or a component fails: etcd,
// kube-apiserver, the cluster objects (see applyClusterObjects), the CRDs,
// kube-controller-manager, kube-scheduler, the certificate renewal, then o.Extras once DaemonSets
// are refused. It prints progress to o.Progress, writes the admin kubeconfig to
// KubeconfigPath(o.StateDir), and on return has stopped every component it started, in reverse
// order. It returns nil after a clean stop caused by ctx, also when ctx ends while the components
// start (it prints which one it was starting).
func Up(ctx context.Context, o UpOptions) error {
	if upStarted.Load() {
		return ErrAlreadyStarted
	}
	o.Config = o.withDefaults()
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	lock, err := preflight(o.Config)
	if err != nil {
		return err
	}
	defer func() { _ = lock.Close() }() // releases the flock; nothing to do if that fails
	for _, check := range o.Checks {
		if err := check(); err != nil {
			return err
		}
	}
	// From here on process-wide state is touched: no second control plane in this process.
	if !upStarted.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	logs, err := openLog(LogPath(o.StateDir), o.LogRotation)
	if err != nil {
		return err
	}
	defer func() { _ = logs.Close() }() // the log file; nothing to do if that fails
	if err := redirectKlog(logs, o.LogVerbosity); err != nil {
		return err
	}
	redirectContainerdLog(logs)

	start := time.Now()
	cp, err := prepare(o.Config)
	if err != nil {
		return err
	}
	cp.etcd.logOut = logs // etcd follows the rotation of the same file
	fmt.Fprintf(o.Progress, "  %-26s ready in %s\n", "certificates, kubeconfig", since(start))
	s := newSupervisor(o.Progress)
	err = startAll(ctx, s, cp, o)
	if err == nil {
		fmt.Fprintf(o.Progress, "ready in %s: Kubernetes API at %s\n", since(start), o.apiServerURL())
		if o.OnReady != nil {
			o.OnReady(rest.CopyConfig(cp.admin))
		}
		err = s.wait(ctx)
	}
	if errors.Is(err, errInterrupted) && ctx.Err() != nil { // stopped while starting: no failure
		fmt.Fprintln(o.Progress, err.Error())
		err = nil
	}
	if err = errors.Join(err, s.stopAll()); err != nil {
		return fmt.Errorf("%w (logs: %s)", err, LogPath(o.StateDir))
	}
	return nil
}

func startAll(ctx context.Context, s *supervisor, cp *prepared, o UpOptions) error {
	for _, c := range []component.Component{cp.etcd, cp.apiServer} {
		if err := s.start(ctx, c); err != nil {
			return err
		}
	}
	client, err := kubernetes.NewForConfig(cp.admin)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	if err := s.step(ctx, "policies, rbac", func() error { return applyClusterObjects(ctx, client) }); err != nil {
		return err
	}
	if len(o.CRDs) > 0 {
		if err := s.step(ctx, "crds", func() error { return crdinstall.Install(ctx, cp.admin, o.CRDs) }); err != nil {
			return err
		}
	}
	for _, c := range []component.Component{cp.manager, cp.scheduler, cp.renewer} {
		if err := s.start(ctx, c); err != nil {
			return err
		}
	}
	// Last, so that the API server's once-a-second policy refresh overlaps the steps above.
	if err := s.step(ctx, "daemonsets refused", func() error { return waitDaemonSetsRefused(ctx, client) }); err != nil {
		return err
	}
	return startExtras(ctx, s, cp, o)
}

func startExtras(ctx context.Context, s *supervisor, cp *prepared, o UpOptions) error {
	if o.Extras == nil {
		return nil
	}
	extras, err := o.Extras(rest.CopyConfig(cp.admin), o.StateDir)
	if err != nil {
		return fmt.Errorf("building components: %w", err)
	}
	for _, c := range extras {
		if err := s.start(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// prepared is the control plane, ready to start.
type prepared struct {
	admin     *rest.Config
	etcd      *Etcd
	apiServer *APIServer
	manager   *ControllerManager
	scheduler *Scheduler
	renewer   *certRenewer
}

// prepare creates or loads the PKI, writes the kubeconfigs and builds the components.
func prepare(cfg Config) (*prepared, error) {
	p, err := EnsurePKI(pkiDir(cfg.StateDir))
	if err != nil {
		return nil, err
	}
	server := cfg.apiServerURL()
	if err := writeKubeconfig(KubeconfigPath(cfg.StateDir), server, p.CACert, p.AdminCert, p.AdminKey); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(managerKubeconfig(cfg.StateDir), server, p.CACert, p.ManagerCert, p.ManagerKey); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(schedulerKubeconfig(cfg.StateDir), server, p.CACert, p.SchedulerCert, p.SchedulerKey); err != nil {
		return nil, err
	}
	admin, err := RESTConfigFromKubeconfig(KubeconfigPath(cfg.StateDir))
	if err != nil {
		return nil, err
	}
	opts, err := newComponentOptions(cfg, p)
	if err != nil {
		return nil, err
	}
	return &prepared{
		admin:     admin,
		etcd:      NewEtcd(cfg, p, LogPath(cfg.StateDir)),
		apiServer: newAPIServer(opts.apiServer, admin),
		manager:   newControllerManager(opts.manager, cfg.Controllers, admin, managerKubeconfig(cfg.StateDir)),
		scheduler: newScheduler(opts.scheduler),
		renewer:   newCertRenewer(p),
	}, nil
}

func since(t time.Time) string { return time.Since(t).Round(10 * time.Millisecond).String() }
