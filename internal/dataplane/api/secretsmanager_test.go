package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// secretARN is the shape of the ARNs the store hands out.
var secretARN = regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)

// sm returns a Secrets Manager client of the aws-sdk-go-v2 for the env's endpoint.
func (e *env) sm() *secretsmanager.Client {
	return smClient(e.url, testCreds)
}

func smClient(url string, creds aws.Credentials) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:           testARNs.Region,
		BaseEndpoint:     aws.String(url),
		Credentials:      aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		RetryMaxAttempts: 1,
	})
}

const token1 = "00000000-0000-4000-8000-000000000001"
const token2 = "00000000-0000-4000-8000-000000000002"

func TestSecretsManagerCreateGetPut(t *testing.T) {
	ctx := context.Background()
	sm := newEnv(t).sm()
	created := must[*secretsmanager.CreateSecretOutput](t)(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("nodeless/c/ns/secret/db"), SecretString: aws.String(`{"password":"p1"}`), ClientRequestToken: aws.String(token1),
		Tags: []smtypes.Tag{{Key: aws.String("nodeless.dev/kind"), Value: aws.String("Secret")}},
	}))
	if !secretARN.MatchString(aws.ToString(created.ARN)) || aws.ToString(created.VersionId) != token1 {
		t.Fatalf("CreateSecret: ARN %s, VersionId %s", aws.ToString(created.ARN), aws.ToString(created.VersionId))
	}
	// The same request again (an SDK retry) returns the same; another value under the token fails.
	again := must[*secretsmanager.CreateSecretOutput](t)(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("nodeless/c/ns/secret/db"), SecretString: aws.String(`{"password":"p1"}`), ClientRequestToken: aws.String(token1),
	}))
	if aws.ToString(again.ARN) != aws.ToString(created.ARN) {
		t.Errorf("repeated CreateSecret: ARN %s, want %s", aws.ToString(again.ARN), aws.ToString(created.ARN))
	}
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("nodeless/c/ns/secret/db"), SecretString: aws.String("other"), ClientRequestToken: aws.String(token1),
	})
	wantAPIError(t, err, "ResourceExistsException", "existing version")
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("nodeless/c/ns/secret/db"), SecretString: aws.String("x")})
	wantAPIError(t, err, "ResourceExistsException", "nodeless/c/ns/secret/db already exists")

	put := must[*secretsmanager.PutSecretValueOutput](t)(sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: created.ARN, SecretString: aws.String(`{"password":"p2"}`), ClientRequestToken: aws.String(token2),
	}))
	if diff := cmp.Diff([]string{"AWSCURRENT"}, put.VersionStages); diff != "" {
		t.Errorf("PutSecretValue stages (-want +got):\n%s", diff)
	}
	// PutSecretValue is idempotent by token too.
	must[*secretsmanager.PutSecretValueOutput](t)(sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: created.ARN, SecretString: aws.String(`{"password":"p2"}`), ClientRequestToken: aws.String(token2),
	}))
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: created.ARN, SecretString: aws.String("p3"), ClientRequestToken: aws.String(token2),
	})
	wantAPIError(t, err, "ResourceExistsException")

	type got struct{ Value, Version string }
	for _, tc := range []struct {
		name string
		in   secretsmanager.GetSecretValueInput
		want got
	}{
		{"by name", secretsmanager.GetSecretValueInput{SecretId: aws.String("nodeless/c/ns/secret/db")}, got{`{"password":"p2"}`, token2}},
		{"by ARN", secretsmanager.GetSecretValueInput{SecretId: created.ARN}, got{`{"password":"p2"}`, token2}},
		{"by partial ARN", secretsmanager.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:nodeless/c/ns/secret/db")}, got{`{"password":"p2"}`, token2}},
		{"AWSPREVIOUS", secretsmanager.GetSecretValueInput{SecretId: created.ARN, VersionStage: aws.String("AWSPREVIOUS")}, got{`{"password":"p1"}`, token1}},
		{"by version", secretsmanager.GetSecretValueInput{SecretId: created.ARN, VersionId: aws.String(token1)}, got{`{"password":"p1"}`, token1}},
	} {
		out, err := sm.GetSecretValue(ctx, &tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got{aws.ToString(out.SecretString), aws.ToString(out.VersionId)}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN, VersionId: aws.String(token1), VersionStage: aws.String("AWSCURRENT")})
	wantAPIError(t, err, "InvalidRequestException", "VersionStage")
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(aws.ToString(created.ARN)[:len(aws.ToString(created.ARN))-6] + "zzzzzz")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find the specified secret")
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException")

	desc := must[*secretsmanager.DescribeSecretOutput](t)(sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: created.ARN}))
	if diff := cmp.Diff(map[string][]string{token1: {"AWSPREVIOUS"}, token2: {"AWSCURRENT"}}, desc.VersionIdsToStages); diff != "" {
		t.Errorf("DescribeSecret VersionIdsToStages (-want +got):\n%s", diff)
	}
	if len(desc.Tags) != 1 || desc.CreatedDate == nil || desc.DeletedDate != nil {
		t.Errorf("DescribeSecret: tags %v, created %v, deleted %v", desc.Tags, desc.CreatedDate, desc.DeletedDate)
	}
}

