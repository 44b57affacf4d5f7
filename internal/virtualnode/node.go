package virtualnode

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-logr/logr"
	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	vkslog "github.com/virtual-kubelet/virtual-kubelet/log/slog"
	vknode "github.com/virtual-kubelet/virtual-kubelet/node"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// healthTimeout bounds one call of Options.Health.
const healthTimeout = 10 * time.Second

// Node registers the virtual node and keeps it Ready (see the package doc). It implements
// component.Component; Ready is closed once the Node is registered and its status current.
type Node struct {
	opts   Options
	client kubernetes.Interface
	log    logr.Logger
	ready  chan struct{}

	mu      sync.Mutex
	notify  func(*corev1.Node) // virtual-kubelet's status callback, once Run started
	health  health
	current *corev1.Node // the node as last handed to virtual-kubelet
	// taintsStale is set while the not-ready taint may be out of step (a failed update).
	taintsStale bool
}

// NewNode returns the node; nothing is registered before Run. The client needs nodes (get,
// create, patch, status), leases in kube-node-lease (get, create, update).
func NewNode(client kubernetes.Interface, opts Options, log logr.Logger) (*Node, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Node{opts: o, client: client, log: log, ready: make(chan struct{})}, nil
}

// Name implements component.Component.
func (n *Node) Name() string { return "virtual-node" }

// Ready implements component.Component.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Options are the node's options with the defaults filled in.
func (n *Node) Options() Options { return n.opts }

// Run registers the Node (or takes over the one of an earlier run), renews its Lease and reports
// its status until ctx ends. It leaves the Node when it returns (see the package doc).
func (n *Node) Run(ctx context.Context) error {
	ctx = vklog.WithLogger(ctx, vkslog.FromSlog(slog.New(logr.ToSlogHandler(n.log))))
	n.mu.Lock()
	n.health = n.check(ctx)
	n.current = newNode(n.opts, n.health, metav1.Now())
	initial := n.current.DeepCopy()
	n.mu.Unlock()
	nodes := n.client.CoreV1().Nodes()
	nc, err := vknode.NewNodeController(n, initial, nodes,
		vknode.WithNodeEnableLeaseV1WithRenewInterval(n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease),
			n.opts.LeaseDurationSeconds, n.opts.LeaseRenewInterval),
		vknode.WithNodeStatusUpdateInterval(n.opts.StatusInterval),
		vknode.WithNodeStatusUpdateErrorHandler(n.reregister),
	)
	if err != nil {
		return fmt.Errorf("virtual node %s: %w", n.opts.NodeName, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- nc.Run(ctx) }()
	select {
	case err := <-errc:
		return n.runErr(err)
	case <-nc.Ready():
	}
	if err := n.syncTaints(ctx); err != nil {
		return err
	}
	n.log.Info("virtual node registered", "node", n.opts.NodeName, "kubeletEndpoint", n.opts.endpoint())
	close(n.ready)
	go n.watchHealth(ctx)
	return n.runErr(<-errc)
}

func (n *Node) runErr(err error) error {
	if err != nil {
		return fmt.Errorf("virtual node %s: %w", n.opts.NodeName, err)
	}
	return nil
}

// Ping implements virtual-kubelet's NodeProvider: the node lives as long as this process. The
// data plane's health is a condition (see watchHealth), not a failed ping: a failed ping stops
// the Lease and the status updates, and the node would look like a dead kubelet (Unknown)
// instead of one that says what is wrong.
func (n *Node) Ping(ctx context.Context) error { return ctx.Err() }

// NotifyNodeStatus implements virtual-kubelet's NodeProvider.
func (n *Node) NotifyNodeStatus(_ context.Context, cb func(*corev1.Node)) {
	n.mu.Lock()
	n.notify = cb
	n.mu.Unlock()
}

// check calls Options.Health once.
func (n *Node) check(ctx context.Context) health {
	if n.opts.Health == nil {
		return health{}
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	return health{err: n.opts.Health(ctx)}
}

// watchHealth checks the data plane every HealthInterval and reports a change of its state at
// once (the periodic status update carries it too).
func (n *Node) watchHealth(ctx context.Context) {
	if n.opts.Health == nil {
		return
	}
	t := time.NewTicker(n.opts.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.setHealth(ctx, n.check(ctx))
	}
}

// setHealth records h and hands virtual-kubelet the new status when Ready changed.
func (n *Node) setHealth(ctx context.Context, h health) {
	if ctx.Err() != nil {
		return
	}
	n.mu.Lock()
	changed := (h.err == nil) != (n.health.err == nil) ||
		(h.err != nil && n.health.err != nil && h.err.Error() != n.health.err.Error())
	n.health = h
	retryTaints := n.taintsStale
	if !changed || n.notify == nil {
		n.mu.Unlock()
		if retryTaints {
			n.updateNotReadyTaint(ctx)
		}
		return
	}
	next := newNode(n.opts, h, metav1.Now())
	carryTransitions(next.Status.Conditions, n.current.Status.Conditions)
	n.current = next
	notify := n.notify
	n.mu.Unlock()
	if h.err != nil {
		n.log.Info("data plane unreachable, node not ready", "error", h.err.Error())
	} else {
		n.log.Info("data plane reachable again, node ready")
	}
	notify(next.DeepCopy())
	n.updateNotReadyTaint(ctx)
}

// updateNotReadyTaint syncs the taints after a change of Ready (Options.NotReadyTaint); a failure
// is retried at the next health check.
func (n *Node) updateNotReadyTaint(ctx context.Context) {
	if !n.opts.NotReadyTaint {
		return
	}
	err := n.syncTaints(ctx)
	if err != nil && ctx.Err() == nil {
		n.log.Error(err, "cannot update the node's not-ready taint, retrying at the next health check")
	}
	n.mu.Lock()
	n.taintsStale = err != nil
	n.mu.Unlock()
}

// reregister creates the Node again when someone deleted it, as a kubelet re-registers; other
// errors stay errors.
func (n *Node) reregister(ctx context.Context, err error) error {
	if !apierrors.IsNotFound(err) {
		return err
	}
	n.mu.Lock()
	node := newNode(n.opts, n.health, metav1.Now())
	n.mu.Unlock()
	if _, cerr := n.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); cerr != nil && !apierrors.IsAlreadyExists(cerr) {
		return fmt.Errorf("registering node %s again: %w", n.opts.NodeName, cerr)
	}
	n.log.Info("virtual node was deleted, registered it again", "node", n.opts.NodeName)
	return n.syncTaints(ctx)
}

// syncTaints brings the Node's taints in step with taintsFor: virtual-kubelet writes a Node's
// spec only when it creates it, and a Node registered by an earlier run may have other options.
func (n *Node) syncTaints(ctx context.Context) error {
	n.mu.Lock()
	set := taintsFor(n.opts, n.health)
	n.mu.Unlock()
	nodes := n.client.CoreV1().Nodes()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := nodes.Get(ctx, n.opts.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		taints, changed := desiredTaints(node.Spec.Taints, set)
		if !changed {
			return nil
		}
		node.Spec.Taints = taints
		_, err = nodes.Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("updating the taints of node %s: %w", n.opts.NodeName, err)
	}
	return nil
}
