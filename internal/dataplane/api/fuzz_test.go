package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/go-logr/logr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

type nopEngine struct{}

func (nopEngine) TaskCreated(string, string)       {}
func (nopEngine) TaskStopRequested(string, string) {}
func (nopEngine) ServiceChanged(string, string)    {}

// FuzzOperation feeds arbitrary bodies to every operation's decoding, validation and handler. A
// body may be refused, but only with an API error (HTTP 400): any other error would be a 500 for a
// client mistake, and a panic would take the server down.
func FuzzOperation(f *testing.F) {
	st, err := store.Open(filepath.Join(f.TempDir(), "state.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	s := newServer(Options{Store: st, Engine: nopEngine{}, ARNs: model.ARNs{Region: "us-east-1", Account: "000000000000"}, Logger: logr.Discard()})
	seed := []struct{ op, body string }{
		{"RegisterTaskDefinition", `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"i","portMappings":[{"containerPort":80}],"healthCheck":{"command":["CMD","true"]}},{"name":"side","image":"i","essential":false,"dependsOn":[{"containerName":"app","condition":"HEALTHY"}]}]}`},
		{"RunTask", `{"taskDefinition":"web","count":2,"clientToken":"t","overrides":{"containerOverrides":[{"name":"app","command":["x"]}]}}`},
		{"CreateService", `{"serviceName":"s","taskDefinition":"web:1","desiredCount":1,"deploymentConfiguration":{"maximumPercent":150,"minimumHealthyPercent":50}}`},
		{"UpdateService", `{"service":"s","desiredCount":3,"forceNewDeployment":true}`},
		{"DescribeTasks", `{"tasks":["0123456789abcdef0123456789abcdef"]}`},
		{"ListTaskDefinitions", `{"sort":"DESC","maxResults":1,"nextToken":"bm9kZWxlc3MvdjEvd2ViAAA"}`},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/default","tags":[{"key":"a","value":"b"}]}`},
		{"CreateCluster", `{"clusterName":5}`},
		{"DeleteService", `{"service":"s","force":true}`},
	}
	for _, sd := range seed {
		f.Add(sd.op, []byte(sd.body))
	}
	ops := make([]string, 0, len(s.ops))
	for op := range s.ops {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		fn, ok := s.ops[op]
		if !ok {
			fn = s.ops[ops[len(op)%len(ops)]]
		}
		_, err := fn(context.Background(), body)
		var ae *apiError
		if err != nil && !errors.As(err, &ae) {
			t.Fatalf("%s %q: a non-API error (HTTP 500): %v", op, body, err)
		}
	})
}

// FuzzServeHTTP sends arbitrary targets, Authorization and X-Amz-Date headers and bodies through
// the whole handler: every answer is a 400 with the ECS error shape (nothing here is validly
// signed), never a 500 or a panic.
func FuzzServeHTTP(f *testing.F) {
	st, err := store.Open(filepath.Join(f.TempDir(), "state.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	h := NewServer(Options{Store: st, Engine: nopEngine{}, ARNs: model.ARNs{Region: "us-east-1", Account: "000000000000"},
		Credentials: aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, Logger: logr.Discard()})
	f.Add(TargetPrefix+"ListClusters", "AWS4-HMAC-SHA256 Credential=AKID/20261121/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20261121T050000Z", []byte("{}"))
	f.Add(TargetPrefix+"RunTask", "AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=, Signature=", "", []byte(`{"taskDefinition":"x"}`))
	f.Add("", "", "", []byte(nil))
	f.Add(TargetPrefix+"CreateCluster", "AWS4-HMAC-SHA256 Credential=OTHER/20261121/us-east-1/ecs/aws4_request,SignedHeaders=host,Signature=zz", "bad", []byte("{"))
	f.Fuzz(func(t *testing.T, target, auth, date string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Amz-Date", date)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("HTTP %d for target %q auth %q: %s", rec.Code, target, auth, rec.Body)
		}
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Type == "" || e.Message == "" {
			t.Fatalf("error body %q: %v", rec.Body, err)
		}
	})
}
