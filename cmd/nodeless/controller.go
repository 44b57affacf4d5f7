package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/awspolicy"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost/awshost"
)

// controllerFlags are the flags of `nodeless controller`.
type controllerFlags struct {
	kubeconfig     string
	namespaces     []string
	endpoint       string
	region         string
	deletionPolicy string
	keepRevisions  int
	workers        int
	readOnly       bool
	pollInterval   time.Duration
	stableInterval time.Duration
	syncPeriod     time.Duration
	noRateLimit    bool
	installCRDs    bool
	metricsAddr    string
	healthAddr     string
	development    bool
	shutdown       time.Duration
	printPolicy    bool
	leader         leaderFlags
	node           nodeFlags
	pods           podFlags
	defaults       defaultsFlags
	services       serviceFlags
}

// leaderFlags configure leader election among the replicas of `nodeless controller`.
type leaderFlags struct {
	enabled       bool
	namespace     string
	id            string
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
}

// DefaultLeaderElectionID names the Lease the replicas of `nodeless controller` elect their leader with.
const DefaultLeaderElectionID = "nodeless-controller"

// inClusterNamespaceFile holds the namespace of a Pod's service account.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

func (f *leaderFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "leader-elect", false, "run the controllers and the virtual node only in the replica that holds the Lease --leader-election-id (for two or more replicas)")
	fs.StringVar(&f.namespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the Pod's own namespace when run in a cluster)")
	fs.StringVar(&f.id, "leader-election-id", DefaultLeaderElectionID, "name of the leader election Lease; replicas with the same name share one leader")
	fs.DurationVar(&f.leaseDuration, "leader-election-lease-duration", 15*time.Second, "how long the others wait after the leader's last renewal before taking over")
	fs.DurationVar(&f.renewDeadline, "leader-election-renew-deadline", 10*time.Second, "how long the leader tries to renew before it stops leading (and exits)")
	fs.DurationVar(&f.retryPeriod, "leader-election-retry-period", 2*time.Second, "how often the Lease is renewed or tried")
}

// config is the leader election of the flags (nil without --leader-elect), or an error naming the
// flag to give. readFile reads the in-cluster namespace file.
func (f *leaderFlags) config(readFile func(string) ([]byte, error)) (*controller.LeaderElection, error) {
	if !f.enabled {
		return nil, nil
	}
	ns := f.namespace
	if ns == "" {
		b, err := readFile(inClusterNamespaceFile)
		if err != nil || strings.TrimSpace(string(b)) == "" {
			return nil, errors.New("--leader-election-namespace: give the namespace of the leader election Lease (outside a cluster there is no default)")
		}
		ns = strings.TrimSpace(string(b))
	}
	if f.id == "" {
		return nil, errors.New("--leader-election-id: give the name of the leader election Lease")
	}
	if f.retryPeriod >= f.renewDeadline || f.renewDeadline >= f.leaseDuration {
		return nil, fmt.Errorf("--leader-election-retry-period (%s) < --leader-election-renew-deadline (%s) < --leader-election-lease-duration (%s) must hold",
			f.retryPeriod, f.renewDeadline, f.leaseDuration)
	}
	return &controller.LeaderElection{
		Namespace: ns, ID: f.id, LeaseDuration: f.leaseDuration, RenewDeadline: f.renewDeadline, RetryPeriod: f.retryPeriod,
	}, nil
}

// Default addresses of the controller's HTTP endpoints: on the loopback interface, as everything
// nodeless serves by default; the chart sets :8080 and :8081 so that the kubelet's probes reach them.
const (
	DefaultMetricsAddr = "127.0.0.1:8080"
	DefaultHealthAddr  = "127.0.0.1:8081"
)

// podFlags configure the tasks of the Pods that opt in to the virtual node under `controller`.
type podFlags struct {
	cluster        string
	subnets        []string
	securityGroups []string
	assignPublicIP bool
	execute        bool
	logs           podLogFlags
}

func (f *podFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.cluster, "pod-cluster", pod.DefaultCluster, "ECS cluster of the Pods' tasks (created when missing)")
	fs.StringSliceVar(&f.subnets, "pod-subnets", nil, "awsvpc subnets of the Pods' tasks (with AWS's own endpoint Fargate tasks need a subnet: from here, --default-subnets, or the spec.defaults of the Cluster object whose clusterName is --pod-cluster, which wins)")
	fs.StringSliceVar(&f.securityGroups, "pod-security-groups", nil, "awsvpc security groups of the Pods' tasks (default: the VPC's default group)")
	fs.BoolVar(&f.assignPublicIP, "pod-assign-public-ip", false, "give the Pods' tasks a public IP (subnets without a NAT gateway need it to pull images)")
	fs.BoolVar(&f.execute, "pod-enable-execute-command", false, "run the Pods' tasks with ECS Exec enabled (kubectl exec needs it on AWS)")
	f.logs.add(fs)
}

