// Package component is the contract every embedded part of `nodeless up` satisfies: etcd, the API
// server, the controller-manager, the scheduler, the controllers and the local data plane. `up`
// (controlplane.Up) starts them one after the other, waiting for each one's ready signal, gives
// each its own context, and stops them in reverse order when ctx ends or any one fails (not an
// errgroup: the order of shutdown matters, see controlplane's supervisor).
package component

import "context"

// Component is one embedded part of nodeless.
//
// Run blocks until ctx is cancelled or the component fails; it returns nil after a clean shutdown
// caused by ctx, and an error naming the cause otherwise. Ready is closed once the component serves
// (for a server: it accepts and answers requests); it is never closed if Run fails first. Run is
// called at most once.
type Component interface {
	Name() string
	Run(ctx context.Context) error
	Ready() <-chan struct{}
}
