package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

type rawRequest struct {
	method, target, body string
	creds                *aws.Credentials // nil: unsigned
	signedAt             time.Time
	region               string
	tamper               func(*http.Request)
}

// raw sends a hand-made request and returns the HTTP status and the error __type and message.
func (e *env) raw(t *testing.T, r rawRequest) (int, string, string) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, err := http.NewRequest(r.method, e.url+"/", strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if r.target != "" {
		req.Header.Set("X-Amz-Target", r.target)
	}
	if r.creds != nil {
		sum := sha256.Sum256([]byte(r.body))
		when := r.signedAt
		if when.IsZero() {
			when = time.Now()
		}
		region := r.region
		if region == "" {
			region = testARNs.Region
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), *r.creds, req, hex.EncodeToString(sum[:]), "ecs", region, when); err != nil {
			t.Fatal(err)
		}
	}
	if r.tamper != nil {
		r.tamper(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	checkResponse(t, strings.TrimPrefix(r.target, "AmazonEC2ContainerServiceV20141113."), resp.StatusCode, resp.Header.Get("Content-Type"), body)
	var eb struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &eb)
	return resp.StatusCode, eb.Type, eb.Message
}

const target = "AmazonEC2ContainerServiceV20141113."

func TestSigV4(t *testing.T) {
	e := newEnv(t)
	wrongSecret := testCreds
	wrongSecret.SecretAccessKey = "not-the-secret"
	wrongKey := testCreds
	wrongKey.AccessKeyID = "AKIDSOMEONEELSE00000"
	for name, tc := range map[string]struct {
		req   rawRequest
		typ   string
		parts []string
	}{
		"valid":         {rawRequest{target: target + "ListClusters", body: "{}", creds: &testCreds}, "", nil},
		"unsigned":      {rawRequest{target: target + "ListClusters", body: "{}"}, "MissingAuthenticationTokenException", []string{"Missing Authentication Token"}},
		"wrong secret":  {rawRequest{target: target + "ListClusters", body: "{}", creds: &wrongSecret}, "InvalidSignatureException", []string{"signature"}},
		"wrong key":     {rawRequest{target: target + "ListClusters", body: "{}", creds: &wrongKey}, "UnrecognizedClientException", []string{"security token"}},
		"expired":       {rawRequest{target: target + "ListClusters", body: "{}", creds: &testCreds, signedAt: time.Now().Add(-10 * time.Minute)}, "InvalidSignatureException", []string{"Signature expired"}},
		"future":        {rawRequest{target: target + "ListClusters", body: "{}", creds: &testCreds, signedAt: time.Now().Add(10 * time.Minute)}, "InvalidSignatureException", []string{"not yet current"}},
		"other region":  {rawRequest{target: target + "ListClusters", body: "{}", creds: &testCreds, region: "eu-west-1"}, "InvalidSignatureException", []string{"us-east-1"}},
		"tampered body": {rawRequest{target: target + "ListClusters", body: "{}", creds: &testCreds, tamper: setBody(`{"maxResults":1}`)}, "InvalidSignatureException", []string{"signature"}},
		"tampered target": {rawRequest{target: target + "ListClusters", body: "{}", creds: &testCreds, tamper: func(r *http.Request) { r.Header.Set("X-Amz-Target", target+"ListServices") }},
			"InvalidSignatureException", []string{"signature"}},
		"garbage header": {rawRequest{target: target + "ListClusters", body: "{}", tamper: func(r *http.Request) { r.Header.Set("Authorization", "Basic Zm9vOmJhcg==") }},
			"IncompleteSignatureException", []string{"AWS4-HMAC-SHA256"}},
	} {
		t.Run(name, func(t *testing.T) {
			status, typ, msg := e.raw(t, tc.req)
			if tc.typ == "" {
				if status != http.StatusOK {
					t.Fatalf("HTTP %d %s: %s", status, typ, msg)
				}
				return
			}
			if status != http.StatusBadRequest || typ != tc.typ {
				t.Fatalf("HTTP %d %s (%s), want 400 %s", status, typ, msg, tc.typ)
			}
			for _, p := range tc.parts {
				if !strings.Contains(msg, p) {
					t.Errorf("message %q lacks %q", msg, p)
				}
			}
		})
	}
	// and through the SDK, whose error decoder must recognise the shape
	_, err := e.client(wrongSecret).ListClusters(context.Background(), &ecs.ListClustersInput{})
	wantAPIError(t, err, "InvalidSignatureException")
	_, err = e.client(wrongKey).ListClusters(context.Background(), &ecs.ListClustersInput{})
	wantAPIError(t, err, "UnrecognizedClientException")
}

