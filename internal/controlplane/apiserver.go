package controlplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

// readyPollInterval is how often the components' readiness is polled while they start.
const readyPollInterval = 50 * time.Millisecond

// startGraceOnStop is how long a kube-apiserver told to stop while it starts may still take to
// finish starting (its post-start hooks) before it is stopped anyway; below stopTimeout, so the
// stop itself still fits in the supervisor's bound.
const startGraceOnStop = 10 * time.Second

// APIServer is the real kube-apiserver (with its aggregator and apiextensions server), run
// in-process on 127.0.0.1.
type APIServer struct {
	opts  *apiserveroptions.ServerRunOptions
	admin *rest.Config
	ready chan struct{}
}

func newAPIServer(opts *apiserveroptions.ServerRunOptions, admin *rest.Config) *APIServer {
	return &APIServer{opts: opts, admin: admin, ready: make(chan struct{})}
}

// Name implements component.Component.
func (a *APIServer) Name() string { return "kube-apiserver" }

// Ready implements component.Component; it is closed once /readyz answers ok.
func (a *APIServer) Ready() <-chan struct{} { return a.ready }

// Run implements component.Component. ctx is our own context, not the one from
// genericapiserver.SetupSignalContext: nodeless's main owns the signals.
//
// A stop (ctx ends) while the server starts reaches it only once it is ready, or startGraceOnStop
// later: kube-apiserver runs its post-start hooks on the server's context, and a hook that returns
// an error — as most do when that context ends — makes it exit the whole process with
// klog.Fatalf (k8s.io/apiserver's runPostStartHook), exit status 255 and every goroutine's stack,
// where a Ctrl-C during `nodeless up` should stop quietly. Once ready, every hook has returned
// (each is a /readyz check until it has), so nothing of the kind is left to fail. A hook that fails
// for a reason of its own still exits the process as upstream means it to: nothing is intercepted.
func (a *APIServer) Run(ctx context.Context) error {
	completed, err := a.opts.Complete(ctx)
	if err != nil {
		return fmt.Errorf("completing kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return fmt.Errorf("invalid kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}
	client, err := kubernetes.NewForConfig(a.admin)
	if err != nil {
		return fmt.Errorf("kube-apiserver client: %w", err)
	}
	started := make(chan struct{})
	runCtx, cancelRun := holdUntilStarted(ctx, started, startGraceOnStop)
	defer cancelRun()
	done := make(chan error, 1)
	go func() { done <- apiserverapp.Run(runCtx, completed) }()

	err = waitReady(runCtx, done, readyz(client))
	close(started)
	if err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	close(a.ready)
	if err := <-done; err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	if ctx.Err() == nil {
		return errors.New("kube-apiserver stopped unexpectedly")
	}
	return nil
}

// holdUntilStarted returns a context for a server that must not be stopped half-way through its
// start: it ends once ctx has ended and either started is closed (the server is ready, or gave up
// starting) or grace has passed since ctx ended; cancel ends it at once. Its values are ctx's.
func holdUntilStarted(ctx context.Context, started <-chan struct{}, grace time.Duration) (context.Context, context.CancelFunc) {
	held, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-ctx.Done():
		case <-held.Done():
			return
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-started:
		case <-t.C:
		case <-held.Done():
		}
		cancel()
	}()
	return held, cancel
}

// readyz reports whether the API server answers /readyz with ok.
func readyz(client kubernetes.Interface) func(context.Context) bool {
	return func(ctx context.Context) bool {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok"
	}
}

// waitReady polls ready until it returns true, the component's run function returns (done), or
// ctx ends. A run function that returns before the component is ready is an error even when it
// returns nil, unless ctx was cancelled.
func waitReady(ctx context.Context, done <-chan error, ready func(context.Context) bool) error {
	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	for {
		select {
		case err := <-done:
			if err == nil && ctx.Err() == nil {
				err = errors.New("stopped before it was ready")
			}
			return err
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ok := ready(pctx)
			cancel()
			if ok {
				return nil
			}
		}
	}
}
