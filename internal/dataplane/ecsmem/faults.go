package ecsmem

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// MaxDelay bounds the delay a request is held by faults (their Delay added up).
const MaxDelay = 30 * time.Second

// maxBody bounds the request bodies the fault layer reads (the API server's own limit is 1 MiB).
const maxBody = 2 << 20

// Error codes of the faults' answers, as ECS spells them (all answered with HTTP 400, as ECS answers
// them; ECS's ServerException is a 500, which the conformance check refuses, so it is not offered).
const (
	CodeThrottling       = "ThrottlingException"
	CodeConflict         = "ConflictException"
	CodeInvalidParameter = "InvalidParameterException"
	CodeClient           = "ClientException"
	CodeAccessDenied     = "AccessDeniedException"
)

// MessageNotIdempotent is what ECS answers a CreateService whose clientToken was used before with
// other parameters.
const MessageNotIdempotent = "Creation of service was not idempotent."

// APIError is an ECS error answer: HTTP 400 with {"__type": Code, "message": Message}.
type APIError struct {
	Code    string
	Message string
}

// Request is one request as the fault layer sees it.
type Request struct {
	// Op is the operation, from the X-Amz-Target header (e.g. "UpdateService").
	Op string
	// Body is the request's JSON (awsJson1_1: the ECS member names, e.g. "serviceName").
	Body []byte
}

