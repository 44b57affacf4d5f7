package credentials

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Profile is the profile the credentials are written under.
const Profile = "nodeless"

// Source is the aws.Credentials Source of credentials from this package.
const Source = "nodeless"

// LoadOrCreate returns the credentials in the shared-credentials file at path (profile nodeless),
// generating and writing them first when the file does not exist. A file that exists but has no
// usable nodeless profile is an error: it is never overwritten, since clients may hold its keys.
func LoadOrCreate(path string) (aws.Credentials, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		c, err := Generate()
		if err != nil {
			return aws.Credentials{}, err
		}
		return c, Write(path, c)
	}
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("opening credentials %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	if err := os.Chmod(path, 0o600); err != nil {
		return aws.Credentials{}, fmt.Errorf("restricting credentials %s to its owner: %w", path, err)
	}
	c, err := Parse(f, Profile)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("reading credentials %s: %w (delete the file to generate new credentials)", path, err)
	}
	return c, nil
}

// Generate makes a new access key ID (AKIA and 16 base32 characters, as AWS's look) and a
// 40-character secret, from crypto/rand.
func Generate() (aws.Credentials, error) {
	id, err := randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
	if err != nil {
		return aws.Credentials{}, err
	}
	secret, err := randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{AccessKeyID: "AKIA" + id, SecretAccessKey: secret, Source: Source}, nil
}

func randomString(alphabet string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating credentials: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // both alphabets divide 256: no bias
	}
	return string(b), nil
}

// Write writes c to path as a shared-credentials file with one profile, nodeless, mode 0600. The
// file is written beside path and renamed into place, so a crash never leaves half a file.
func Write(path string, c aws.Credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	content := fmt.Sprintf("# Written by nodeless for its local data plane. Use with --profile %s.\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		Profile, Profile, c.AccessKeyID, c.SecretAccessKey)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return fmt.Errorf("writing credentials %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // a no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing credentials %s: %w", path, err)
	}
	if _, err := tmp.WriteString(content); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing credentials %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing credentials %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing credentials %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing credentials %s: %w", path, err)
	}
	return nil
}

// Parse reads profile from a shared-credentials file (INI: [profile], key = value, # or ; comments).
func Parse(r io.Reader, profile string) (aws.Credentials, error) {
	sc := bufio.NewScanner(r)
	var in bool
	var c aws.Credentials
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			in = strings.TrimSpace(line[1:len(line)-1]) == profile
		case in:
			k, v, _ := strings.Cut(line, "=")
			switch strings.TrimSpace(k) {
			case "aws_access_key_id":
				c.AccessKeyID = strings.TrimSpace(v)
			case "aws_secret_access_key":
				c.SecretAccessKey = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return aws.Credentials{}, err
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, fmt.Errorf("no profile [%s] with aws_access_key_id and aws_secret_access_key", profile)
	}
	c.Source = Source
	return c, nil
}
