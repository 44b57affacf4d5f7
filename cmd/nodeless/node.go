package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/component"
	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/awshost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/localhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
	"github.com/nodeless-dev/nodeless/internal/virtualnode"
)

// nodeFlags are the flags of the virtual node, shared by `up` and `controller`.
type nodeFlags struct {
	name             string
	port             int
	cpu              string
	memory           string
	ephemeralStorage string
	pods             string
	// certFile and keyFile are the kubelet API's serving certificate (flags of both commands).
	certFile string
	keyFile  string
	// wiring is what other parts hand the node (set by code, not flags).
	wiring nodeWiring
	// controller only
	enabled        bool
	address        string
	clientCAFile   string
	namespaceOptIn bool
}

func (f *nodeFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "node-name", translate.DefaultNodeName, "name of the virtual node whose Pods run as ECS tasks")
	fs.IntVar(&f.port, "kubelet-port", virtualnode.DefaultPort, "port of the virtual node's kubelet API (logs, exec, attach, port-forward)")
	fs.StringVar(&f.cpu, "node-cpu", "", "cpu capacity of the virtual node (default: 16 per Pod of --node-pods, the largest Fargate task)")
	fs.StringVar(&f.memory, "node-memory", "", "memory capacity of the virtual node (default: 120Gi per Pod of --node-pods)")
	fs.StringVar(&f.ephemeralStorage, "node-ephemeral-storage", "", "ephemeral-storage capacity of the virtual node (default: 200Gi per Pod of --node-pods)")
	fs.StringVar(&f.pods, "node-pods", strconv.Itoa(virtualnode.DefaultPods), "how many Pods the virtual node takes")
	fs.StringVar(&f.certFile, "kubelet-cert-file", "", "serving certificate of the kubelet API (default: up: the control plane's; controller: a self-signed one made at start)")
	fs.StringVar(&f.keyFile, "kubelet-key-file", "", "key of --kubelet-cert-file")
}

// addController adds the flags only `nodeless controller` has.
func (f *nodeFlags) addController(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "virtual-node", true, "register the virtual node (tainted "+translate.TaintKey+"="+translate.TaintValue+":NoSchedule) and serve its kubelet API")
	fs.StringVar(&f.address, "node-address", virtualnode.DefaultAddress, "the virtual node's InternalIP, where the API server reaches its kubelet API (which listens there)")
	fs.BoolVar(&f.namespaceOptIn, "namespace-opt-in", true, "send the Pods of namespaces labelled "+
		virtualnode.NamespaceOptInLabel+"="+virtualnode.NamespaceOptInValue+" to the virtual node (a MutatingAdmissionPolicy; Kubernetes 1.36+)")
	fs.StringVar(&f.clientCAFile, "kubelet-client-ca-file", "", "CA of the client certificates the kubelet API accepts (default: the cluster's, from kube-system/extension-apiserver-authentication)")
}

// nodeWiring is what other parts of nodeless hand the virtual node; zero values give the defaults.
type nodeWiring struct {
	// Pods finds a Pod's task (the Pod controller); nil: the kubelet API answers every Pod
	// request with "no Pod controller runs Pods on this node".
	Pods virtualnode.PodTasks
	// Host reaches the tasks; nil: localhost.New(dp, stateDir) under up, awshost.New (with an
	// ECS client for ECS Exec) under controller. Give the one the Pod controller and the prober use, so all share one.
	Host taskhost.Host
	// ServingCert is the kubelet API's serving certificate in memory (the control plane's
	// kubelet certificate); it wins over --kubelet-cert-file.
	ServingCert *tls.Certificate
}

