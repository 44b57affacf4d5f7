package credentials_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "credentials")
	first, err := credentials.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(first.AccessKeyID) || len(first.SecretAccessKey) != 40 {
		t.Errorf("generated %q / %d-character secret", first.AccessKeyID, len(first.SecretAccessKey))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	second, err := credentials.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessKeyID != first.AccessKeyID || second.SecretAccessKey != first.SecretAccessKey {
		t.Error("a second start generated new credentials")
	}

	// the AWS SDK's own shared-config loader reads the file with the nodeless profile
	empty := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedCredentialsFiles([]string{path}), config.WithSharedConfigFiles([]string{empty}),
		config.WithSharedConfigProfile(credentials.Profile), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != first.AccessKeyID || got.SecretAccessKey != first.SecretAccessKey {
		t.Errorf("the SDK read %q, want %q", got.AccessKeyID, first.AccessKeyID)
	}
}

func TestLoadRefusesFileWithoutProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte("[default]\naws_access_key_id = A\naws_secret_access_key = B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := credentials.LoadOrCreate(path); err == nil {
		t.Fatal("loaded credentials from a file without a nodeless profile")
	}
	raw, _ := os.ReadFile(path)
	if string(raw) != "[default]\naws_access_key_id = A\naws_secret_access_key = B\n" {
		t.Error("the file was overwritten")
	}
}

func TestParse(t *testing.T) {
	for name, tc := range map[string]struct {
		in     string
		wantID string
	}{
		"plain":     {"[nodeless]\naws_access_key_id=AK\naws_secret_access_key=S\n", "AK"},
		"spaces":    {"  [ nodeless ]  \n  aws_access_key_id =  AK  \n aws_secret_access_key = S\n", "AK"},
		"comments":  {"# c\n; c\n[other]\naws_access_key_id=X\naws_secret_access_key=Y\n[nodeless]\naws_access_key_id=AK\naws_secret_access_key=S\n", "AK"},
		"missing":   {"[other]\naws_access_key_id=X\naws_secret_access_key=Y\n", ""},
		"no secret": {"[nodeless]\naws_access_key_id=AK\n", ""},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := credentials.Parse(strings.NewReader(tc.in), credentials.Profile)
			if tc.wantID == "" {
				if err == nil {
					t.Fatalf("parsed %+v", c)
				}
				return
			}
			if err != nil || c.AccessKeyID != tc.wantID || c.SecretAccessKey != "S" {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
}
