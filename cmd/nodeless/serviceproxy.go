package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// serviceProxyFlags are the flags of `nodeless up` for the Services' load balancer.
type serviceProxyFlags struct {
	address             string
	deregistrationDelay time.Duration
}

func (f *serviceProxyFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.address, "load-balancer-address", serviceproxy.DefaultAddress,
		"where LoadBalancer Services listen (at their ports) and NodePort Services (at their node ports); written to status.loadBalancer.ingress")
	fs.DurationVar(&f.deregistrationDelay, "deregistration-delay", serviceproxy.DefaultDeregistrationDelay,
		"how long an endpoint that leaves a Service keeps its open connections (a Service's "+serviceproxy.TargetGroupAttributesAnnotation+
			" annotation with deregistration_delay.timeout_seconds=N overrides it)")
}

// newServiceProxy is the load balancer of every Service under `up`: ClusterIPs served inside the
// data plane's VPC, LoadBalancer and NodePort Services on the flags' address, endpoints dialed
// through the VPC (docs/adr/0011-load-balancing.md).
func newServiceProxy(cfg *rest.Config, f serviceProxyFlags, dp *dataplane.DataPlane, log logr.Logger) (*serviceproxy.Proxy, error) {
	client, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("service proxy: Kubernetes client: %w", err)
	}
	cidr, err := netip.ParsePrefix(controlplane.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("service proxy: service CIDR: %w", err)
	}
	apiServer, err := apiServerAddress(cfg)
	if err != nil {
		return nil, err
	}
	v := dp.VPC()
	return serviceproxy.New(serviceproxy.Options{
		Client: client, Address: f.address, DeregistrationDelay: f.deregistrationDelay,
		Dial:                  endpointDialer(dp),
		APIServer:             apiServer,
		ListenClusterIP:       v.ListenInVPC,
		ListenPacketClusterIP: v.ListenPacketInVPC,
		Setup:                 func(ctx context.Context) error { return v.ServeAddresses(ctx, cidr) },
		Logger:                log.WithName("serviceproxy"),
	})
}

// apiServerAddress is the API server's IP:port from the client config's URL.
func apiServerAddress(cfg *rest.Config) (netip.AddrPort, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("service proxy: API server URL %q: %w", cfg.Host, err)
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("service proxy: API server address %q is not IP:port: %w", u.Host, err)
	}
	return ap, nil
}

// endpointDialer dials a Pod's address through the VPC, and any other endpoint (the `kubernetes`
// Service's, the API server on 127.0.0.1; a selector-less Service's) from the host, as the tasks'
// outbound traffic already reaches the host's loopback (ADR 0008).
func endpointDialer(dp *dataplane.DataPlane) serviceproxy.DialFunc {
	subnet := dp.VPC().Subnet().Prefix()
	var d net.Dialer
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if ap, err := netip.ParseAddrPort(address); err == nil && !subnet.Contains(ap.Addr()) {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return d.DialContext(dctx, network, address)
		}
		return dp.Dial(ctx, network, address)
	}
}
