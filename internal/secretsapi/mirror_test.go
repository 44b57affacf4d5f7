package secretsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
)

// counting records the calls that reach the API, by operation.
type counting struct {
	secretsapi.API
	mu    sync.Mutex
	calls map[string]int
}

func (c *counting) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

func (c *counting) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func (c *counting) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	c.count("CreateSecret")
	return c.API.CreateSecret(ctx, in, o...)
}

func (c *counting) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.count("GetSecretValue")
	return c.API.GetSecretValue(ctx, in, o...)
}

func (c *counting) PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	c.count("PutSecretValue")
	return c.API.PutSecretValue(ctx, in, o...)
}

func (c *counting) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	c.count("DescribeSecret")
	return c.API.DescribeSecret(ctx, in, o...)
}

func (c *counting) DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	c.count("DeleteSecret")
	return c.API.DeleteSecret(ctx, in, o...)
}

func (c *counting) ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, o ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	c.count("ListSecrets")
	return c.API.ListSecrets(ctx, in, o...)
}

func (c *counting) TagResource(ctx context.Context, in *secretsmanager.TagResourceInput, o ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error) {
	c.count("TagResource")
	return c.API.TagResource(ctx, in, o...)
}

// setUp returns a Secrets Manager client of the in-memory data plane, counted.
func setUp(t *testing.T) *counting {
	t.Helper()
	e := ecsmem.Start(t, ecsmem.Options{})
	client, err := secretsapi.NewClient(context.Background(), ecsapi.Options{
		Endpoint: e.Endpoint, Region: e.Region, AccessKeyID: e.Credentials.AccessKeyID, SecretAccessKey: e.Credentials.SecretAccessKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &counting{API: client, calls: map[string]int{}}
}

func newMirror(t *testing.T, api secretsapi.API) *secretsapi.Mirror {
	t.Helper()
	m, err := secretsapi.NewMirror(api, secretsapi.MirrorOptions{ClusterName: "c1"}, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMirrorWritesOnlyWhatChanged: the first Ensure creates, the same content again makes no call,
// a restarted mirror only reads, a change writes once.
func TestMirrorWritesOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	api := setUp(t)
	m := newMirror(t, api)
	data := map[string][]byte{"password": []byte("p1"), "user": []byte("app")}
	e, err := m.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "uid-1", data)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "nodeless/c1/shop/secret/db" || len(e.ARNs) != 1 {
		t.Errorf("entry %+v", e)
	}
	if got := api.reset(); got["CreateSecret"] != 1 {
		t.Errorf("first Ensure: %v", got)
	}
	if _, err := m.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "uid-1", data); err != nil {
		t.Fatal(err)
	}
	if got := api.reset(); len(got) != 0 {
		t.Errorf("Ensure at steady state made calls: %v", got)
	}
	restarted := newMirror(t, api)
	again, err := restarted.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "uid-1", data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"DescribeSecret": 1, "GetSecretValue": 1}, api.reset()); diff != "" {
		t.Errorf("Ensure after a restart (-want +got):\n%s", diff)
	}
	if !cmp.Equal(e, again) {
		t.Errorf("a restarted mirror returns %+v, want %+v", again, e)
	}
	data["password"] = []byte("p2")
	if _, err := restarted.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "uid-1", data); err != nil {
		t.Fatal(err)
	}
	if got := api.reset(); got["PutSecretValue"] != 1 || got["CreateSecret"] != 0 {
		t.Errorf("a changed value: %v", got)
	}
	// A Secret deleted and made again under the same name has another UID: the tags follow.
	if _, err := restarted.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "uid-2", data); err != nil {
		t.Fatal(err)
	}
	if got := api.reset(); got["TagResource"] != 1 || got["PutSecretValue"] != 0 {
		t.Errorf("a new owner UID: %v", got)
	}
	vf, ok := e.ValueFrom("password")
	if !ok || vf != e.ARNs[0]+":password::" {
		t.Errorf("ValueFrom(password) = %q, %v", vf, ok)
	}
	cur, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.ARNs[0])})
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(cur.SecretString)), &members); err != nil || members["password"] != "p2" {
		t.Errorf("stored value %v (%v)", members, err)
	}
}