// Decode unmarshals the body into v (a struct with the ECS member names as JSON tags, or a map).
func (r *Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Member returns the top-level string member name of the body ("" when absent or not a string),
// e.g. Member("serviceName") of a CreateService.
func (r *Request) Member(name string) string {
	var m map[string]any
	if err := r.Decode(&m); err != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

// Fault is one programmed misbehaviour of the ECS API. A request matches when its operation is Op
// and Match (if set) returns true.
type Fault struct {
	// Op is the operation (ecsapi.OpUpdateService, ...); required.
	Op string
	// Match, when set, narrows the fault to the requests for which it returns true.
	Match func(*Request) bool
	// Times is how many matching requests the fault applies to; 0: every one until removed.
	Times int
	// Delay holds a matching request this long before it is served (the delays of all matching
	// faults add up, bounded by MaxDelay); the client giving up ends the wait.
	Delay time.Duration
	// Err answers a matching request with this error instead of serving it.
	Err *APIError
	// Land serves the request first (it takes effect) and then answers Err instead of its
	// response: a write that landed while its answer was lost or refused.
	Land bool
	// Respond answers a matching request with what it returns (HTTP 200, encoded as JSON, checked
	// against the ECS model by the client) instead of serving it.
	Respond func(*Request) any
}

// Throttle answers the next times requests of op with ThrottlingException ("Rate exceeded."), as ECS
// does when an account's token bucket for op is empty.
func Throttle(op string, times int) Fault {
	return Fault{Op: op, Times: times, Err: &APIError{Code: CodeThrottling, Message: "Rate exceeded."}}
}

// Refuse answers the next times requests of op with the error code and message, without serving
// them.
func Refuse(op, code, message string, times int) Fault {
	return Fault{Op: op, Times: times, Err: &APIError{Code: code, Message: message}}
}

// NotIdempotent lets the next CreateService land and answers it with the InvalidParameterException
// ECS gives a clientToken reused with other parameters: the service exists, the caller was told
// it conflicts.
func NotIdempotent() Fault {
	return Fault{Op: ecsapi.OpCreateService, Times: 1, Land: true,
		Err: &APIError{Code: CodeInvalidParameter, Message: MessageNotIdempotent}}
}

// RunTaskFailures answers the next times RunTask requests with no task and one failure (reason, e.g.
// "RESOURCE:MEMORY" or "AGENT", and detail), as ECS reports a task it could not place; nothing is
// started.
func RunTaskFailures(times int, reason, detail string) Fault {
	return Fault{Op: ecsapi.OpRunTask, Times: times, Respond: func(r *Request) any {
		var in struct {
			TaskDefinition string `json:"taskDefinition"`
		}
		_ = r.Decode(&in)
		f := map[string]string{"reason": reason, "arn": in.TaskDefinition}
		if detail != "" {
			f["detail"] = detail
		}
		return map[string]any{"tasks": []any{}, "failures": []any{f}}
	}}
}

// Slow holds every request of op for d (bounded by MaxDelay) before serving it.
func Slow(op string, d time.Duration) Fault { return Fault{Op: op, Delay: d} }

// Injected is a fault in effect.
type Injected struct {
	f       Fault
	owner   *faults
	fired   int
	removed bool
}

// Fired returns how many requests the fault applied to.
func (i *Injected) Fired() int {
	i.owner.mu.Lock()
	defer i.owner.mu.Unlock()
	return i.fired
}

// Remove ends the fault; requests already held by its delay are served as programmed.
func (i *Injected) Remove() {
	i.owner.mu.Lock()
	defer i.owner.mu.Unlock()
	i.removed = true
}

// Inject puts f in effect, after the faults injected before it, and returns its handle. A fault
// without Op, with both Err and Respond, or with Land but no Err is a mistake of the test, which
// fails. Call it from the test's goroutine.
func (e *ECS) Inject(f Fault) *Injected {
	e.t.Helper()
	if f.Op == "" || (f.Err != nil && f.Respond != nil) || (f.Land && f.Err == nil) || f.Delay < 0 || f.Times < 0 {
		e.t.Fatalf("ecsmem: invalid fault %+v: set Op, at most one of Err and Respond (Land needs Err), no negative Times or Delay", f)
	}
	return e.faults.add(f)
}

// faults holds the faults in effect and the request counts.
type faults struct {
	mu       sync.Mutex
	list     []*Injected
	received map[string]int
	handled  map[string]int
}

func newFaults() *faults {
	return &faults{received: map[string]int{}, handled: map[string]int{}}
}

func (fs *faults) add(f Fault) *Injected {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	i := &Injected{f: f, owner: fs}
	fs.list = append(fs.list, i)
	return i
}

func (fs *faults) requests(op string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.received[op]
}

func (fs *faults) served(op string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.handled[op]
}

// plan is what the faults matching one request make of it.
type plan struct {
	delay   time.Duration
	answer  *Fault // the first fault that answers (Err or Respond); nil: serve normally
	request *Request
}

// take counts the request and consumes one application of every fault it matches. Match runs
// outside the lock.
func (fs *faults) take(req *Request) plan {
	fs.mu.Lock()
	fs.received[req.Op]++
	var candidates []*Injected
	for _, i := range fs.list {
		if !i.removed && i.f.Op == req.Op && (i.f.Times == 0 || i.fired < i.f.Times) {
			candidates = append(candidates, i)
		}
	}
	fs.mu.Unlock()
	var matching []*Injected
	for _, i := range candidates {
		if i.f.Match == nil || i.f.Match(req) {
			matching = append(matching, i)
		}
	}
	p := plan{request: req}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, i := range matching {
		if i.removed || (i.f.Times > 0 && i.fired >= i.f.Times) {
			continue // used up or removed meanwhile by a concurrent request
		}
		answers := i.f.Err != nil || i.f.Respond != nil
		if answers && p.answer != nil {
			continue // an earlier fault answers this request; this one waits for the next
		}
		i.fired++
		p.delay += i.f.Delay
		if answers {
			f := i.f
			p.answer = &f
		}
	}
	p.delay = min(p.delay, MaxDelay)
	return p
}

func (fs *faults) countServed(op string) {
	fs.mu.Lock()
	fs.handled[op]++
	fs.mu.Unlock()
}

// wire is the fault layer in front of the data plane's API server.
type wire struct {
	next   http.Handler
	faults *faults
}

func (w *wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeError(rw, http.StatusBadRequest, &APIError{Code: "SerializationException", Message: "reading the request body: " + err.Error()})
		return
	}
	req := &Request{Op: strings.TrimPrefix(r.Header.Get("X-Amz-Target"), api.TargetPrefix), Body: body}
	p := w.faults.take(req)
	if p.delay > 0 {
		timer := time.NewTimer(p.delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return // the client gave up; nothing was served
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch f := p.answer; {
	case f == nil:
		w.faults.countServed(req.Op)
		w.next.ServeHTTP(rw, r)
	case f.Respond != nil:
		writeJSON(rw, http.StatusOK, f.Respond(req))
	case f.Land:
		w.faults.countServed(req.Op)
		w.next.ServeHTTP(httptest.NewRecorder(), r) // it takes effect; its answer is lost
		writeError(rw, http.StatusBadRequest, f.Err)
	default:
		writeError(rw, http.StatusBadRequest, f.Err)
	}
}

func writeError(rw http.ResponseWriter, status int, e *APIError) {
	rw.Header().Set("X-Amzn-ErrorType", e.Code)
	writeJSON(rw, status, map[string]string{"__type": e.Code, "message": e.Message})
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		raw = []byte(`{"__type":"ServerException","message":"ecsmem: encoding a fault's response failed"}`)
	}
	rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
	rw.Header().Set("X-Amzn-RequestId", model.NewUUID())
	rw.WriteHeader(status)
	_, _ = rw.Write(raw)
}
