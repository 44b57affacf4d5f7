package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/elbv2"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/secretstore"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// TargetPrefix is the X-Amz-Target prefix of the ECS API.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113."

// SecretsManagerTargetPrefix is the X-Amz-Target prefix of the Secrets Manager API, served on the
// same endpoint for the data plane's own secret store.
const SecretsManagerTargetPrefix = "secretsmanager."

// SigV4 service names of the APIs served.
const (
	serviceECS            = "ecs"
	serviceSecretsManager = "secretsmanager"
)

// maxBodyBytes bounds a request body; ECS task definitions are at most 64 KiB.
const maxBodyBytes = 1 << 20

// Engine is told what the API changed; the service scheduler implements it. Its methods never block.
type Engine interface {
	// TaskCreated is called for each task RunTask stored as PROVISIONING.
	TaskCreated(cluster, taskID string)
	// TaskStopRequested is called when StopTask set a task's desiredStatus to STOPPED.
	TaskStopRequested(cluster, taskID string)
	// ServiceChanged is called when Create/Update/DeleteService changed a service.
	ServiceChanged(cluster, service string)
}

// Options configures the server.
type Options struct {
	Store  *store.Store
	Engine Engine
	ARNs   model.ARNs
	// Secrets is the data plane's Secrets Manager (default: one over Store).
	Secrets *secretstore.Store
	// Credentials are the only credentials whose SigV4 signatures the server accepts.
	Credentials aws.Credentials
	Logger      logr.Logger
	// Clock is the time source for timestamps and signature expiry (clock.RealClock{} when nil).
	Clock clock.Clock
	// Executor runs ExecuteCommand's commands (nil: ECS Exec is refused; see SetExecutor).
	Executor Executor
	// LoadBalancers serves the ELBv2 API on the same endpoint (nil: not served).
	LoadBalancers *elbv2.API
	// Strict applies Fargate's rules where the data plane could do without them: an awsvpc task or
	// service needs networkConfiguration with subnets and security groups in EC2's form, and a
	// task definition runs on FARGATE only when it requires FARGATE compatibility (see
	// checkLaunch and package fargate). Off, a launch without networkConfiguration gets the
	// local VPC's subnet.
	Strict bool
}

// Server serves the ECS API.
type Server struct {
	store  *store.Store
	engine Engine
	arns   model.ARNs
	creds  aws.Credentials
	log    logr.Logger
	clock  clock.Clock
	model  *ecsmodel.Model
	ops    map[string]operation
	// inputs are the Go types the ECS operations decode their requests into, by operation (set by
	// handle; the member walk of the tests reads them).
	inputs map[string]reflect.Type
	// jsonAPIs are the APIs served beside ECS (Secrets Manager, Cloud Map), by SigV4 service name.
	jsonAPIs map[string]*jsonAPI
	// exec serves ECS Exec: the executor and the sessions ExecuteCommand opened.
	exec *execState
	// strict is Options.Strict.
	strict bool
	// elbv2 serves the ELBv2 API (elbv2.go).
	elbv2 *elbv2.API
}

// operation decodes a request body into the operation's input and serves it.
type operation func(ctx context.Context, body []byte) (any, error)

// NewServer returns the ECS API handler.
func NewServer(opts Options) http.Handler {
	return newServer(opts)
}

func newServer(opts Options) *Server {
	s := &Server{
		store: opts.Store, engine: opts.Engine, arns: opts.ARNs, creds: opts.Credentials,
		log: opts.Logger, clock: opts.Clock, strict: opts.Strict, elbv2: opts.LoadBalancers,
	}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	s.model, _ = ecsmodel.Load() // embedded; a failure shows as ServerException on every request
	s.inputs = map[string]reflect.Type{}
	s.ops = s.operations()
	secrets := opts.Secrets
	if secrets == nil {
		secrets = secretstore.New(opts.Store, opts.ARNs, s.clock)
	}
	s.jsonAPIs = map[string]*jsonAPI{
		serviceSecretsManager: secretsAPI(secrets),
		serviceCloudMap:       cloudMapAPI(cloudmap.New(opts.Store, opts.ARNs, s.clock)),
	}
	s.exec = newExecState(opts.Executor)
	return s
}

