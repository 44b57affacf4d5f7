package secretstore_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/secretstore"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

var arns = model.ARNs{Region: "us-east-1", Account: "000000000000"}

func newStore(t *testing.T) (*secretstore.Store, *clocktesting.FakePassiveClock) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	return secretstore.New(db, arns, clk), clk
}

func create(t *testing.T, s *secretstore.Store, name, value string) string {
	t.Helper()
	out, err := s.CreateSecret(&secretstore.CreateSecretInput{Name: &name, SecretString: &value})
	if err != nil {
		t.Fatal(err)
	}
	return out.ARN
}

// TestResolve: a valueFrom resolves as the ECS agent resolves it.
func TestResolve(t *testing.T) {
	s, _ := newStore(t)
	db := create(t, s, "nodeless/c/ns/secret/db", `{"user":"app","password":"p1","port":5432}`)
	plain := create(t, s, "plain", "just text")
	if _, err := s.PutSecretValue(&secretstore.PutSecretValueInput{SecretID: &db, SecretString: aws.String(`{"password":"p2"}`)}); err != nil {
		t.Fatal(err)
	}
	prefix := "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
	for _, tc := range []struct {
		name, valueFrom, want, wantErr string
	}{
		{"full ARN", plain, "just text", ""},
		{"partial ARN", prefix + "plain", "just text", ""},
		{"json key", db + ":password::", "p2", ""},
		{"json key of the previous version", db + ":password:AWSPREVIOUS:", "p1", ""},
		{"a member that is a number", db + ":port:AWSPREVIOUS:", "5432", ""},
		{"whole JSON", db, `{"password":"p2"}`, ""},
		{"missing json key", db + ":user::", "", "secret " + db + ": retrieved secret from Secrets Manager did not contain json key user"},
		{"json key of a value that is not JSON", plain + ":k::", "", "is not a JSON object"},
		{"missing secret", prefix + "nope-abcdef", "", "failed to fetch secret " + prefix + "nope-abcdef from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret."},
		{"another region", "arn:aws:secretsmanager:eu-west-1:000000000000:secret:plain", "", "region us-east-1, account 000000000000"},
		{"missing stage", db + ":password:AWSPENDING:", "", "staging label: AWSPENDING"},
		{"json key without its colons", db + ":password", "", "an invalid ARN format for the AWS Secrets Manager secret was specified"},
		{"a bare name is an SSM parameter", "plain", "", "unable to retrieve secrets from ssm: parameter plain"},
		{"an SSM ARN", "arn:aws:ssm:us-east-1:000000000000:parameter/db", "", "SSM Parameter Store is not served by the local data plane"},
	} {
		got, err := s.Resolve(tc.valueFrom)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// TestContainerSecrets: every secret of every container, or one stoppedReason naming each failure.
func TestContainerSecrets(t *testing.T) {
	s, _ := newStore(t)
	db := create(t, s, "db", `{"password":"p"}`)
	defs := []model.ContainerDefinition{
		{Name: aws.String("init")},
		{Name: aws.String("app"), Secrets: []model.Secret{{Name: "PASSWORD", ValueFrom: db + ":password::"}, {Name: "ALL", ValueFrom: db}}},
	}
	got, err := s.ContainerSecrets(defs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]model.KeyValuePair{"app": {
		{Name: aws.String("PASSWORD"), Value: aws.String("p")}, {Name: aws.String("ALL"), Value: aws.String(`{"password":"p"}`)},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ContainerSecrets (-want +got):\n%s", diff)
	}
	defs[1].Secrets = append(defs[1].Secrets, model.Secret{Name: "X", ValueFrom: db + ":x::"}, model.Secret{Name: "Y", ValueFrom: "param"})
	_, err = s.ContainerSecrets(defs)
	if err == nil || !strings.HasPrefix(err.Error(), secretstore.ReasonPrefix) ||
		!strings.Contains(err.Error(), "json key x") || !strings.Contains(err.Error(), "parameter param") || strings.Contains(err.Error(), `"p"`) {
		t.Errorf("ContainerSecrets error: %v", err)
	}
}

// TestRecoveryWindowEnds: a secret scheduled for deletion is gone once its window ended, and its
// name is free again.
func TestRecoveryWindowEnds(t *testing.T) {
	s, clk := newStore(t)
	arn := create(t, s, "x", "v")
	if _, err := s.DeleteSecret(&secretstore.DeleteSecretInput{SecretID: &arn, RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(clk.Now().Add(7*24*time.Hour - time.Second))
	if _, err := s.DescribeSecret(&secretstore.SecretIDInput{SecretID: &arn}); err != nil {
		t.Errorf("within the window: %v", err)
	}
	clk.SetTime(clk.Now().Add(time.Second))
	if _, err := s.DescribeSecret(&secretstore.SecretIDInput{SecretID: &arn}); secretstore.CodeOf(err) != secretstore.CodeResourceNotFound {
		t.Errorf("after the window: %v, want ResourceNotFoundException", err)
	}
	list, err := s.ListSecrets(&secretstore.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)})
	if err != nil || len(list.SecretList) != 0 {
		t.Errorf("after the window ListSecrets: %v, %v", list, err)
	}
	if again := create(t, s, "x", "w"); again == arn {
		t.Errorf("the name's new secret has the old ARN")
	}
}

// TestVersionsArePruned: versions without staging labels beyond 100 are dropped, oldest first.
func TestVersionsArePruned(t *testing.T) {
	s, _ := newStore(t)
	arn := create(t, s, "x", "v0")
	for i := 1; i <= 120; i++ {
		v := "v" + string(rune('a'+i%26))
		if _, err := s.PutSecretValue(&secretstore.PutSecretValueInput{SecretID: &arn, SecretString: &v}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := s.DescribeSecret(&secretstore.SecretIDInput{SecretID: &arn})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.VersionIdsToStages) != 2 {
		t.Errorf("%d labelled versions, want AWSCURRENT and AWSPREVIOUS", len(d.VersionIdsToStages))
	}
	if _, err := s.GetSecretValue(&secretstore.GetSecretValueInput{SecretID: &arn, VersionStage: aws.String("AWSPREVIOUS")}); err != nil {
		t.Errorf("AWSPREVIOUS after pruning: %v", err)
	}
}

// TestListSortOrder: descending creation order, paged.
func TestListSortOrder(t *testing.T) {
	s, clk := newStore(t)
	for _, n := range []string{"b", "a", "c"} {
		create(t, s, n, "v")
		clk.SetTime(clk.Now().Add(time.Second))
	}
	var got []string
	in := &secretstore.ListSecretsInput{SortOrder: aws.String("desc"), MaxResults: aws.Int32(1)}
	for {
		out, err := s.ListSecrets(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.SecretList {
			got = append(got, e.Name)
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if diff := cmp.Diff([]string{"c", "a", "b"}, got); diff != "" {
		t.Errorf("descending by creation (-want +got):\n%s", diff)
	}
}

// TestLogSecretOptions: a log configuration's secretOptions are resolved when the task starts (one
// that cannot be read fails the start, naming it) and never become environment variables.
func TestLogSecretOptions(t *testing.T) {
	s, _ := newStore(t)
	token := create(t, s, "splunk", "t0ken")
	defs := []model.ContainerDefinition{{Name: aws.String("app"), LogConfiguration: &model.LogConfiguration{
		LogDriver: "splunk", SecretOptions: []model.Secret{{Name: "splunk-token", ValueFrom: token}},
	}}}
	got, err := s.ContainerSecrets(defs)
	if err != nil || len(got) != 0 {
		t.Fatalf("ContainerSecrets with a readable secretOption: %v, %v; want no variables and no error", got, err)
	}
	defs[0].LogConfiguration.SecretOptions[0].ValueFrom = "missing"
	_, err = s.ContainerSecrets(defs)
	if err == nil || !strings.Contains(err.Error(), "logConfiguration.secretOptions splunk-token") {
		t.Errorf("ContainerSecrets with an unreadable secretOption: %v; want a failure naming it", err)
	}
}
