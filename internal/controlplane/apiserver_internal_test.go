package controlplane

import (
	"context"
	"testing"
	"time"
)

type ctxKey struct{}

// TestHoldUntilStarted: the kube-apiserver's context outlives a stop that comes while it starts
// until the start completes (else a post-start hook fails on the ended context and kube-apiserver
// exits the process with klog.Fatalf), or until the grace ends; a stop after the start reaches it
// at once; the context keeps the values of the one it holds.
func TestHoldUntilStarted(t *testing.T) {
	t.Run("stopped while starting", func(t *testing.T) {
		ctx, stop := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
		started := make(chan struct{})
		held, cancel := holdUntilStarted(ctx, started, time.Hour)
		defer cancel()
		stop()
		if held.Err() != nil {
			t.Fatal("the server's context ended with the stop, before the server started")
		}
		if v := held.Value(ctxKey{}); v != "v" {
			t.Errorf("value %v, want the held context's", v)
		}
		close(started)
		<-held.Done() // once started, the stop reaches the server
	})
	t.Run("stopped after the start", func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		started := make(chan struct{})
		held, cancel := holdUntilStarted(ctx, started, time.Hour)
		defer cancel()
		close(started)
		if held.Err() != nil {
			t.Fatal("the server's context ended without a stop")
		}
		stop()
		<-held.Done()
	})
	t.Run("a start that does not end within the grace", func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		held, cancel := holdUntilStarted(ctx, make(chan struct{}), time.Millisecond)
		defer cancel()
		stop()
		<-held.Done() // the stop reaches the server once the grace is over
	})
	t.Run("cancel", func(t *testing.T) {
		held, cancel := holdUntilStarted(context.Background(), make(chan struct{}), time.Hour)
		cancel()
		<-held.Done()
	})
}
