package ecstest

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Wire counts the ECS requests an SDK client wrote to the connection, by operation (the
// X-Amz-Target header's operation, e.g. "UpdateService"); each SDK attempt counts once. Unlike
// ecsapi.Counting, which counts every call made, it leaves out the calls that never left the
// process, such as those a stopping controller makes with a cancelled context, so a test can
// assert what reached ECS across a controller restart.
type Wire struct {
	mu    sync.Mutex
	calls map[string]int
}

// Calls returns a copy of the counts by operation.
func (w *Wire) Calls() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.calls)
}

// Writes returns how many requests of operations that change ECS state were written.
func (w *Wire) Writes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for op, k := range w.calls {
		if ecsapi.IsWrite(op) {
			n += k
		}
	}
	return n
}

// Reset sets every count back to zero.
func (w *Wire) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.calls)
}

func (w *Wire) wrote(op string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[op]++
}

// NewWire returns a Wire with no counts; Counted puts it between an SDK client and the connection.
func NewWire() *Wire { return &Wire{calls: map[string]int{}} }

// Counted returns base (an SDK client's HTTPClient, ecs.Options.HTTPClient) with the requests it
// writes in full counted by w, e.g. for a client built elsewhere:
//
//	wire := ecstest.NewWire()
//	sdk := ecs.New(c.Options(), func(o *ecs.Options) { o.HTTPClient = wire.Counted(o.HTTPClient) })
func (w *Wire) Counted(base ecs.HTTPClient) ecs.HTTPClient {
	return doerFunc(func(req *http.Request) (*http.Response, error) {
		target := req.Header.Get("X-Amz-Target")
		op := target[strings.LastIndexByte(target, '.')+1:]
		trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil && op != "" {
				w.wrote(op)
			}
		}}
		return base.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	})
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// WireClient is Client with the requests it writes counted by the returned Wire.
func WireClient(t testing.TB, endpoint string) (ecsapi.API, *Wire) {
	t.Helper()
	cfg, err := ecsapi.LoadConfig(context.Background(), ecsapi.Options{
		Region: Region, AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey,
	})
	if err != nil {
		t.Fatalf("building ECS client: %v", err)
	}
	w := NewWire()
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.HTTPClient = w.Counted(&http.Client{Transport: base})
	}), w
}
