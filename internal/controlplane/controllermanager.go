package controlplane

import (
	"context"
	"errors"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// ControllerManager is the real kube-controller-manager, in-process, limited to the controllers in
// Config.Controllers (by default the node-free ones nodeless does not replace).
type ControllerManager struct {
	opts  *kcmoptions.KubeControllerManagerOptions
	admin *rest.Config
	ready chan struct{}
	// readyCheck tells when the controllers run; see Ready.
	readyCheck func(context.Context) bool
}

func newControllerManager(opts *kcmoptions.KubeControllerManagerOptions, controllers []string,
	admin *rest.Config) *ControllerManager {
	m := &ControllerManager{opts: opts, admin: admin, ready: make(chan struct{})}
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
	done := make(chan error, 1)
	go func() { done <- kcmapp.Run(ctx, c.Complete()) }()

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