func TestSecretsManagerBinaryAndRefusals(t *testing.T) {
	ctx := context.Background()
	sm := newEnv(t).sm()
	bin := []byte{0xff, 0x00, 0xfe}
	c := must[*secretsmanager.CreateSecretOutput](t)(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bin"), SecretBinary: bin}))
	out := must[*secretsmanager.GetSecretValueOutput](t)(sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: c.ARN}))
	if !bytes.Equal(out.SecretBinary, bin) || out.SecretString != nil {
		t.Errorf("binary value: %x, string %v", out.SecretBinary, out.SecretString)
	}
	// A secret without a value has no version.
	must[*secretsmanager.CreateSecretOutput](t)(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("empty")}))
	_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("empty")})
	wantAPIError(t, err, "ResourceNotFoundException", "staging label: AWSCURRENT")

	for _, tc := range []struct {
		name string
		in   secretsmanager.CreateSecretInput
		want string
	}{
		{"both values", secretsmanager.CreateSecretInput{Name: aws.String("x"), SecretString: aws.String("a"), SecretBinary: []byte("b")}, "both a binary secret value and a string"},
		{"bad name", secretsmanager.CreateSecretInput{Name: aws.String("a b")}, "Name"},
		{"too large", secretsmanager.CreateSecretInput{Name: aws.String("big"), SecretString: aws.String(strings.Repeat("x", 65537))}, "at most 65536"},
		{"replication", secretsmanager.CreateSecretInput{Name: aws.String("r"), AddReplicaRegions: []smtypes.ReplicaRegionType{{Region: aws.String("eu-west-1")}}}, "AddReplicaRegions"},
		{"reserved tag", secretsmanager.CreateSecretInput{Name: aws.String("t"), Tags: []smtypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}}, "aws: prefix"},
		{"short token", secretsmanager.CreateSecretInput{Name: aws.String("k"), SecretString: aws.String("v"), ClientRequestToken: aws.String("short")}, "32-64"},
	} {
		_, err := sm.CreateSecret(ctx, &tc.in)
		wantAPIError(t, err, "InvalidParameterException", tc.want)
	}
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("bin")})
	wantAPIError(t, err, "InvalidParameterException", "either SecretString or SecretBinary")
}

