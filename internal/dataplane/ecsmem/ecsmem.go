package ecsmem

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/elbv2"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/fakeruntime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/scheduler"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/throttle"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Region and Account of the in-memory ECS's ARNs (as the local data plane's defaults).
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// DefaultHealthyAfterRunning is how long a task without an essential container health check must
// be RUNNING before it counts as healthy (toward minimumHealthyPercent, for a rollout to complete),
// unless Options say otherwise: short, so that a Service is Ready within a second rather than after
// ECS's 40 s (scheduler.DefaultHealthyAfterRunning, the data plane's default).
const DefaultHealthyAfterRunning = 300 * time.Millisecond

// startTimeout bounds the scheduler's start (recovery from an empty store).
const startTimeout = 30 * time.Second

// Options configure an in-memory ECS; the zero value is ready to use.
type Options struct {
	// Clock drives the scheduler: its resync, the wait before a task counts as healthy, the
	// retention of stopped tasks (default: the real clock). A fake clock (k8s.io/utils/clock/testing)
	// makes them step only when the test steps it. The API server keeps the real clock: SigV4 signatures carry the
	// client's real time.
	Clock clock.WithTicker
	// HealthyAfterRunning: see DefaultHealthyAfterRunning.
	HealthyAfterRunning time.Duration
	// ResyncPeriod is how often the scheduler looks at every service and task again (default: the
	// scheduler's, 10 s).
	ResyncPeriod time.Duration
	// MaxAttempts of the SDK client's retryer (default: the SDK's, 3 attempts).
	MaxAttempts int
	// Logger receives the data plane's logs (default: the test's log, errors and start failures).
	Logger *logr.Logger
	// Throttle, when set, throttles the ECS API with these buckets as ECS does (package
	// throttle; ecsapi.DefaultLimits() for ECS's own): a throttled request is neither received
	// nor served in the counts of Requests, Served and Wire; Throttled counts it.
	Throttle *ecsapi.Limits
	// Strict applies Fargate's rules where the data plane could do without them (api.Options.Strict).
	Strict bool
}

// ECS is a running in-memory ECS.
type ECS struct {
	// Endpoint is the URL the API is served on (http://127.0.0.1:PORT).
	Endpoint string
	// Region and Credentials are what clients must sign with.
	Region      string
	Credentials aws.Credentials
	// Client is the aws-sdk-go-v2 ECS client for Endpoint, with the SDK's standard retryer; every
	// response it receives is checked against the ECS model (a response that does not conform
	// fails the test).
	Client *ecs.Client
	// Runtime is the fake container runtime: the tasks "running" (Live, Task) and ways to change
	// them (Exit, SetHealth, RunAll).
	Runtime *fakeruntime.Runtime
	// ARNs builds the ARNs this ECS hands out.
	ARNs model.ARNs

	t        testing.TB
	faults   *faults
	starts   *startFaults
	throttle *throttle.Handler
}

var _ ecsapi.API = (*ecs.Client)(nil)

// Start runs an in-memory ECS for the duration of the test.
func Start(t testing.TB, opts Options) *ECS {
	t.Helper()
	log := logFor(t, opts.Logger)
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatalf("opening the in-memory ECS's store: %v", err)
	}
	creds, err := credentials.Generate()
	if err != nil {
		t.Fatalf("generating credentials: %v", err)
	}
	e := &ECS{
		Region: Region, Credentials: creds, ARNs: model.ARNs{Region: Region, Account: Account}, t: t,
		Runtime: fakeruntime.New(), faults: newFaults(), starts: &startFaults{},
	}
	e.Runtime.OnStart = e.starts.onStart // set once, before anything runs: the rules change under a lock
	var sched *scheduler.Scheduler
	lb := newBalancer(st, opts, log, func(cluster, id string) { sched.TargetChanged(cluster, id) })
	sched = scheduler.New(scheduler.Options{
		Store: st, Runtime: e.Runtime, ARNs: e.ARNs, Clock: opts.Clock, Logger: log.WithName("scheduler"),
		ResyncPeriod: opts.ResyncPeriod, HealthyAfterRunning: orDefault(opts.HealthyAfterRunning, DefaultHealthyAfterRunning),
		TargetHealth: lb, Targets: lb,
	})
	e.Runtime.SetObserver(sched.Observe)
	stop := run(t, sched)
	stopLB := runBalancer(lb)
	handler := api.NewServer(api.Options{
		Store: st, Engine: sched, ARNs: e.ARNs, Credentials: creds, Logger: log.WithName("api"), Strict: opts.Strict,
		LoadBalancers: elbv2.NewAPI(st, e.ARNs, lb),
	})
	var h http.Handler = &wire{next: handler, faults: e.faults}
	if opts.Throttle != nil {
		e.throttle = throttle.New(h, *opts.Throttle)
		h = e.throttle
	}
	srv := httptest.NewServer(h)
	e.Endpoint = srv.URL
	e.Client = newClient(t, e.Endpoint, creds, opts.MaxAttempts)
	t.Cleanup(func() {
		srv.Close() // waits for the requests under way
		stopLB()
		stop()
		if err := st.Close(); err != nil {
			t.Errorf("closing the in-memory ECS's store: %v", err)
		}
	})
	return e
}

