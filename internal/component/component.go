// Package component is the contract every embedded part of `nodeless up` satisfies: the API server,
// etcd, the controller-manager, the controllers and the local data plane. `up` runs them under one
// errgroup, waits for each one's ready signal in order, and cancels them all when any fails.
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
