package ecsmem

import (
	"context"
	"net"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/elbv2"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// newBalancer is the in-memory ECS's local ELBv2 (package elbv2, served on the same endpoint): its
// listeners listen on 127.0.0.1 like the real data plane's, but the tasks are fake, so every
// target "answers" a connection with one that is closed at once — TCP health checks pass, HTTP
// ones fail, and a connection through a listener ends without data.
func newBalancer(st *store.Store, opts Options, log logr.Logger, changed func(cluster, id string)) *elbv2.Balancer {
	var clk clock.Clock
	if opts.Clock != nil {
		clk = opts.Clock
	}
	return elbv2.NewBalancer(elbv2.Options{
		Store: st, Logger: log.WithName("elbv2"), Clock: clk, Changed: changed,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			client, target := net.Pipe()
			_ = target.Close()
			return client, nil
		},
	})
}

// runBalancer runs b until the returned stop is called.
func runBalancer(b *elbv2.Balancer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	<-b.Ready()
	return func() { cancel(); <-done }
}
