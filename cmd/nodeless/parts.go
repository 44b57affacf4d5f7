package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/nodeless-dev/nodeless/config/crd"
	"github.com/nodeless-dev/nodeless/internal/agentimage"
	"github.com/nodeless-dev/nodeless/internal/component"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/fargate"
	"github.com/nodeless-dev/nodeless/internal/taskhost/localhost"
)

// partsFlags are the flags of `nodeless up` that concern nodeless's own parts.
type partsFlags struct {
	dataplaneAddress string
	region           string
	vpcCIDR          string
	// serviceConnectCIDR: see dataplane.Options.ServiceConnectCIDR.
	serviceConnectCIDR string
	agentBinary        string
	node               nodeFlags
	// healthyAfterRunning: see dataplane.Options.HealthyAfterRunning.
	healthyAfterRunning time.Duration
	// spareNamespaces: --spare-namespaces (spareNamespacesOption).
	spareNamespaces int
	serviceProxy    serviceProxyFlags
	// fargateStrict: see dataplane.Options.FargateStrict and strictDefaults.
	fargateStrict bool
}

// addNodelessParts wires nodeless's own parts into `up`: checks that fail fast (root, containerd,
// runc, the data plane's port) before anything starts; the ecs.nodeless.dev CRDs; then the local
// data plane (in the same state dir as the control plane, so `nodeless logs` and `nodeless image
// load` work alike under `up` and `dataplane`), its DNS server for Service names (dns.go), then
// the Services' load balancer (serviceproxy.go), then the controllers, pointed at that data plane
// with its generated credentials, then the virtual node's kubelet API and the node itself
// (untainted: every Pod may run on it). They start in that order and stop in reverse.
func addNodelessParts(ctx context.Context, f partsFlags, opts *controlplane.UpOptions) error {
	manifests, err := crd.Manifests()
	if err != nil {
		return err
	}
	opts.CRDs = manifests
	opts.Checks = append(opts.Checks,
		dataplane.Preflight,
		func() error { return controlplane.CheckAddressFree(f.dataplaneAddress, "--dataplane-address") },
		func() error { return controlplane.CheckAddressFree(f.node.kubeletAddress(), "--kubelet-port") },
	)
	opts.Extras = func(cfg *rest.Config, stateDir string) ([]component.Component, error) {
		// Under up, every component logs through klog, which up sends to <state-dir>/logs/nodeless.log;
		// the terminal keeps the progress lines.
		logger := klog.NewKlogr()
		ctrl.SetLogger(logger.WithName("controllers"))
		resolver, err := dnsResolver(f.vpcCIDR)
		if err != nil {
			return nil, err
		}
		dp, err := dataplane.New(dataplane.Options{
			StateDir: stateDir, Address: f.dataplaneAddress, Region: f.region, VPCCIDR: f.vpcCIDR,
			Logger:     logger.WithName("dataplane"),
			AgentImage: agentimage.LocalRef(version), AgentBinary: f.agentBinary,
			HealthyAfterRunning: f.healthyAfterRunning, Resolver: resolver, FargateStrict: f.fargateStrict,
			ServiceConnectCIDR: f.serviceConnectCIDR, SpareNamespaces: spareNamespacesOption(f.spareNamespaces),
		})
		if err != nil {
			return nil, fmt.Errorf("local data plane: %w", err)
		}
		dns, err := serviceDNS(cfg, dp, logger)
		if err != nil {
			_ = dp.Close()
			return nil, err
		}
		creds := dp.Credentials()
		lb, err := newServiceProxy(cfg, f.serviceProxy, dp, logger)
		if err != nil {
			_ = dp.Close()
			return nil, err
		}
		// One Host for the Pod controller, its prober and the kubelet API; it also runs the data
		// plane's ECS Exec sessions (ExecuteCommand).
		host := localhost.New(dp, stateDir)
		dp.SetExecutor(host)
		cc := controller.Config{
			RestConfig: cfg,
			ECSOptions: ecsapi.Options{
				Endpoint: dp.Endpoint(), Region: dp.Region(),
				AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
			},
			// The local data plane has no throttling buckets; the limiter is for AWS.
			Limits: controller.NoRateLimit(),
			Pods: &pod.Options{
				NodeName: f.node.name, Host: host, AgentImage: agentimage.LocalRef(version),
				Withdrawers: []pod.Withdrawer{dns, lb},
			},
		}
		if f.fargateStrict {
			d := strictDefaults()
			cc.Controllers.Defaults = d
			cc.Pods.Subnets, cc.Pods.ExecutionRoleArn = d.Subnets, d.ExecutionRoleArn
		}
		ctrls, err := controller.New(ctx, cc)
		if err != nil {
			_ = dp.Close()
			return nil, fmt.Errorf("controllers: %w", err)
		}
		f.node.wiring.Host, f.node.wiring.Pods = host, podTasks{ctrls.PodTasks()}
		node, err := localNode(cfg, stateDir, f.node, dp, logger)
		if err != nil {
			_ = dp.Close()
			return nil, err
		}
		return append([]component.Component{dp, dns, lb, ctrls}, node...), nil
	}
	return nil
}

// strictDefaults are the controllers' defaults under `up --fargate-strict`, where the data plane
// requires what Fargate requires: the local VPC's one subnet (model.DefaultSubnetID, which the
// tasks' ENI attachments report), so that Services, Tasks and Pods without networkConfiguration
// launch as they would on Fargate with --default-subnets; and a placeholder execution role, since
// the Pods' task definitions carry secrets (the data plane needs no role, Fargate's rule needs
// one named).
func strictDefaults() fargate.Defaults {
	return fargate.Defaults{
		Subnets:          []string{model.DefaultSubnetID},
		ExecutionRoleArn: "arn:aws:iam::" + dataplane.DefaultAccount + ":role/nodeless-local-execution",
	}
}
