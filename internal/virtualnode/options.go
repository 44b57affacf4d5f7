package virtualnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	goruntime "runtime"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	kubeversion "k8s.io/component-base/version"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Defaults of the node's options.
const (
	// DefaultPort is the kubelet API's port, the kubelet's own (10250).
	DefaultPort = 10250
	// DefaultAddress is the node's InternalIP and where the kubelet API listens.
	DefaultAddress = "127.0.0.1"
	// DefaultPods is the default pods capacity. The data plane runs any number of tasks (locally
	// up to the VPC's addresses; on AWS up to the account's Fargate quotas); 1000 keeps the
	// number finite and visible in `kubectl describe node`.
	DefaultPods = 1000
	// DefaultLeaseDurationSeconds and DefaultLeaseRenewInterval are the kubelet's defaults
	// (nodeLeaseDurationSeconds 40, renewed every quarter of it).
	DefaultLeaseDurationSeconds = 40
	DefaultLeaseRenewInterval   = 10 * time.Second
	// DefaultStatusInterval is the kubelet's nodeStatusReportFrequency: the status is written at
	// least this often, and at once when it changes.
	DefaultStatusInterval = 5 * time.Minute
	// DefaultHealthInterval is how often Options.Health is called.
	DefaultHealthInterval = 30 * time.Second
)

// Endpoint kinds, for nodeInfo.containerRuntimeVersion ("ecs://local", "ecs://aws").
const (
	EndpointLocal = "local"
	EndpointAWS   = "aws"
)

// The largest Fargate task (internal/tasksize's table; ECS's documented limits): 16 vCPU, 120 GiB
// of memory, 200 GiB of ephemeral storage. Capacity defaults to DefaultPods tasks of this size.
const (
	fargateMaxCPU              = "16"
	fargateMaxMemory           = "120Gi"
	fargateMaxEphemeralStorage = "200Gi"
)

// HealthFunc reports whether the data plane answers; its error says why not (it becomes the
// message of the Ready condition).
type HealthFunc func(ctx context.Context) error

// Options configure the virtual node.
type Options struct {
	// NodeName is the Node's name; default translate.DefaultNodeName.
	NodeName string
	// Arch is the architecture of the tasks (Kubernetes spelling); default this process's.
	Arch string
	// Taint adds translate.NodeTaint (`nodeless controller` on an existing cluster): only Pods
	// that tolerate it are scheduled to the node.
	Taint bool
	// NotReadyTaint makes the node keep node.kubernetes.io/not-ready:NoSchedule in step with its
	// Ready condition itself: under `nodeless up`, which runs no node lifecycle controller (on an
	// existing cluster kube-controller-manager's does it). Without it the taint that admission
	// gives every new Node would stay, and no Pod would be scheduled to the node.
	NotReadyTaint bool
	// Address is the node's InternalIP, where the API server reaches the kubelet API, and the
	// address the kubelet API listens on; default 127.0.0.1.
	Address string
	// Port is the kubelet API's port (daemonEndpoints.kubeletEndpoint.port); default 10250.
	Port int32
	// Capacity overrides the default capacity (= allocatable) per resource: cpu, memory,
	// ephemeral-storage and pods. Unset resources get DefaultCapacity's value.
	Capacity corev1.ResourceList
	// EndpointKind is EndpointLocal or EndpointAWS (nodeInfo.containerRuntimeVersion).
	EndpointKind string
	// KubeletVersion is nodeInfo.kubeletVersion; default the embedded Kubernetes release
	// (k8s.io/component-base/version), which `kubectl get nodes` shows as VERSION.
	KubeletVersion string
	// Health checks the data plane; nil means always reachable. While it fails the node is
	// NotReady with reason DataPlaneUnreachable.
	Health HealthFunc
	// HealthInterval is how often Health is called; default DefaultHealthInterval.
	HealthInterval time.Duration
	// LeaseDurationSeconds, LeaseRenewInterval and StatusInterval default to the kubelet's
	// (DefaultLeaseDurationSeconds, DefaultLeaseRenewInterval, DefaultStatusInterval).
	LeaseDurationSeconds int32
	LeaseRenewInterval   time.Duration
	StatusInterval       time.Duration
}

// DefaultCapacity is the capacity of a node whose Options.Capacity is empty: DefaultPods Pods,
// and cpu, memory and ephemeral storage for that many tasks of the largest Fargate size. So by
// default only the Pod count limits the scheduler; a Pod too big for one task is refused by the
// translation (internal/translate) with a reason, not left Pending. Set cpu and memory to an
// account's Fargate quota to make the scheduler honour it.
func DefaultCapacity() corev1.ResourceList {
	pods := int64(DefaultPods)
	times := func(s string) resource.Quantity {
		q := resource.MustParse(s)
		return *resource.NewQuantity(q.Value()*pods, q.Format)
	}
	return corev1.ResourceList{
		corev1.ResourceCPU:              times(fargateMaxCPU),
		corev1.ResourceMemory:           times(fargateMaxMemory),
		corev1.ResourceEphemeralStorage: times(fargateMaxEphemeralStorage),
		corev1.ResourcePods:             *resource.NewQuantity(pods, resource.DecimalSI),
	}
}

// withDefaults fills the unset options and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.NodeName == "" {
		o.NodeName = translate.DefaultNodeName
	}
	if o.Arch == "" {
		o.Arch = goruntime.GOARCH
	}
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	if net.ParseIP(o.Address) == nil {
		return o, fmt.Errorf("node address %q: give an IP address (the API server dials it)", o.Address)
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.Port < 0 || o.Port > 65535 {
		return o, fmt.Errorf("kubelet port %d: give a port from 1 to 65535", o.Port)
	}
	if o.EndpointKind == "" {
		o.EndpointKind = EndpointLocal
	}
	if o.KubeletVersion == "" {
		o.KubeletVersion = kubeversion.Get().GitVersion
	}
	capacity := DefaultCapacity()
	for name, q := range o.Capacity {
		if _, ok := capacity[name]; !ok {
			return o, fmt.Errorf("node capacity %s: only cpu, memory, ephemeral-storage and pods can be set", name)
		}
		if q.Sign() <= 0 {
			return o, fmt.Errorf("node capacity %s=%s: give a positive quantity", name, q.String())
		}
		capacity[name] = q
	}
	o.Capacity = capacity
	if o.HealthInterval == 0 {
		o.HealthInterval = DefaultHealthInterval
	}
	if o.LeaseDurationSeconds == 0 {
		o.LeaseDurationSeconds = DefaultLeaseDurationSeconds
	}
	if o.LeaseRenewInterval == 0 {
		o.LeaseRenewInterval = DefaultLeaseRenewInterval
	}
	if o.StatusInterval == 0 {
		o.StatusInterval = DefaultStatusInterval
	}
	if o.HealthInterval < 0 || o.LeaseRenewInterval < 0 || o.StatusInterval < 0 || o.LeaseDurationSeconds < 0 {
		return o, errors.New("node intervals and lease duration must be positive")
	}
	return o, nil
}

// endpoint is host:port of the kubelet API.
func (o Options) endpoint() string {
	return net.JoinHostPort(o.Address, strconv.Itoa(int(o.Port)))
}