func setBody(b string) func(*http.Request) {
	return func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(b))
		r.ContentLength = int64(len(b))
	}
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t)
	for name, tc := range map[string]struct {
		req   rawRequest
		typ   string
		parts []string
	}{
		"unknown operation": {rawRequest{target: target + "Frobnicate", body: "{}"}, "UnknownOperationException", []string{"Frobnicate"}},
		"no target":         {rawRequest{body: "{}"}, "UnknownOperationException", []string{"X-Amz-Target"}},
		"other service":     {rawRequest{target: "DynamoDB_20120810.ListTables", body: "{}"}, "UnknownOperationException", nil},
		"GET":               {rawRequest{method: http.MethodGet, target: target + "ListClusters"}, "UnknownOperationException", []string{"POST"}},
		"malformed json":    {rawRequest{target: target + "ListClusters", body: "{"}, "SerializationException", []string{"JSON"}},
		"trailing data":     {rawRequest{target: target + "ListClusters", body: "{} {}"}, "SerializationException", nil},
		"not an object":     {rawRequest{target: target + "ListClusters", body: "[]"}, "SerializationException", []string{"object"}},
		"wrong type":        {rawRequest{target: target + "CreateCluster", body: `{"clusterName":5}`}, "SerializationException", []string{"clusterName", "string"}},
		"integer fraction":  {rawRequest{target: target + "ListClusters", body: `{"maxResults":1.5}`}, "SerializationException", []string{"maxResults", "integer"}},
		"integer overflow":  {rawRequest{target: target + "ListClusters", body: `{"maxResults":4294967296}`}, "SerializationException", []string{"maxResults"}},
		"nested wrong type": {rawRequest{target: target + "RegisterTaskDefinition", body: `{"family":"f","containerDefinitions":[{"name":"a","image":"i","cpu":"x"}]}`},
			"SerializationException", []string{"containerDefinitions[0].cpu", "integer"}},
		"unknown member": {rawRequest{target: target + "CreateCluster", body: `{"clusterNam":"x"}`}, "InvalidParameterException", []string{"clusterNam", "unknown member", "clusterName"}},
		"nested unknown": {rawRequest{target: target + "RegisterTaskDefinition", body: `{"family":"f","containerDefinitions":[{"name":"a","image":"i","dependsOn":[{"containerName":"b","condition":"START","extra":1}]}]}`},
			"InvalidParameterException", []string{"containerDefinitions[0].dependsOn[0].extra", "unknown member"}},
		"missing required": {rawRequest{target: target + "DeleteCluster", body: `{}`}, "InvalidParameterException", []string{"cluster", "required"}},
		"nested required": {rawRequest{target: target + "RegisterTaskDefinition", body: `{"family":"f","containerDefinitions":[{"name":"a","image":"i","dependsOn":[{"containerName":"b"}]}]}`},
			"InvalidParameterException", []string{"containerDefinitions[0].dependsOn[0].condition", "required"}},
		"bad enum":      {rawRequest{target: target + "ListTasks", body: `{"desiredStatus":"DONE"}`}, "InvalidParameterException", []string{"desiredStatus", "DONE", "RUNNING"}},
		"too many tags": {rawRequest{target: target + "CreateCluster", body: `{"tags":[` + strings.Repeat(`{"key":"k"},`, 50) + `{"key":"k"}]}`}, "InvalidParameterException", []string{"tags", "50"}},
		"map value type": {rawRequest{target: target + "RegisterTaskDefinition", body: `{"family":"f","containerDefinitions":[{"name":"a","image":"i","dockerLabels":{"a":1}}]}`},
			"SerializationException", []string{`containerDefinitions[0].dockerLabels["a"]`}},
		"too large": {rawRequest{target: target + "ListClusters", body: `{"nextToken":"` + strings.Repeat("x", 1<<20) + `"}`}, "RequestEntityTooLargeException", nil},
	} {
		t.Run(name, func(t *testing.T) {
			tc.req.creds = &testCreds
			status, typ, msg := e.raw(t, tc.req)
			if status != http.StatusBadRequest || typ != tc.typ {
				t.Fatalf("HTTP %d %s (%s), want 400 %s", status, typ, msg, tc.typ)
			}
			for _, p := range tc.parts {
				if !strings.Contains(msg, p) {
					t.Errorf("message %q lacks %q", msg, p)
				}
			}
		})
	}
}

// TestUnusedUnsupportedMembers: tools that send every member (empty lists, false) are not refused
// for features they do not ask for.
func TestUnusedUnsupportedMembers(t *testing.T) {
	e := newEnv(t)
	body := `{"family":"f","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",` +
		`"placementConstraints":[],"inferenceAccelerators":[],"enableFaultInjection":false,` +
		`"containerDefinitions":[{"name":"a","image":"i","links":[],"linuxParameters":{},"extraHosts":[],"interactive":false}]}`
	if status, typ, msg := e.raw(t, rawRequest{target: target + "RegisterTaskDefinition", body: body, creds: &testCreds}); status != http.StatusOK {
		t.Fatalf("HTTP %d %s: %s", status, typ, msg)
	}
	used := strings.Replace(body, `"links":[]`, `"links":["b"]`, 1)
	status, typ, msg := e.raw(t, rawRequest{target: target + "RegisterTaskDefinition", body: used, creds: &testCreds})
	// Fargate refuses links (package fargate), before the data plane would refuse a member it lacks.
	if status != http.StatusBadRequest || typ != "ClientException" || !strings.Contains(msg, "containerDefinitions[0].links") {
		t.Fatalf("HTTP %d %s: %s", status, typ, msg)
	}
}
