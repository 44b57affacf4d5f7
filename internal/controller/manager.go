// Package controller assembles nodeless's controllers into one controller-runtime manager and
// exposes it as a component.Component, so that `nodeless up` runs it beside the API server and
// the local data plane, and `nodeless controller` runs it alone against any cluster.
package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/config/crd"
	"github.com/nodeless-dev/nodeless/internal/cloudmapapi"
	"github.com/nodeless-dev/nodeless/internal/component"
	"github.com/nodeless-dev/nodeless/internal/controller/awsservice"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/cluster"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/service"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/task"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/taskdefinition"
	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/ec2api"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/elbv2api"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
)

// Config configures the controller manager.
type Config struct {
	// RestConfig reaches the Kubernetes API.
	RestConfig *rest.Config
	// ECS is the ECS client; when nil, one is built from ECSOptions (standard AWS configuration
	// chain, optional endpoint override and static credentials).
	ECS        ecsapi.API
	ECSOptions ecsapi.Options
	// Limits of the client-side rate limiter; nil: ECS's documented buckets
	// (ecsapi.DefaultLimits). Use NoRateLimit() for a data plane without limits.
	Limits *ecsapi.Limits
	// Controllers tunes the ECS controllers (deletion policy, revisions kept, poll intervals,
	// read-only, workers); zero fields take the defaults of managed.Options.
	Controllers managed.Options
	// InstallCRDs installs (or upgrades) the ecs.nodeless.dev CRDs in New, before anything reads
	// them, and waits until the API server serves them (Established and listed by discovery): the
	// manager's field indexers and REST mapper need them.
	InstallCRDs bool
	// SyncPeriod is how often every object is reconciled again; 0: DefaultSyncPeriod. At steady
	// state a resync makes no ECS call.
	SyncPeriod time.Duration
	// MetricsAddr serves Prometheus metrics ("0" or "" disables them).
	MetricsAddr string
	// HealthProbeAddr serves /healthz (the process answers) and /readyz (the informers' caches
	// are synced; true on a replica that is not the leader too) ("" disables them).
	HealthProbeAddr string
	// LeaderElection, when set, runs the controllers (and the components of AddLeaderComponents)
	// only in the replica that holds its Lease; nil: they run at once, as under `nodeless up`.
	LeaderElection *LeaderElection
	// GracefulShutdownTimeout bounds how long Run waits, once ctx ends, for in-flight reconciles
	// and leader-only components to return before it releases the Lease and returns;
	// 0: DefaultGracefulShutdownTimeout.
	GracefulShutdownTimeout time.Duration
	// Namespaces limits the controllers to these namespaces; empty: all.
	Namespaces []string
	// AllowRestart lets a second manager run in the same process after the first stopped
	// (controller-runtime refuses duplicate controller names otherwise); for tests.
	AllowRestart bool
	// Pods, when set, runs the Pod controller of a virtual node (internal/controller/pod): the
	// Pods bound to Pods.NodeName run as ECS tasks, and only they are cached. Without
	// Pods.Mirror, the mirror of Secrets and ConfigMaps is built on SecretsManager, its entries
	// scoped by Pods.Cluster.
	Pods *pod.Options
	// SecretsManager is the Secrets Manager client of the Pods' mirror; nil: one built from
	// ECSOptions (the local data plane serves Secrets Manager beside ECS).
	SecretsManager secretsapi.API
	// AWSServices, when it enables anything, runs the controller of Kubernetes Services on AWS
	// (internal/controller/awsservice): network load balancers and Cloud Map names.
	AWSServices *awsservice.Options
	// AWSServiceClients are its ELBv2, Cloud Map and EC2 clients; a nil one is built from
	// ECSOptions' region and credentials with AWSServiceEndpoint as its endpoint ("" is AWS's).
	AWSServiceClients  awsservice.Clients
	AWSServiceEndpoint string
}