// TestMirrorParts: data larger than a Secrets Manager secret is kept in parts, reassembled by
// podfiles.Unpack; parts no longer needed are deleted.
func TestMirrorParts(t *testing.T) {
	ctx := context.Background()
	api := setUp(t)
	m := newMirror(t, api)
	data := map[string][]byte{
		"dashboard.json": bytes.Repeat([]byte(`{"panel":1},`), 12000), // 144 000 bytes
		"ca.crt":         []byte("-----BEGIN CERTIFICATE-----\n"),
		"logo.png":       {0x89, 'P', 'N', 'G', 0xff},
	}
	e, err := m.EnsureMirrored(ctx, secretsapi.ObjectConfigMap, "mon", "dashboards", "uid-d", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.ARNs) < 3 {
		t.Fatalf("%d parts for 144 kB", len(e.ARNs))
	}
	if _, ok := e.ValueFrom("dashboard.json"); ok {
		t.Error("a value larger than a part has a valueFrom")
	}
	if _, ok := e.ValueFrom("logo.png"); ok {
		t.Error("a binary value has a valueFrom")
	}
	if got := unpack(t, api, e); !cmp.Equal(got, data) {
		t.Errorf("reassembled data differs")
	}
	small := map[string][]byte{"ca.crt": data["ca.crt"]}
	e2, err := m.EnsureMirrored(ctx, secretsapi.ObjectConfigMap, "mon", "dashboards", "uid-d", small)
	if err != nil {
		t.Fatal(err)
	}
	if len(e2.ARNs) != 1 || e2.ARNs[0] != e.ARNs[0] {
		t.Errorf("after shrinking: %v", e2.ARNs)
	}
	owned, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 1 {
		t.Errorf("after shrinking the mirror owns %d secrets: %+v", len(owned), owned)
	}
}

func unpack(t *testing.T, api secretsapi.API, e *secretsapi.Entry) map[string][]byte {
	t.Helper()
	var parts []string
	for _, arn := range e.ARNs {
		out, err := api.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, aws.ToString(out.SecretString))
	}
	data, err := podfiles.Unpack(parts)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestMirrorDeleteAndOrphans: Delete removes an object's parts and nothing else; Orphans lists
// the secrets whose owner is gone.
func TestMirrorDeleteAndOrphans(t *testing.T) {
	ctx := context.Background()
	api := setUp(t)
	m := newMirror(t, api)
	big := map[string][]byte{"a": bytes.Repeat([]byte("x"), 70000)}
	for _, o := range []struct {
		name string
		uid  types.UID
		data map[string][]byte
	}{{"db", "u-db", big}, {"db2", "u-db2", map[string][]byte{"k": []byte("v")}}, {"gone", "u-gone", nil}} {
		if _, err := m.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", o.name, o.uid, o.data); err != nil {
			t.Fatal(err)
		}
	}
	other, err := secretsapi.NewMirror(api, secretsapi.MirrorOptions{ClusterName: "c2"}, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "u-other", nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, secretsapi.ObjectKey{Kind: secretsapi.ObjectSecret, Namespace: "shop", Name: "db"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"nodeless/c1/shop/secret/db2", "nodeless/c1/shop/secret/gone"}, names(t, m)); diff != "" {
		t.Errorf("after Delete (-want +got):\n%s", diff)
	}
	orphans, err := m.Orphans(ctx, func(_ context.Context, o secretsapi.Owner) (bool, error) { return o.Name != "gone", nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) != 1 || orphans[0].Name != "nodeless/c1/shop/secret/gone" || orphans[0].Owner.UID != "u-gone" {
		t.Fatalf("orphans %+v", orphans)
	}
	if err := m.DeleteOwned(ctx, orphans); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"nodeless/c1/shop/secret/db2"}, names(t, m)); diff != "" {
		t.Errorf("after DeleteOwned (-want +got):\n%s", diff)
	}
	if n := names(t, other); len(n) != 1 {
		t.Errorf("another cluster's mirror lost its entries: %v", n)
	}
	// Deleted behind the mirror's back, an entry is made again by the next Ensure after a restart.
	if _, err := api.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("nodeless/c1/shop/secret/db2")}); err != nil {
		t.Fatal(err)
	}
	e, err := newMirror(t, api).EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db2", "u-db2", map[string][]byte{"k": []byte("v")})
	if err != nil || !strings.HasPrefix(e.ARNs[0], "arn:aws:secretsmanager:") {
		t.Errorf("Ensure of an entry scheduled for deletion: %v, %v", e, err)
	}
}

func names(t *testing.T, m *secretsapi.Mirror) []string {
	t.Helper()
	owned, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range owned {
		out = append(out, o.Name)
	}
	sort.Strings(out)
	return out
}

func TestErrorKinds(t *testing.T) {
	api := setUp(t)
	ctx := context.Background()
	_, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
	if !secretsapi.IsNotFound(err) {
		t.Errorf("missing secret: %v is %v", err, secretsapi.KindOf(err))
	}
	if _, err := api.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("x"), SecretString: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	_, err = api.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("x"), SecretString: aws.String("v")})
	if !secretsapi.IsExists(err) {
		t.Errorf("existing secret: %v is %v", err, secretsapi.KindOf(err))
	}
	if _, err := api.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	_, err = api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("x")})
	if !secretsapi.IsScheduledForDeletion(err) {
		t.Errorf("secret scheduled for deletion: %v is %v", err, secretsapi.KindOf(err))
	}
}