func TestSecretsManagerDelete(t *testing.T) {
	ctx := context.Background()
	sm := newEnv(t).sm()
	c := must[*secretsmanager.CreateSecretOutput](t)(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("v")}))
	before := time.Now()
	del := must[*secretsmanager.DeleteSecretOutput](t)(sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: c.ARN, RecoveryWindowInDays: aws.Int64(7)}))
	if d := del.DeletionDate.Sub(before); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Errorf("DeletionDate %v is %v after the call, want 7 days", del.DeletionDate, d)
	}
	_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: c.ARN})
	wantAPIError(t, err, "InvalidRequestException", "marked for deletion")
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: c.ARN, SecretString: aws.String("x")})
	wantAPIError(t, err, "InvalidRequestException", "marked for deletion")
	_, err = sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: c.ARN, Tags: []smtypes.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantAPIError(t, err, "InvalidRequestException", "marked for deletion")
	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: c.ARN})
	wantAPIError(t, err, "InvalidRequestException", "marked for deletion")
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("v")})
	wantAPIError(t, err, "InvalidRequestException", "scheduled for deletion")
	desc := must[*secretsmanager.DescribeSecretOutput](t)(sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: c.ARN}))
	if desc.DeletedDate == nil || !desc.DeletedDate.Equal(*del.DeletionDate) {
		t.Errorf("DescribeSecret DeletedDate %v, want %v", desc.DeletedDate, del.DeletionDate)
	}
	if n := len(must[*secretsmanager.ListSecretsOutput](t)(sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})).SecretList); n != 0 {
		t.Errorf("ListSecrets lists %d secrets scheduled for deletion", n)
	}
	if n := len(must[*secretsmanager.ListSecretsOutput](t)(sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)})).SecretList); n != 1 {
		t.Errorf("ListSecrets with IncludePlannedDeletion lists %d secrets, want 1", n)
	}
	// Forcing deletes at once, also a secret scheduled for deletion, and succeeds for a missing one.
	must[*secretsmanager.DeleteSecretOutput](t)(sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: c.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)}))
	_, err = sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: c.ARN})
	wantAPIError(t, err, "ResourceNotFoundException")
	must[*secretsmanager.DeleteSecretOutput](t)(sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("never"), ForceDeleteWithoutRecovery: aws.Bool(true)}))
	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("never")})
	wantAPIError(t, err, "ResourceNotFoundException")
	// A new secret of the old name gets a new ARN.
	c2 := must[*secretsmanager.CreateSecretOutput](t)(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("v")}))
	if aws.ToString(c2.ARN) == aws.ToString(c.ARN) {
		t.Errorf("a re-created secret has the old ARN %s", aws.ToString(c.ARN))
	}
	for _, in := range []secretsmanager.DeleteSecretInput{
		{SecretId: c2.ARN, RecoveryWindowInDays: aws.Int64(3)},
		{SecretId: c2.ARN, RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)},
	} {
		_, err := sm.DeleteSecret(ctx, &in)
		wantAPIError(t, err, "InvalidParameterException", "RecoveryWindowInDays")
	}
}