// LeaderElection configures the Lease (coordination.k8s.io/v1) that elects the one replica that
// reconciles. The leader renews it every RetryPeriod; a replica that cannot renew it within
// RenewDeadline stops (the process must exit); the others take it over LeaseDuration after the
// last renewal, or at once when the leader released it on a clean stop.
type LeaderElection struct {
	// Namespace and ID name the Lease. Required.
	Namespace, ID string
	// LeaseDuration, RenewDeadline and RetryPeriod; 0: controller-runtime's defaults (15 s,
	// 10 s, 2 s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Defaults of Config (those of the ECS controllers are managed.Options's).
const (
	// DefaultGracefulShutdownTimeout: after SIGTERM, in-flight reconciles get this long to
	// return (within Kubernetes' default terminationGracePeriodSeconds of 30 s).
	DefaultGracefulShutdownTimeout = 20 * time.Second
	// DefaultSyncPeriod: every object is reconciled again this often.
	DefaultSyncPeriod = 10 * time.Minute
	// DefaultQPS and DefaultBurst bound the Kubernetes client when the rest.Config sets no QPS:
	// client-go's own default (5/s) would make 1,000 Services take minutes of status writes.
	DefaultQPS   = 50
	DefaultBurst = 100
)

// NoRateLimit returns Limits that disable the client-side rate limiter (for a data plane
// without ECS's throttling, such as the local one).
func NoRateLimit() *ecsapi.Limits { return &ecsapi.Limits{} }

// Manager is the running controllers, a component.Component.
type Manager struct {
	cfg   Config
	mgr   manager.Manager
	ready chan struct{}
	pods  *pod.Controller
	// awsServices is the AWS service controller, when it runs.
	awsServices *awsservice.Reconciler
}

var _ component.Component = (*Manager)(nil)

// Scheme returns the scheme the controllers use: client-go's kinds and ecs.nodeless.dev.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("building scheme: %w", err)
	}
	if err := ecsv1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("building scheme: %w", err)
	}
	return s, nil
}

// New builds the manager and registers every controller; nothing runs until Run.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.RestConfig == nil {
		return nil, errors.New("controller: no Kubernetes rest.Config")
	}
	api := cfg.ECS
	if api == nil {
		c, err := ecsapi.NewClient(ctx, cfg.ECSOptions)
		if err != nil {
			return nil, err
		}
		api = c
	}
	limits := ecsapi.DefaultLimits()
	if cfg.Limits != nil {
		limits = *cfg.Limits
	}
	api = ecsapi.WithRateLimit(api, limits)

	if cfg.InstallCRDs {
		// Before the manager: its field indexers start informers, which need the kinds served.
		if err := crd.Install(ctx, cfg.RestConfig); err != nil {
			return nil, fmt.Errorf("installing CRDs: %w", err)
		}
	}
	mgr, err := newManager(cfg)
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, mgr: mgr, ready: make(chan struct{})}
	if err := m.register(ctx, api); err != nil {
		return nil, err
	}
	if err := m.addHealthChecks(); err != nil {
		return nil, err
	}
	return m, nil
}

func newManager(cfg Config) (manager.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	sync := cfg.SyncPeriod
	if sync <= 0 {
		sync = DefaultSyncPeriod
	}
	metricsAddr := cfg.MetricsAddr
	if metricsAddr == "" {
		metricsAddr = "0"
	}
	rc := rest.CopyConfig(cfg.RestConfig)
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = DefaultQPS, DefaultBurst
	}
	cacheOpts := cache.Options{SyncPeriod: &sync, DefaultTransform: cacheTransform()}
	if len(cfg.Namespaces) > 0 {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range cfg.Namespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	if cfg.Pods != nil {
		cacheOpts.ByObject = pod.CacheOptions(*cfg.Pods, cfg.Namespaces)
	}
	shutdown := cfg.GracefulShutdownTimeout
	if shutdown <= 0 {
		shutdown = DefaultGracefulShutdownTimeout
	}
	opts := ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOpts,
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  cfg.HealthProbeAddr,
		Controller:              config.Controller{SkipNameValidation: &cfg.AllowRestart},
		GracefulShutdownTimeout: &shutdown,
	}
	if err := leaderElection(cfg.LeaderElection, &opts); err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(rc, opts)
	if err != nil {
		return nil, fmt.Errorf("building controller manager: %w", err)
	}
	return mgr, nil
}

// cacheTransform is applied to every object the informers store (but Pods, which have their own,
// pod.CacheOptions): managed fields are dropped, and the ECS kinds' aliases are moved into the
// members they stand for (managed.NormalizeAliases), so the controllers read one spelling.
func cacheTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(obj any) (any, error) {
		obj, err := strip(obj)
		if err != nil {
			return nil, err
		}
		return managed.NormalizeAliases(obj)
	}
}