// options are the Pod controller's options. Against AWS without --pod-subnets (nor
// --default-subnets) the Pods' tasks take the subnets of the Cluster object whose clusterName is
// --pod-cluster (spec.defaults.networkConfiguration); a Pod whose task gets none from there either
// waits with ECS's refusal in its Events.
func (f *podFlags) options(node nodeFlags, endpoint string) (*pod.Options, error) {
	first := time.Duration(0) // the Pod controller's default, for a local data plane's quick starts
	if endpoint == "" {
		// Fargate takes 20-60 s to start a task: polling sooner than every second buys nothing.
		first = time.Second
	}
	return &pod.Options{
		NodeName: node.name, Cluster: f.cluster, FirstPollInterval: first,
		Subnets: f.subnets, SecurityGroups: f.securityGroups, AssignPublicIP: f.assignPublicIP,
		EnableExecuteCommand: f.execute,
	}, nil
}

func newControllerCmd() *cobra.Command {
	f := controllerFlags{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run nodeless's controllers against an existing Kubernetes cluster and ECS (or any ECS-compatible endpoint)",
		Long: `controller runs the ecs.nodeless.dev controllers (Cluster, TaskDefinition, Service, Task) against
the Kubernetes cluster of --kubeconfig (or $KUBECONFIG, or the in-cluster config) and the ECS API
found through the standard AWS configuration chain (AWS_REGION, AWS_PROFILE, credentials files,
web identity (IRSA), the container endpoint (EKS Pod Identity), instance roles), optionally at
--ecs-endpoint.

On start it installs or upgrades the ecs.nodeless.dev CRDs and waits until the API server serves
them (--install-crds=false skips this). With --leader-elect, replicas elect one leader through a
Lease: only the leader reconciles and runs the virtual node and its kubelet API; every replica
serves /healthz, /readyz and /metrics. SIGTERM stops reconciling, waits up to
--graceful-shutdown-timeout for in-flight work and releases the Lease. The IAM policy it needs:
--print-iam-policy. docs/controller.md has the details; charts/nodeless installs it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.printPolicy {
				return printIAMPolicy(cmd.OutOrStdout())
			}
			if err := checkControllerFlags(cmd.Flags()); err != nil {
				return err
			}
			return runController(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to reconcile (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
	fs.StringSliceVar(&f.namespaces, "namespace", nil, "reconcile only these namespaces (repeatable; default all)")
	fs.StringVar(&f.endpoint, "ecs-endpoint", "", "ECS endpoint URL, e.g. http://127.0.0.1:4566 (default: AWS's regional endpoint)")
	fs.StringVar(&f.region, "region", "", "AWS region (default: from the AWS configuration chain)")
	fs.StringVar(&f.deletionPolicy, "deletion-policy", string(managed.DefaultDeletionPolicy), "what deleting an object does to its ECS resource unless annotated: delete or retain")
	fs.IntVar(&f.keepRevisions, "keep-revisions", managed.DefaultKeepRevisions, "task definition revisions kept registered per TaskDefinition")
	fs.IntVar(&f.workers, "workers", managed.DefaultWorkers, "objects of one kind reconciled at once")
	fs.BoolVar(&f.readOnly, "read-only", false, "observe ECS and mirror status, never write to ECS")
	fs.DurationVar(&f.pollInterval, "poll-interval", managed.DefaultPollInterval, "how often services and tasks that are changing are described")
	fs.DurationVar(&f.stableInterval, "stable-poll-interval", managed.DefaultStablePollInterval, "how often services and tasks at rest are described")
	fs.DurationVar(&f.syncPeriod, "sync-period", controller.DefaultSyncPeriod, "how often every object is reconciled again (no ECS call at steady state)")
	fs.BoolVar(&f.noRateLimit, "no-rate-limit", false, "disable the client-side rate limiter shaped on ECS's token buckets")
	fs.BoolVar(&f.installCRDs, "install-crds", true, "install or update the ecs.nodeless.dev CRDs on start")
	fs.StringVar(&f.metricsAddr, "metrics-addr", DefaultMetricsAddr, "address of the Prometheus metrics endpoint, /metrics (0 disables it; :8080 listens on every interface)")
	fs.StringVar(&f.healthAddr, "health-addr", DefaultHealthAddr, "address of /healthz and /readyz (empty disables them; :8081 listens on every interface, as probes need in a Pod)")
	fs.DurationVar(&f.shutdown, "graceful-shutdown-timeout", controller.DefaultGracefulShutdownTimeout,
		"after SIGTERM, how long in-flight reconciles get to return before the Lease is released and the process exits")
	fs.BoolVar(&f.development, "dev-log", false, "human-readable logs instead of JSON")
	fs.BoolVar(&f.printPolicy, "print-iam-policy", false, "print the least-privilege IAM policy the controller needs on AWS (docs/iam-policy.json) and exit")
	f.leader.add(fs)
	f.node.add(fs)
	f.node.addController(fs)
	f.pods.add(fs)
	f.defaults.add(fs)
	f.services.add(fs)
	return cmd
}

func runController(cmd *cobra.Command, f controllerFlags) error {
	policy := ecsv1alpha1.DeletionPolicy(f.deletionPolicy)
	if policy != ecsv1alpha1.DeletionPolicyDelete && policy != ecsv1alpha1.DeletionPolicyRetain {
		return fmt.Errorf("--deletion-policy must be delete or retain, not %q", f.deletionPolicy)
	}
	logger := newLogger(f.development)
	ctrl.SetLogger(logger)
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return err
	}
	leader, err := f.leader.config(os.ReadFile)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	c := controller.Config{
		LeaderElection: leader, GracefulShutdownTimeout: f.shutdown,
		RestConfig:  cfg,
		ECSOptions:  ecsapi.Options{Endpoint: f.endpoint, Region: f.region},
		InstallCRDs: f.installCRDs,
		Namespaces:  f.namespaces,
		SyncPeriod:  f.syncPeriod,
		MetricsAddr: f.metricsAddr, HealthProbeAddr: f.healthAddr,
	}
	c.Controllers.DeletionPolicy = policy
	c.Controllers.KeepRevisions = f.keepRevisions
	c.Controllers.ReadOnly = f.readOnly
	c.Controllers.Workers = f.workers
	c.Controllers.PollInterval = f.pollInterval
	c.Controllers.StablePollInterval = f.stableInterval
	if c.Controllers.Defaults, err = f.defaults.defaults(); err != nil {
		return err
	}
	f.pods.fallBackTo(c.Controllers.Defaults)
	if f.noRateLimit {
		c.Limits = controller.NoRateLimit()
	}
	c.AWSServices, c.AWSServiceEndpoint = f.services.options(f.pods), f.services.endpoint
	if !f.node.enabled {
		m, err := controller.New(ctx, c)
		if err != nil {
			return err
		}
		return m.Run(ctx)
	}
	if c.Pods, err = f.pods.options(f.node, f.endpoint); err != nil {
		return err
	}
	// CloudWatch Logs: the Pods' tasks write there (awslogs) and kubectl logs reads it back.
	if err := f.pods.logs.apply(ctx, c.Pods, c.ECSOptions, f.endpoint); err != nil {
		return err
	}
	logs, err := newLogReader(ctx, c.ECSOptions)
	if err != nil {
		return err
	}
	// One Host for the Pod controller, its prober and the kubelet API; its ECS client runs ECS
	// Exec (kubectl exec, exec probes) within ECS's rate limits.
	execClient, err := ecsapi.NewClient(ctx, c.ECSOptions)
	if err != nil {
		return err
	}
	host := awshost.New(awshost.Options{ECS: ecsapi.WithRateLimit(execClient, ecsapi.DefaultLimits()), Logs: logs})
	c.Pods.Host = host
	m, err := controller.New(ctx, c)
	if err != nil {
		return err
	}
	f.node.wiring.Host, f.node.wiring.Pods = host, podTasks{m.PodTasks()}
	node, err := awsNode(ctx, cfg, f.node, c.ECSOptions, logger)
	if err != nil {
		return err
	}
	// The node (its Lease and status) and its kubelet API run in the leader only: the kubelet
	// API answers from the Pod controller's state, which only the leader has, and the Node's
	// InternalIP names the replica that registered it last (docs/controller.md).
	if err := m.AddLeaderComponents(node...); err != nil {
		return err
	}
	return m.Run(ctx)
}

// printIAMPolicy writes the IAM policy of package awspolicy.
func printIAMPolicy(out io.Writer) error {
	b, err := awspolicy.JSON()
	if err != nil {
		return err
	}
	if _, err := out.Write(b); err != nil {
		return fmt.Errorf("writing the IAM policy: %w", err)
	}
	return nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("finding a kubeconfig: %w (set --kubeconfig)", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfig, err)
	}
	return cfg, nil
}

// newLogger logs JSON to stderr, or text with --dev-log.
func newLogger(development bool) logr.Logger {
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, nil)
	if development {
		h = slog.NewTextHandler(os.Stderr, nil)
	}
	return logr.FromSlogHandler(h)
}
