package dataplane

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestShutdownSkipsUnusedConnections: a connection that never sent a request (what a client's
// cancelled dial leaves behind) does not hold the shutdown; a request under way still completes.
func TestShutdownSkipsUnusedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	conns := &unusedConns{}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ConnState: conns.track,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(started)
			time.Sleep(200 * time.Millisecond)
			_, _ = io.WriteString(w, "done")
		})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	unused, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unused.Close() }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if err := conns.shutdown(ctx, srv); err != nil {
		t.Fatalf("shutdown: %v (an unused connection held it)", err)
	}
	if body := <-got; body != "done" {
		t.Errorf("the request under way got %q, want done", body)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
}
