package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nodeless-dev/nodeless/internal/agentimage"
	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/scheduler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost/localhost"
)

// dataplaneFlags are the flags of `nodeless dataplane`.
type dataplaneFlags struct {
	stateDir string
	address  string
	region   string
	account  string
	vpcCIDR  string
	// serviceConnectCIDR: see dataplane.Options.ServiceConnectCIDR.
	serviceConnectCIDR string
	jsonLog            bool
	// agentBinary is the nodeless-agent executable (default: beside this executable).
	agentBinary string
	// healthyAfterRunning: see dataplane.Options.HealthyAfterRunning.
	healthyAfterRunning time.Duration
	// spareNamespaces: --spare-namespaces (spareNamespacesOption).
	spareNamespaces int
	// throttling: see dataplane.Options.Throttle.
	throttling bool
	// fargateStrict: see dataplane.Options.FargateStrict.
	fargateStrict bool
}

func newDataplaneCmd() *cobra.Command {
	f := dataplaneFlags{}
	cmd := &cobra.Command{
		Use:   "dataplane",
		Short: "Run the local data plane alone: an ECS-compatible API that runs tasks as containers on containerd",
		Long: `dataplane serves the ECS API (awsJson1_1, SigV4) on --address until Ctrl-C, and runs tasks as
real containers on a private containerd under --state-dir. It generates its credentials on first
start and writes them to <state-dir>/credentials (profile nodeless); any ECS client works with them:

  AWS_SHARED_CREDENTIALS_FILE=<state-dir>/credentials aws --profile nodeless --region us-east-1 \
      --endpoint-url http://127.0.0.1:8944 ecs list-clusters

Every task gets its own address in a local VPC (--vpc-cidr), reaches other tasks by it, and reaches
the outside through NAT; a server on the host's 127.0.0.1:PORT is 10.0.2.2:PORT from inside a task.
Clusters, task definitions, services and tasks survive restarts; running containers are re-attached
and keep their addresses. Needs root (containerd, runc, slirp4netns).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkDataplaneFlags(cmd.Flags()); err != nil {
				return err
			}
			return runDataplane(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.stateDir, "state-dir", controlplane.DefaultStateDir(), "where the credentials, the database and the private containerd live ($NODELESS_STATE_DIR)")
	fs.StringVar(&f.address, "address", dataplane.DefaultAddress, "address of the ECS API; keep it on 127.0.0.1 unless you mean to expose a root container runner")
	fs.StringVar(&f.region, "region", dataplane.DefaultRegion, "region in ARNs; clients must sign requests for it")
	fs.StringVar(&f.account, "account", dataplane.DefaultAccount, "account ID in ARNs")
	fs.StringVar(&f.vpcCIDR, "vpc-cidr", ipam.DefaultCIDR, "IPv4 subnet of the local VPC that gives every task its address (changeable only while no task runs)")
	addServiceConnectCIDRFlag(fs, &f.serviceConnectCIDR)
	fs.BoolVar(&f.jsonLog, "json-log", false, "log JSON instead of text to stderr")
	fs.StringVar(&f.agentBinary, "agent-binary", "", "the nodeless-agent executable: the containers' logging binary and the files agent's image (default: beside this executable)")
	addHealthyAfterRunningFlag(fs, &f.healthyAfterRunning)
	addSpareNamespacesFlag(fs, &f.spareNamespaces)
	fs.BoolVar(&f.throttling, "emulate-throttling", false, "throttle the ECS API as ECS does (its documented token buckets per operation; "+
		"ThrottlingException when a bucket is empty), to see a client's backoff before AWS does")
	addFargateStrictFlag(fs, &f.fargateStrict)
	return cmd
}

// addServiceConnectCIDRFlag adds --service-connect-cidr, shared by dataplane and up.
func addServiceConnectCIDRFlag(fs *pflag.FlagSet, cidr *string) {
	fs.StringVar(cidr, "service-connect-cidr", cloudmap.DefaultAliasCIDR,
		"IPv4 range of the virtual addresses of Service Connect client aliases, served inside the local VPC only "+
			"(outside the VPC's subnet and, under up, the Service range "+controlplane.ServiceCIDR+")")
}

// addFargateStrictFlag adds --fargate-strict, shared by dataplane and up.
func addFargateStrictFlag(fs *pflag.FlagSet, strict *bool) {
	fs.BoolVar(strict, "fargate-strict", false, "refuse what Fargate refuses even where the local data plane could do without it: "+
		"awsvpc tasks and services without networkConfiguration (subnets), subnet and security group IDs not in EC2's form, "+
		"task definitions without requiresCompatibilities FARGATE (docs/adr/0013-fargate-rules.md)")
}

// addHealthyAfterRunningFlag adds --healthy-after-running, shared by dataplane and up.
func addHealthyAfterRunningFlag(fs *pflag.FlagSet, d *time.Duration) {
	fs.DurationVar(d, "healthy-after-running", scheduler.DefaultHealthyAfterRunning,
		"how long a service task without a container health check must be RUNNING before it counts as healthy "+
			"(toward minimumHealthyPercent, to complete a rollout, to reset the circuit breaker); ECS waits 40s, "+
			"a shorter wait makes local rollouts faster but trusts tasks sooner")
}

// addSpareNamespacesFlag adds --spare-namespaces, shared by dataplane and up.
func addSpareNamespacesFlag(fs *pflag.FlagSet, n *int) {
	fs.IntVar(n, "spare-namespaces", dataplane.DefaultSpareNamespaces,
		"how many ready task network namespaces, joined to the VPC, the data plane keeps for the next starts "+
			"(made while no task starts; each start on the VPC takes one); 0: none, each start makes its own")
}

// spareNamespacesOption is dataplane.Options.SpareNamespaces for --spare-namespaces n, whose 0
// means none (the option's 0 means the default).
func spareNamespacesOption(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func runDataplane(ctx context.Context, out io.Writer, f dataplaneFlags) error {
	if err := dataplane.Preflight(); err != nil {
		return err
	}
	opts := dataplane.Options{
		StateDir: f.stateDir, Address: f.address, Region: f.region, Account: f.account, VPCCIDR: f.vpcCIDR,
		Logger:     newLogger(!f.jsonLog),
		AgentImage: agentimage.LocalRef(version), AgentBinary: f.agentBinary,
		HealthyAfterRunning: f.healthyAfterRunning, FargateStrict: f.fargateStrict,
		ServiceConnectCIDR: f.serviceConnectCIDR, SpareNamespaces: spareNamespacesOption(f.spareNamespaces),
	}
	if f.throttling {
		limits := ecsapi.DefaultLimits()
		opts.Throttle = &limits
	}
	d, err := dataplane.New(opts)
	if err != nil {
		return err
	}
	// ECS Exec (ExecuteCommand) runs its commands through containerd exec, as the virtual node's
	// kubectl exec does under up.
	d.SetExecutor(localhost.New(d, f.stateDir))
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-d.Ready():
		printDataplaneUsage(out, d)
	}
	return <-done
}

func printDataplaneUsage(out io.Writer, d *dataplane.DataPlane) {
	fmt.Fprintf(out, `
nodeless data plane: ECS API at %[1]s (region %[2]s)
credentials: %[3]s (profile %[4]s)

  export AWS_SHARED_CREDENTIALS_FILE=%[3]s AWS_PROFILE=%[4]s AWS_DEFAULT_REGION=%[2]s
  aws --endpoint-url %[1]s ecs list-clusters

  Go SDK: config.LoadDefaultConfig(ctx, config.WithSharedCredentialsFiles([]string{%[3]q}),
          config.WithSharedConfigProfile(%[4]q), config.WithRegion(%[2]q)), and
          ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(%[1]q) })

`, d.Endpoint(), d.Region(), d.CredentialsFile(), credentials.Profile)
}