func TestSecretsManagerListAndTags(t *testing.T) {
	ctx := context.Background()
	sm := newEnv(t).sm()
	tag := func(k, v string) smtypes.Tag { return smtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	for _, s := range []struct {
		name string
		tags []smtypes.Tag
	}{
		{"nodeless/c1/a/secret/x", []smtypes.Tag{tag("nodeless.dev/owner-uid", "u1"), tag("nodeless.dev/kind", "Secret")}},
		{"nodeless/c1/a/configmap/y", []smtypes.Tag{tag("nodeless.dev/owner-uid", "u2"), tag("nodeless.dev/kind", "ConfigMap")}},
		{"nodeless/c1/b/secret/z", []smtypes.Tag{tag("nodeless.dev/owner-uid", "u3"), tag("nodeless.dev/kind", "Secret")}},
		{"nodeless/c2/a/secret/x", []smtypes.Tag{tag("nodeless.dev/owner-uid", "u4"), tag("nodeless.dev/kind", "Secret")}},
		{"other", nil},
	} {
		must[*secretsmanager.CreateSecretOutput](t)(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s.name), SecretString: aws.String("v"), Tags: s.tags}))
	}
	names := func(filters ...smtypes.Filter) []string {
		t.Helper()
		var out []string
		p := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{Filters: filters, MaxResults: aws.Int32(2), SortBy: smtypes.SortByTypeName})
		for p.HasMorePages() {
			page := must[*secretsmanager.ListSecretsOutput](t)(p.NextPage(ctx))
			for _, s := range page.SecretList {
				out = append(out, aws.ToString(s.Name))
			}
		}
		return out
	}
	f := func(key smtypes.FilterNameStringType, values ...string) smtypes.Filter {
		return smtypes.Filter{Key: key, Values: values}
	}
	for _, tc := range []struct {
		name    string
		filters []smtypes.Filter
		want    []string
	}{
		{"all, in pages of 2", nil, []string{"nodeless/c1/a/configmap/y", "nodeless/c1/a/secret/x", "nodeless/c1/b/secret/z", "nodeless/c2/a/secret/x", "other"}},
		{"name prefix", []smtypes.Filter{f(smtypes.FilterNameStringTypeName, "nodeless/c1/")}, []string{"nodeless/c1/a/configmap/y", "nodeless/c1/a/secret/x", "nodeless/c1/b/secret/z"}},
		{"name is case-sensitive", []smtypes.Filter{f(smtypes.FilterNameStringTypeName, "Nodeless/")}, nil},
		{"alternatives", []smtypes.Filter{f(smtypes.FilterNameStringTypeName, "nodeless/c2/", "other")}, []string{"nodeless/c2/a/secret/x", "other"}},
		{"tag value and name", []smtypes.Filter{f(smtypes.FilterNameStringTypeName, "nodeless/c1/"), f(smtypes.FilterNameStringTypeTagValue, "ConfigMap")}, []string{"nodeless/c1/a/configmap/y"}},
		{"tag key", []smtypes.Filter{f(smtypes.FilterNameStringTypeTagKey, "nodeless.dev/owner")}, []string{"nodeless/c1/a/configmap/y", "nodeless/c1/a/secret/x", "nodeless/c1/b/secret/z", "nodeless/c2/a/secret/x"}},
		{"negation", []smtypes.Filter{f(smtypes.FilterNameStringTypeName, "!nodeless/")}, []string{"other"}},
	} {
		if diff := cmp.Diff(tc.want, names(tc.filters...)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	_, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{f(smtypes.FilterNameStringTypeAll, "x")}})
	wantAPIError(t, err, "InvalidParameterException", `"all" is not served`)

	must[*secretsmanager.TagResourceOutput](t)(sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("other"), Tags: []smtypes.Tag{tag("a", "1"), tag("b", "2")}}))
	must[*secretsmanager.TagResourceOutput](t)(sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("other"), Tags: []smtypes.Tag{tag("a", "3")}}))
	must[*secretsmanager.UntagResourceOutput](t)(sm.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String("other"), TagKeys: []string{"b", "missing"}}))
	desc := must[*secretsmanager.DescribeSecretOutput](t)(sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("other")}))
	if diff := cmp.Diff([]smtypes.Tag{tag("a", "3")}, desc.Tags, cmp.AllowUnexported(smtypes.Tag{})); diff != "" {
		t.Errorf("tags after TagResource/UntagResource (-want +got):\n%s", diff)
	}
	_, err = sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("missing"), Tags: []smtypes.Tag{tag("a", "1")}})
	wantAPIError(t, err, "ResourceNotFoundException")
}