// leaderElection sets the manager's options of le (none when le is nil).
func leaderElection(le *LeaderElection, opts *ctrl.Options) error {
	if le == nil {
		return nil
	}
	if le.Namespace == "" || le.ID == "" {
		return errors.New("controller: leader election needs the Lease's namespace and ID")
	}
	opts.LeaderElection = true
	opts.LeaderElectionNamespace, opts.LeaderElectionID = le.Namespace, le.ID
	opts.LeaderElectionResourceLock = resourcelock.LeasesResourceLock
	// A clean stop hands over at once instead of after LeaseDuration; safe because Run returns
	// (and the process exits) only after every leader-only runnable stopped.
	opts.LeaderElectionReleaseOnCancel = true
	for _, d := range []struct {
		v   time.Duration
		dst **time.Duration
	}{{le.LeaseDuration, &opts.LeaseDuration}, {le.RenewDeadline, &opts.RenewDeadline}, {le.RetryPeriod, &opts.RetryPeriod}} {
		if d.v > 0 {
			*d.dst = &d.v
		}
	}
	return nil
}

// addHealthChecks serves /healthz (a ping) and /readyz (the informers' caches synced) when
// Config.HealthProbeAddr is set.
func (m *Manager) addHealthChecks() error {
	if m.cfg.HealthProbeAddr == "" {
		return nil
	}
	if err := m.mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	synced := func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !m.mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("the informers' caches are not synced yet")
		}
		return nil
	}
	if err := m.mgr.AddReadyzCheck("informers", synced); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}
	return nil
}

// AddLeaderComponents runs parts inside the manager, only while this replica leads (at once
// without Config.LeaderElection), and stops them before the Lease is released. An error of one
// stops the manager. Call it before Run.
func (m *Manager) AddLeaderComponents(parts ...component.Component) error {
	for _, p := range parts {
		err := m.mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			if err := p.Run(ctx); err != nil {
				return fmt.Errorf("%s: %w", p.Name(), err)
			}
			return nil
		}))
		if err != nil {
			return fmt.Errorf("adding %s: %w", p.Name(), err)
		}
	}
	return nil
}

// Elected is closed once this replica leads (at once without Config.LeaderElection).
func (m *Manager) Elected() <-chan struct{} { return m.mgr.Elected() }

func (m *Manager) register(ctx context.Context, api ecsapi.API) error {
	if err := indexReferences(ctx, m.mgr); err != nil {
		return err
	}
	opts := m.cfg.Controllers.WithDefaults()
	if err := cluster.Register(m.mgr, api, opts); err != nil {
		return fmt.Errorf("registering cluster controller: %w", err)
	}
	if err := taskdefinition.Register(m.mgr, api, opts); err != nil {
		return fmt.Errorf("registering task definition controller: %w", err)
	}
	if err := service.Register(m.mgr, api, opts); err != nil {
		return err
	}
	if err := task.Register(m.mgr, api, opts); err != nil {
		return err
	}
	// Before the Pods: the AWS service controller withdraws a Pod's address for the Pod controller.
	if err := m.registerAWSServices(ctx); err != nil {
		return err
	}
	return m.registerPods(ctx, api)
}

// registerAWSServices registers the controller of Services on AWS when Config.AWSServices asks
// for it, building the clients it lacks.
func (m *Manager) registerAWSServices(ctx context.Context) error {
	opts := m.cfg.AWSServices
	if opts == nil || !opts.Enabled() {
		return nil
	}
	c, eo, ep := m.cfg.AWSServiceClients, m.cfg.ECSOptions, m.cfg.AWSServiceEndpoint
	if c.ELBv2 == nil && opts.LoadBalancers {
		cl, err := elbv2api.NewClient(ctx, eo, ep)
		if err != nil {
			return fmt.Errorf("building the ELBv2 client: %w", err)
		}
		c.ELBv2 = cl
	}
	if c.EC2 == nil && opts.LoadBalancers {
		cl, err := ec2api.NewClient(ctx, eo, ep)
		if err != nil {
			return fmt.Errorf("building the EC2 client: %w", err)
		}
		c.EC2 = cl
	}
	if c.CloudMap == nil && opts.NamespaceID != "" {
		cl, err := cloudmapapi.NewClient(ctx, eo, ep)
		if err != nil {
			return fmt.Errorf("building the Cloud Map client: %w", err)
		}
		c.CloudMap = cl
	}
	r, err := awsservice.Register(m.mgr, c, *opts)
	if err != nil {
		return fmt.Errorf("registering the AWS service controller: %w", err)
	}
	m.awsServices = r
	return nil
}