// capacity is the capacity the flags override: --node-pods a positive whole number; --node-cpu,
// --node-memory and --node-ephemeral-storage positive Kubernetes quantities, each defaulting to
// a Fargate task's largest size times --node-pods. Errors name every bad flag, its value and
// what to give (checkNodeFlags applies it before up starts anything).
func (f *nodeFlags) capacity() (corev1.ResourceList, error) {
	pods, err := strconv.ParseInt(f.pods, 10, 64)
	if err != nil || pods <= 0 {
		return nil, fmt.Errorf("--node-pods %q: give a positive whole number (default %d)", f.pods, virtualnode.DefaultPods)
	}
	out := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(pods, resource.DecimalSI)}
	var errs []error
	for _, g := range []struct {
		name        corev1.ResourceName
		flag, value string
		perPod      string
	}{
		{corev1.ResourceCPU, "--node-cpu", f.cpu, "16"},
		{corev1.ResourceMemory, "--node-memory", f.memory, "120Gi"},
		{corev1.ResourceEphemeralStorage, "--node-ephemeral-storage", f.ephemeralStorage, "200Gi"},
	} {
		if g.value == "" {
			q := resource.MustParse(g.perPod)
			out[g.name] = *resource.NewQuantity(q.Value()*pods, q.Format)
			continue
		}
		q, err := resource.ParseQuantity(g.value)
		if err != nil || q.Sign() <= 0 {
			errs = append(errs, fmt.Errorf("%s %q: give a positive Kubernetes quantity, such as 64 or 256Gi (default %s per Pod of --node-pods)", g.flag, g.value, g.perPod))
			continue
		}
		out[g.name] = q
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func (f *nodeFlags) options(endpointKind string) (virtualnode.Options, error) {
	capacity, err := f.capacity()
	if err != nil {
		return virtualnode.Options{}, err
	}
	return virtualnode.Options{
		NodeName: f.name, Port: int32(f.port), Address: f.address, Capacity: capacity, EndpointKind: endpointKind,
	}, nil
}

// kubeletAddress is where the kubelet API listens: the node's address and port.
func (f *nodeFlags) kubeletAddress() string {
	addr := f.address
	if addr == "" {
		addr = virtualnode.DefaultAddress
	}
	return net.JoinHostPort(addr, strconv.Itoa(f.port))
}

// localNode is the virtual node of `nodeless up`, over the in-process data plane: no taint, the
// kubelet API served with the control plane's PKI, the local Host.
//
// The serving certificate is the kubelet's, issued by the control plane (controlplane.EnsurePKI);
// the client CA is the cluster CA.
func localNode(cfg *rest.Config, stateDir string, f nodeFlags, dp *dataplane.DataPlane, log logr.Logger) ([]component.Component, error) {
	f.address = virtualnode.DefaultAddress
	opts, err := f.options(virtualnode.EndpointLocal)
	if err != nil {
		return nil, err
	}
	opts.Health = dialHealth(dp.Endpoint())
	// up runs no node lifecycle controller: the node keeps its not-ready taint itself.
	opts.NotReadyTaint = true
	so, err := f.serving()
	if err != nil {
		return nil, err
	}
	if so.Certificate == nil && so.CertFile == "" {
		// Issued by the control plane's CA for 127.0.0.1 and the node's name; the API server
		// verifies it (--kubelet-certificate-authority) and presents its kubelet client
		// certificate, signed by the same CA.
		so.CertFile, so.KeyFile = controlplane.KubeletServingCert(stateDir)
	}
	so.ClientCAFile = controlplane.CAFile(stateDir)
	host := f.wiring.Host
	if host == nil {
		host = localhost.New(dp, stateDir)
	}
	return nodeComponents(cfg, f, opts, so, host, log)
}

// serving is the kubelet API's options from the flags and the wiring: the serving certificate
// (wiring.ServingCert, or certFile and keyFile; none when neither is given) and wiring.Pods.
func (f *nodeFlags) serving() (virtualnode.ServerOptions, error) {
	if (f.certFile == "") != (f.keyFile == "") {
		return virtualnode.ServerOptions{}, errors.New("--kubelet-cert-file and --kubelet-key-file go together")
	}
	return virtualnode.ServerOptions{Certificate: f.wiring.ServingCert, CertFile: f.certFile, KeyFile: f.keyFile, Pods: f.wiring.Pods}, nil
}

// nodeComponents are the node and its kubelet API.
func nodeComponents(cfg *rest.Config, f nodeFlags, opts virtualnode.Options, so virtualnode.ServerOptions, host taskhost.Host, log logr.Logger) ([]component.Component, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("virtual node: %w", err)
	}
	node, err := virtualnode.NewNode(client, opts, log.WithName("virtual-node"))
	if err != nil {
		return nil, err
	}
	so.Address, so.NodeName, so.Client, so.Host = f.kubeletAddress(), node.Options().NodeName, client, host
	srv, err := virtualnode.NewServer(so, log.WithName("kubelet-api"))
	if err != nil {
		return nil, err
	}
	// The kubelet API first: the node's status names its port as soon as it is registered.
	return []component.Component{srv, node}, nil
}

// dialHealth reports the local data plane reachable while its API port accepts connections: no
// ECS call, so the node's health costs nothing at the ECS API.
func dialHealth(endpoint string) virtualnode.HealthFunc {
	host := endpoint
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		host = u.Host
	}
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return fmt.Errorf("the local data plane at %s: %w", endpoint, err)
		}
		return conn.Close()
	}
}

// ecsHealth reports ECS reachable while DescribeClusters answers (one read a minute).
func ecsHealth(client *ecs.Client, endpoint string) virtualnode.HealthFunc {
	return func(ctx context.Context) error {
		if _, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err != nil {
			return fmt.Errorf("ECS (%s): %w", endpoint, err)
		}
		return nil
	}
}

// awsHealthInterval is how often `nodeless controller` checks ECS.
const awsHealthInterval = time.Minute

// awsNode is the virtual node of `nodeless controller` on an existing cluster: tainted, its
// kubelet API with the given or a self-signed serving certificate and the cluster's client CA,
// tasks reached on AWS (awshost).
func awsNode(ctx context.Context, cfg *rest.Config, f nodeFlags, ecsOpts ecsapi.Options, log logr.Logger) ([]component.Component, error) {
	opts, err := f.options(virtualnode.EndpointAWS)
	if err != nil {
		return nil, err
	}
	opts.Taint = true
	so, err := f.serving()
	if err != nil {
		return nil, err
	}
	if err := controlplane.CheckAddressFree(f.kubeletAddress(), "--kubelet-port"); err != nil {
		return nil, err
	}
	ecsClient, err := ecsapi.NewClient(ctx, ecsOpts)
	if err != nil {
		return nil, err
	}
	endpoint := ecsOpts.Endpoint
	if endpoint == "" {
		endpoint = "AWS"
	}
	opts.Health, opts.HealthInterval = ecsHealth(ecsClient, endpoint), awsHealthInterval
	so.ClientCAFile = f.clientCAFile
	if so.Certificate == nil && so.CertFile == "" {
		if so.Certificate, err = virtualnode.SelfSignedCertificate(f.address, f.name); err != nil {
			return nil, err
		}
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if f.clientCAFile == "" {
		if so.ClientCA, err = virtualnode.ClusterClientCA(ctx, client); err != nil {
			return nil, err
		}
	}
	if f.namespaceOptIn {
		if err := virtualnode.EnsureNamespaceOptIn(ctx, client, f.name); err != nil {
			return nil, err
		}
	}
	host := f.wiring.Host
	if host == nil {
		host = awshost.New(awshost.Options{ECS: ecsapi.WithRateLimit(ecsClient, ecsapi.DefaultLimits())})
	}
	return nodeComponents(cfg, f, opts, so, host, log)
}