// run starts the scheduler and returns what stops it.
func run(t testing.TB, sched *scheduler.Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sched.Run(ctx) }()
	select {
	case <-sched.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("the in-memory ECS's scheduler stopped before it was ready: %v", err)
	case <-time.After(startTimeout):
		cancel()
		t.Fatalf("the in-memory ECS's scheduler was not ready within %s", startTimeout)
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the in-memory ECS's scheduler: %v", err)
		}
	}
}

func newClient(t testing.TB, endpoint string, creds aws.Credentials, maxAttempts int) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		RetryMaxAttempts: maxAttempts,
		HTTPClient: &http.Client{Transport: &ecsmodel.Transport{Report: func(op string, problems []error) {
			t.Errorf("%s response of the in-memory ECS does not conform to the ECS model: %v", op, problems)
		}}},
	})
}

func logFor(t testing.TB, l *logr.Logger) logr.Logger {
	if l != nil {
		return *l
	}
	if tt, ok := t.(*testing.T); ok {
		return testr.NewWithOptions(tt, testr.Options{Verbosity: 0})
	}
	return logr.Discard()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Throttled returns how many requests were answered ThrottlingException by Options.Throttle, by
// operation (nil without it).
func (e *ECS) Throttled() map[string]int {
	if e.throttle == nil {
		return nil
	}
	return e.throttle.Throttled()
}

// Requests returns how many requests of op (ecsapi.OpUpdateService, ...) reached the in-memory ECS,
// those answered by a fault included: the calls at the wire, SDK retries counted one by one.
func (e *ECS) Requests(op string) int { return e.faults.requests(op) }

// Served returns how many requests of op the data plane's API server handled (whatever it answered,
// and including the requests of a Fault with Land): the requests that could have changed something.
func (e *ECS) Served(op string) int { return e.faults.served(op) }

// Wire counts, by operation, the requests the data plane's API server handled (Served), shaped as
// ecsapi.Counting counts the calls of a client, so that a test can count the calls that reached ECS
// rather than those a client made: a controller that stops makes calls with a cancelled context,
// which ecsapi.Counting counts and ECS never sees.
type Wire struct{ f *faults }

// Wire returns the counts at the wire.
func (e *ECS) Wire() *Wire { return &Wire{f: e.faults} }

// Calls returns a copy of the served requests by operation.
func (w *Wire) Calls() map[string]int {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	return maps.Clone(w.f.handled)
}

// Writes returns the served requests of operations that change ECS state (all but Describe* and
// List*), and the Secrets Manager store's (counted as "secretsmanager.<Operation>"; all but
// Describe*, List* and GetSecretValue).
func (w *Wire) Writes() int {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	n := 0
	for op, k := range w.f.handled {
		op = strings.TrimPrefix(op, "secretsmanager.")
		if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "List") && op != "GetSecretValue" {
			n += k
		}
	}
	return n
}

// Reset sets every count back to zero: those of Calls and Writes, and Requests and Served.
func (w *Wire) Reset() {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	clear(w.f.handled)
	clear(w.f.received)
}
