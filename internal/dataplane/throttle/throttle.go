package throttle

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/time/rate"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Code and Message of the answer to a throttled request, as ECS answers it.
const (
	Code    = "ThrottlingException"
	Message = "Rate exceeded."
)

// Handler is an http.Handler that throttles the ECS requests to next by limits' buckets.
type Handler struct {
	next    http.Handler
	ops     map[string]*rate.Limiter // by operation; operations of one bucket share its limiter
	mu      sync.Mutex
	counted map[string]int
}

// New wraps next with the buckets of limits (ecsapi.DefaultLimits() for ECS's own).
func New(next http.Handler, limits ecsapi.Limits) *Handler {
	buckets := map[string]*rate.Limiter{}
	for name, b := range limits.Buckets {
		buckets[name] = rate.NewLimiter(rate.Limit(b.PerSecond), b.Burst)
	}
	ops := map[string]*rate.Limiter{}
	for op, bucket := range limits.Ops {
		if l, ok := buckets[bucket]; ok {
			ops[op] = l
		}
	}
	return &Handler{next: next, ops: ops, counted: map[string]int{}}
}

// ServeHTTP answers ThrottlingException when the request's bucket is empty, and passes it on
// otherwise.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if !strings.HasPrefix(target, api.TargetPrefix) {
		h.next.ServeHTTP(rw, r)
		return
	}
	op := strings.TrimPrefix(target, api.TargetPrefix)
	if l, ok := h.ops[op]; ok && !l.Allow() {
		h.mu.Lock()
		h.counted[op]++
		h.mu.Unlock()
		raw, _ := json.Marshal(map[string]string{"__type": Code, "message": Message})
		rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
		rw.Header().Set("X-Amzn-ErrorType", Code)
		rw.WriteHeader(http.StatusBadRequest)
		_, _ = rw.Write(raw)
		return
	}
	h.next.ServeHTTP(rw, r)
}

// Throttled returns how many requests were throttled, by operation.
func (h *Handler) Throttled() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.counted)
}