// TestSecretsManagerSurvivesRestart: secrets are in the store, and a new server on it serves them.
func TestSecretsManagerSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	serve := func() (*secretsmanager.Client, func()) {
		st, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(api.NewServer(api.Options{Store: st, Engine: &fakeEngine{}, ARNs: testARNs, Credentials: testCreds, Logger: testr.New(t)}))
		return smClient(srv.URL, testCreds), func() { srv.Close(); st.Close() }
	}
	sm, stop := serve()
	c := must[*secretsmanager.CreateSecretOutput](t)(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("kept"), SecretString: aws.String("v")}))
	stop()
	sm, stop = serve()
	defer stop()
	out := must[*secretsmanager.GetSecretValueOutput](t)(sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: c.ARN}))
	if aws.ToString(out.SecretString) != "v" {
		t.Errorf("after a restart the value is %q", aws.ToString(out.SecretString))
	}
}

// TestSecretsManagerSignatureScope: a request for the secret store must be signed for service
// secretsmanager, one for ECS for service ecs.
func TestSecretsManagerSignatureScope(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ target, service, wantType string }{
		{"secretsmanager.ListSecrets", "ecs", "InvalidSignatureException"},
		{api.TargetPrefix + "ListClusters", "secretsmanager", "InvalidSignatureException"},
		{"secretsmanager.ListSecrets", "secretsmanager", ""},
		{"secretsmanager.RotateSecret", "secretsmanager", "UnknownOperationException"},
	} {
		body := []byte("{}")
		req, _ := http.NewRequest(http.MethodPost, e.url+"/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", tc.target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, req, hex.EncodeToString(sum[:]), tc.service, testARNs.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		gotType := resp.Header.Get("X-Amzn-ErrorType")
		if gotType != tc.wantType {
			t.Errorf("%s signed for %s: error type %q, want %q (%s)", tc.target, tc.service, gotType, tc.wantType, raw)
		}
	}
}

// TestSecretsManagerAWSCLI drives the store with the AWS CLI v2.
func TestSecretsManagerAWSCLI(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Skipf("skipping: the AWS CLI v2 is not at %s (apt-get install awscli): %v", awsCLI, err)
	}
	if testing.Short() {
		t.Skip("skipping the AWS CLI test in -short mode")
	}
	dir := t.TempDir()
	credsFile := filepath.Join(dir, "credentials")
	creds, err := credentials.LoadOrCreate(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	emptyConfig := filepath.Join(dir, "config")
	if err := os.WriteFile(emptyConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(api.NewServer(api.Options{Store: st, Engine: &fakeEngine{}, ARNs: testARNs, Credentials: creds, Logger: testr.New(t)}))
	defer srv.Close()
	c := &cli{t: t, endpoint: srv.URL, service: "secretsmanager", env: []string{
		"PATH=/usr/bin:/bin", "HOME=" + dir, "AWS_SHARED_CREDENTIALS_FILE=" + credsFile, "AWS_CONFIG_FILE=" + emptyConfig,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
	}}
	created := c.run("create-secret", "--name", "cli/db", "--secret-string", `{"password":"hunter2"}`, "--tags", "Key=team,Value=cli")
	arn, _ := created["ARN"].(string)
	if !secretARN.MatchString(arn) {
		t.Fatalf("create-secret ARN %q", arn)
	}
	c.run("put-secret-value", "--secret-id", arn, "--secret-string", `{"password":"hunter3"}`)
	if got := c.run("get-secret-value", "--secret-id", "cli/db")["SecretString"]; got != `{"password":"hunter3"}` {
		t.Errorf("get-secret-value: %v", got)
	}
	if got := c.run("list-secrets", "--filters", "Key=tag-value,Values=cli")["SecretList"].([]any); len(got) != 1 {
		t.Errorf("list-secrets: %v", got)
	}
	c.run("describe-secret", "--secret-id", arn)
	c.run("tag-resource", "--secret-id", arn, "--tags", "Key=x,Value=y")
	c.run("untag-resource", "--secret-id", arn, "--tag-keys", "x")
	c.run("delete-secret", "--secret-id", arn, "--force-delete-without-recovery")
	if msg := c.fail("get-secret-value", "--secret-id", arn); !strings.Contains(msg, "ResourceNotFoundException") {
		t.Errorf("get-secret-value of a deleted secret: %s", msg)
	}
}