// TestMirrorDeleteOf: a deleted object's entry goes at once, every part, without a listing; the
// UID is not mirrored again; an entry now owned by an object made again under the name stays;
// an object never mirrored, or one a restarted mirror has not listed yet, costs no call.
func TestMirrorDeleteOf(t *testing.T) {
	ctx := context.Background()
	api := setUp(t)
	m := newMirror(t, api)
	big := map[string][]byte{"a": bytes.Repeat([]byte("x"), 40<<10), "b": bytes.Repeat([]byte("y"), 40<<10)}
	e, err := m.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "uid-1", big)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.ARNs) != 2 {
		t.Fatalf("entry of %d parts, want 2", len(e.ARNs))
	}
	if _, err := m.EnsureMirrored(ctx, secretsapi.ObjectConfigMap, "shop", "cfg", "uid-cfg", map[string][]byte{"k": []byte("v")}); err != nil {
		t.Fatal(err)
	}
	api.reset()
	owner := func(kind, name string, uid types.UID) secretsapi.Owner {
		return secretsapi.Owner{Kind: kind, Namespace: "shop", Name: name, UID: uid}
	}
	names := func() []string {
		all, err := newMirror(t, api).List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		api.reset()
		var out []string
		for _, o := range all {
			out = append(out, o.Name)
		}
		sort.Strings(out)
		return out
	}

	steps := []struct {
		name      string
		mirror    *secretsapi.Mirror
		owner     secretsapi.Owner
		wantFound bool
		wantCalls map[string]int
		wantNames []string
	}{
		{name: "never mirrored", mirror: m, owner: owner(secretsapi.ObjectSecret, "other", "uid-9"),
			wantCalls: map[string]int{}, wantNames: []string{"nodeless/c1/shop/configmap/cfg", "nodeless/c1/shop/secret/db", "nodeless/c1/shop/secret/db/1"}},
		{name: "mirrored, deleted", mirror: m, owner: owner(secretsapi.ObjectSecret, "db", "uid-1"), wantFound: true,
			wantCalls: map[string]int{"DeleteSecret": 2}, wantNames: []string{"nodeless/c1/shop/configmap/cfg"}},
		{name: "deleted again", mirror: m, owner: owner(secretsapi.ObjectSecret, "db", "uid-1"),
			wantCalls: map[string]int{}, wantNames: []string{"nodeless/c1/shop/configmap/cfg"}},
	}
	for _, s := range steps {
		found, err := s.mirror.DeleteOf(ctx, s.owner)
		if err != nil || found != s.wantFound {
			t.Errorf("%s: DeleteOf = %v, %v; want %v", s.name, found, err, s.wantFound)
		}
		if diff := cmp.Diff(s.wantCalls, api.reset()); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.wantNames, names()); diff != "" {
			t.Errorf("%s: entries (-want +got):\n%s", s.name, diff)
		}
	}

	// A reader that held the deleted object does not make its entry again.
	_, err = m.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "uid-1", big)
	if !secretsapi.IsNotFound(err) {
		t.Errorf("Ensure of a deleted uid: %v, want a NotFound error", err)
	}
	if got := api.reset(); len(got) != 0 {
		t.Errorf("Ensure of a deleted uid made calls: %v", got)
	}
	// The object made again under its name is mirrored; the old UID's deletion leaves it.
	if _, err := m.EnsureMirrored(ctx, secretsapi.ObjectSecret, "shop", "db", "uid-2", map[string][]byte{"k": []byte("v2")}); err != nil {
		t.Fatal(err)
	}
	api.reset()
	if found, err := m.DeleteOf(ctx, owner(secretsapi.ObjectSecret, "db", "uid-1")); found || err != nil {
		t.Errorf("DeleteOf the old uid of a name made again: %v, %v", found, err)
	}
	if got := api.reset(); len(got) != 0 {
		t.Errorf("DeleteOf the old uid made calls: %v", got)
	}

	// A restarted mirror knows no entry until it lists them (the sweep does at start).
	restarted := newMirror(t, api)
	if found, err := restarted.DeleteOf(ctx, owner(secretsapi.ObjectConfigMap, "cfg", "uid-cfg")); found || err != nil {
		t.Errorf("DeleteOf before a listing: %v, %v", found, err)
	}
	if got := api.reset(); len(got) != 0 {
		t.Errorf("DeleteOf before a listing made calls: %v", got)
	}
	restarted = newMirror(t, api)
	if _, err := restarted.List(ctx); err != nil {
		t.Fatal(err)
	}
	api.reset()
	if found, err := restarted.DeleteOf(ctx, owner(secretsapi.ObjectConfigMap, "cfg", "uid-cfg")); !found || err != nil {
		t.Errorf("DeleteOf after a listing: %v, %v", found, err)
	}
	if diff := cmp.Diff(map[string]int{"DeleteSecret": 1}, api.reset()); diff != "" {
		t.Errorf("DeleteOf after a listing: calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"nodeless/c1/shop/secret/db"}, names()); diff != "" {
		t.Errorf("entries at the end (-want +got):\n%s", diff)
	}
}