// registerPods registers the Pod controller when Config.Pods asks for it.
func (m *Manager) registerPods(ctx context.Context, api ecsapi.API) error {
	if m.cfg.Pods == nil {
		return nil
	}
	opts := m.cfg.Pods.WithDefaults()
	if m.awsServices != nil {
		// A Pod leaves its Services' target groups and Cloud Map names before its task is stopped.
		opts.Withdrawers = append(slices.Clone(opts.Withdrawers), m.awsServices)
	}
	if opts.Mirror == nil {
		sm := m.cfg.SecretsManager
		if sm == nil {
			c, err := secretsapi.NewClient(ctx, m.cfg.ECSOptions)
			if err != nil {
				return fmt.Errorf("building the Secrets Manager client of the pods' mirror: %w", err)
			}
			sm = c
		}
		mirror, err := secretsapi.NewMirror(sm, secretsapi.MirrorOptions{ClusterName: opts.Cluster}, ctrl.Log.WithName("mirror"))
		if err != nil {
			return err
		}
		opts.Mirror = mirror
	}
	c, err := pod.Register(m.mgr, api, opts)
	if err != nil {
		return fmt.Errorf("registering the pod controller: %w", err)
	}
	m.pods = c
	return nil
}

// AWSServices is the controller of Kubernetes Services on AWS (nil when Config.AWSServices does
// not enable it); a pod.Withdrawer.
func (m *Manager) AWSServices() *awsservice.Reconciler { return m.awsServices }

// PodTasks is the Pod controller, which tells the virtual node each Pod's task (nil when
// Config.Pods is not set).
func (m *Manager) PodTasks() *pod.Controller { return m.pods }

// Name of the component.
func (m *Manager) Name() string { return "controllers" }

// Ready is closed once the controllers' caches are in sync and they reconcile.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// Run runs the controllers until ctx ends (with Config.LeaderElection, once this replica leads;
// it returns an error when the replica loses the Lease). After ctx ends it waits up to
// Config.GracefulShutdownTimeout for in-flight reconciles, then releases the Lease.
func (m *Manager) Run(ctx context.Context) error {
	go func() {
		if m.mgr.GetCache().WaitForCacheSync(ctx) {
			<-m.mgr.Elected()
			close(m.ready)
		}
	}()
	if err := m.mgr.Start(ctx); err != nil {
		return fmt.Errorf("running controllers: %w", err)
	}
	return nil
}

// indexReferences indexes Services and Tasks by the Cluster and TaskDefinition they reference, and
// by the ECS cluster they name, so that a change of either wakes exactly the objects that depend
// on it.
func indexReferences(ctx context.Context, mgr manager.Manager) error {
	refs := map[string]func(client.Object) *ecsv1alpha1.LocalObjectReference{
		managed.IndexClusterRef: func(o client.Object) *ecsv1alpha1.LocalObjectReference {
			switch v := o.(type) {
			case *ecsv1alpha1.Service:
				return v.Spec.ClusterRef
			case *ecsv1alpha1.Task:
				return v.Spec.ClusterRef
			}
			return nil
		},
		managed.IndexTaskDefinitionRef: func(o client.Object) *ecsv1alpha1.LocalObjectReference {
			switch v := o.(type) {
			case *ecsv1alpha1.Service:
				return v.Spec.TaskDefinitionRef
			case *ecsv1alpha1.Task:
				return v.Spec.TaskDefinitionRef
			}
			return nil
		},
	}
	for _, obj := range []client.Object{&ecsv1alpha1.Service{}, &ecsv1alpha1.Task{}} {
		err := mgr.GetFieldIndexer().IndexField(ctx, obj, managed.IndexClusterName, func(o client.Object) []string {
			switch v := o.(type) {
			case *ecsv1alpha1.Service:
				return managed.ClusterNameIndex(v.Spec.Cluster, v.Spec.ClusterRef)
			case *ecsv1alpha1.Task:
				return managed.ClusterNameIndex(v.Spec.Cluster, v.Spec.ClusterRef)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("indexing %T by %s: %w", obj, managed.IndexClusterName, err)
		}
		for field, ref := range refs {
			err := mgr.GetFieldIndexer().IndexField(ctx, obj, field, func(o client.Object) []string {
				if r := ref(o); r != nil {
					return []string{r.Name}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("indexing %T by %s: %w", obj, field, err)
			}
		}
	}
	return nil
}
