package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/component"
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
	node           nodeFlags
	pods           podFlags
}

// podFlags configure the tasks of the Pods that opt in to the virtual node under `controller`.
type podFlags struct {
	cluster        string
	subnets        []string
	securityGroups []string
	assignPublicIP bool
	execute        bool
}

func (f *podFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.cluster, "pod-cluster", pod.DefaultCluster, "ECS cluster of the Pods' tasks (created when missing)")
	fs.StringSliceVar(&f.subnets, "pod-subnets", nil, "awsvpc subnets of the Pods' tasks (required with AWS's own endpoint: Fargate tasks need a subnet)")
	fs.StringSliceVar(&f.securityGroups, "pod-security-groups", nil, "awsvpc security groups of the Pods' tasks (default: the VPC's default group)")
	fs.BoolVar(&f.assignPublicIP, "pod-assign-public-ip", false, "give the Pods' tasks a public IP (subnets without a NAT gateway need it to pull images)")
	fs.BoolVar(&f.execute, "pod-enable-execute-command", false, "run the Pods' tasks with ECS Exec enabled (kubectl exec needs it on AWS)")
}

// options are the Pod controller's options, or an error naming the flag to give.
func (f *podFlags) options(node nodeFlags, endpoint string) (*pod.Options, error) {
	if len(f.subnets) == 0 && endpoint == "" {
		return nil, errors.New("--pod-subnets: give the subnets of the Pods' Fargate tasks (or --virtual-node=false to run no Pods)")
	}
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
web identity, instance roles), optionally at --ecs-endpoint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	fs.StringVar(&f.metricsAddr, "metrics-addr", "0", "address of the Prometheus metrics endpoint (0 disables it)")
	fs.StringVar(&f.healthAddr, "health-addr", "", "address of /healthz and /readyz (empty disables them)")
	fs.BoolVar(&f.development, "dev-log", false, "human-readable logs instead of JSON")
	f.node.add(fs)
	f.node.addController(fs)
	f.pods.add(fs)
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
	ctx := cmd.Context()
	c := controller.Config{
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
	if f.noRateLimit {
		c.Limits = controller.NoRateLimit()
	}
	if !f.node.enabled {
		m, err := controller.New(ctx, c)
		if err != nil {
			return err
		}
		return m.Run(ctx)
	}
	// One Host for the Pod controller, its prober and the kubelet API; its ECS client runs ECS
	// Exec (kubectl exec, exec probes) within ECS's rate limits.
	execClient, err := ecsapi.NewClient(ctx, c.ECSOptions)
	if err != nil {
		return err
	}
	host := awshost.New(awshost.Options{ECS: ecsapi.WithRateLimit(execClient, ecsapi.DefaultLimits())})
	if c.Pods, err = f.pods.options(f.node, f.endpoint); err != nil {
		return err
	}
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
	return runAll(ctx, append([]component.Component{m}, node...))
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
