package controlplane

import (
	"context"
	"errors"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	"k8s.io/kubernetes/cmd/kube-controller-manager/names"
	kubecontroller "k8s.io/kubernetes/pkg/controller"
	"k8s.io/kubernetes/pkg/controller/tainteviction"
)

// ControllerManager is the real kube-controller-manager, in-process, limited to the controllers in
// Config.Controllers (by default the node-free ones nodeless does not replace).
type ControllerManager struct {
	opts  *kcmoptions.KubeControllerManagerOptions
	admin *rest.Config
	// kubeconfig is the controller-manager's own (its identity for the API server).
	kubeconfig string
	// taintEviction: taint-eviction-controller is one of the controllers, run beside the
	// controller-manager (see runTaintEviction).
	taintEviction bool
	ready         chan struct{}
	// readyCheck tells when the controllers run; see Ready.
	readyCheck func(context.Context) bool
}

func newControllerManager(opts *kcmoptions.KubeControllerManagerOptions, controllers []string,
	admin *rest.Config, kubeconfig string) *ControllerManager {
	m := &ControllerManager{opts: opts, admin: admin, kubeconfig: kubeconfig, ready: make(chan struct{}),
		taintEviction: slices.ContainsFunc(controllers, isTaintEviction)}
	m.readyCheck = func(context.Context) bool { return true }
	if slices.Contains(controllers, "serviceaccount-controller") {
		m.readyCheck = m.defaultServiceAccountExists
	}
	return m
}

// Name implements component.Component.
func (m *ControllerManager) Name() string { return "kube-controller-manager" }

// Ready implements component.Component. When the service-account controller runs, it is closed
// once that controller has created the `default` ServiceAccount in the `default` namespace: proof
// that the controllers run (and what the ServiceAccount admission plugin needs before any Pod can
// be created). Otherwise it is closed as soon as the controllers have started.
func (m *ControllerManager) Ready() <-chan struct{} { return m.ready }

// Run implements component.Component.
//
// Embedding trap: the controller-manager's controllers stop only when ctx is cancelled; Up cancels
// it before stopping the API server. Left running, they retry against a stopping API server and
// shutdown takes over a minute.
func (m *ControllerManager) Run(ctx context.Context) error {
	c, err := m.opts.Config(ctx, kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(),
		kcmapp.ControllerAliases())
	if err != nil {
		return fmt.Errorf("kube-controller-manager config: %w", err)
	}
	// Room for both senders: Run reads the first error only.
	done := make(chan error, 2)
	go func() { done <- kcmapp.Run(ctx, c.Complete()) }()
	if m.taintEviction {
		ctx, cancel := context.WithCancel(ctx)
		evictionDone := make(chan struct{})
		defer func() { cancel(); <-evictionDone }()
		go func() {
			defer close(evictionDone)
			if err := m.runTaintEviction(ctx); err != nil {
				done <- err
			}
		}()
	}

	if err := waitReady(ctx, done, m.readyCheck); err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}
	close(m.ready)
	if err := <-done; err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}
	if ctx.Err() == nil {
		return errors.New("kube-controller-manager stopped unexpectedly")
	}
	return nil
}

func (m *ControllerManager) defaultServiceAccountExists(ctx context.Context) bool {
	client, err := kubernetes.NewForConfig(m.admin) // cheap: no connection until the request
	if err != nil {
		return false
	}
	_, err = client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
	return err == nil
}

// isTaintEviction reports whether name is taint-eviction-controller.
func isTaintEviction(name string) bool { return name == names.TaintEvictionController }

// runTaintEviction runs the upstream taint-eviction-controller (pkg/controller/tainteviction,
// unchanged) until ctx ends, as kube-controller-manager would, but on informers of its own.
// Upstream, it finds a node's Pods through the Pod informer's spec.nodeName index, which only
// node-lifecycle-controller and daemonset-controller add (controller.AddPodNodeNameIndexer); both
// are off under nodeless (controllers.go says why), so inside kube-controller-manager every
// NoExecute taint put on a node failed with "Index with name spec.nodeName does not exist" and
// evicted nothing. Same identity (the controller-manager's kubeconfig) and name; one Pod and one
// Node informer more.
func (m *ControllerManager) runTaintEviction(ctx context.Context) error {
	cfg, err := RESTConfigFromKubeconfig(m.kubeconfig)
	if err != nil {
		return fmt.Errorf("%s: %w", names.TaintEvictionController, err)
	}
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(cfg, names.TaintEvictionController))
	if err != nil {
		return fmt.Errorf("%s: %w", names.TaintEvictionController, err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods()
	if err := kubecontroller.AddPodNodeNameIndexer(pods.Informer()); err != nil {
		return fmt.Errorf("%s: indexing Pods by node: %w", names.TaintEvictionController, err)
	}
	tec, err := tainteviction.New(ctx, client, pods, factory.Core().V1().Nodes(), names.TaintEvictionController)
	if err != nil {
		return fmt.Errorf("%s: %w", names.TaintEvictionController, err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	tec.Run(ctx)
	return nil
}