// handle adapts a typed handler into an operation: the body is checked against the ECS model and
// the Go input type, then decoded.
func handle[In any, Out any](s *Server, name string, fn func(context.Context, *In) (*Out, error)) operation {
	s.inputs[name] = reflect.TypeFor[In]()
	return func(ctx context.Context, body []byte) (any, error) {
		if err := s.precheck(name, body); err != nil {
			return nil, err
		}
		in := new(In)
		if err := s.decode(name, body, in); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	}
}

func (s *Server) decode(op string, body []byte, in any) error {
	if s.model == nil {
		return errors.New("the embedded ECS model did not load")
	}
	if err := s.model.CheckInput(op, body, reflect.TypeOf(in)); err != nil {
		var fe *ecsmodel.FieldError
		if !errors.As(err, &fe) {
			return err
		}
		if fe.IsSerialization() {
			return newError(errSerialization, "%s", fe.Error())
		}
		return invalidParameter("%s", unsupportedMessage(fe))
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return newError(errSerialization, "decoding the request: %v", err)
	}
	return nil
}

// ServeHTTP serves one awsJson1_1 request of the ECS API or of the Secrets Manager API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, dataChannelPath) {
		s.serveDataChannel(w, r) // ExecuteCommand's session: authenticated by its token
		return
	}
	if isQueryRequest(r) {
		s.serveELBv2(w, r) // the ELBv2 API (Query protocol)
		return
	}
	r = r.WithContext(withRequestHost(r.Context(), r.Host))
	reqID := model.NewUUID()
	w.Header().Set("X-Amzn-RequestId", reqID)
	log := s.log.WithValues("requestId", reqID)
	service, op := splitTarget(r.Header.Get("X-Amz-Target"))
	out, err := s.serve(r, service, op)
	if err != nil {
		s.writeError(w, log, service, op, err)
		return
	}
	log.V(1).Info("request served", "operation", op)
	writeJSON(w, http.StatusOK, out)
}

// splitTarget returns the API (its SigV4 service name) and the operation an X-Amz-Target names;
// the service is ECS's for a target of neither API.
func splitTarget(target string) (service, op string) {
	if op, ok := strings.CutPrefix(target, SecretsManagerTargetPrefix); ok {
		return serviceSecretsManager, op
	}
	if op, ok := strings.CutPrefix(target, CloudMapTargetPrefix); ok {
		return serviceCloudMap, op
	}
	return serviceECS, strings.TrimPrefix(target, TargetPrefix)
}

func (s *Server) serve(r *http.Request, service, op string) (any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, newError(errSerialization, "reading the request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return nil, newError(errRequestEntityTooLarge, "the request body is larger than %d bytes", maxBodyBytes)
	}
	if err := s.verifySignature(r, body, service); err != nil {
		return nil, err
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, newError(errUnknownOperation,
			"the ECS API is served by POST / with an X-Amz-Target header; got %s %s", r.Method, r.URL.Path)
	}
	target := r.Header.Get("X-Amz-Target")
	if a, ok := s.jsonAPIs[service]; ok {
		return a.serve(r.Context(), target, op, body)
	}
	fn, ok := s.ops[op]
	if !strings.HasPrefix(target, TargetPrefix) || !ok {
		return nil, newError(errUnknownOperation,
			"unknown operation %q: the X-Amz-Target header must be %s<Operation>, one of the operations the local data plane serves",
			target, TargetPrefix)
	}
	return fn(r.Context(), body)
}

func (s *Server) writeError(w http.ResponseWriter, log logr.Logger, service, op string, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		log.Error(err, "request failed", "operation", op)
		ae = &apiError{Type: errServer, Status: http.StatusInternalServerError,
			Message: "the local data plane failed to serve the request: " + err.Error()}
	} else {
		log.V(1).Info("request refused", "operation", op, "type", ae.Type, "message", ae.Message)
	}
	// Secrets Manager spells the member "Message", ECS "message" (SDKs read either).
	msgKey := "message"
	if service != serviceECS { // Cloud Map spells it "Message" too
		msgKey = "Message"
	}
	body := map[string]any{"__type": ae.Type, msgKey: ae.Message}
	if len(ae.ResourceIDs) > 0 {
		body["resourceIds"] = ae.ResourceIDs
	}
	for k, v := range ae.Members {
		body[k] = v
	}
	w.Header().Set("X-Amzn-ErrorType", ae.Type)
	writeJSON(w, ae.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		raw = []byte(fmt.Sprintf(`{"__type":%q,"message":"encoding the response failed"}`, errServer))
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}
