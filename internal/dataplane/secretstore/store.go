package secretstore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Staging labels Secrets Manager moves itself.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// Limits of the Secrets Manager API ("Secrets Manager quotas" and the API reference).
const (
	maxNameLength        = 512
	maxValueBytes        = 65536
	maxDescription       = 2048
	minTokenLength       = 32
	maxTokenLength       = 64
	maxTags              = 50
	maxTagKey            = 128
	maxTagValue          = 256
	maxStagesPerVersion  = 20
	maxVersions          = 100
	minRecoveryDays      = 7
	maxRecoveryDays      = 30
	defaultRecoveryDays  = 30
	arnSuffixLength      = 6
	arnSuffixAlphabet    = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretsManagerPrefix = "arn:aws:secretsmanager:"
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)

// Store is the data plane's Secrets Manager over its store. It is safe for concurrent use: every
// change is one store transaction.
type Store struct {
	db    *store.Store
	arns  model.ARNs
	clock clock.PassiveClock
}

// New returns the Secrets Manager of db, whose ARNs name arns' region and account; clk is the
// time source (clock.RealClock{} when nil).
func New(db *store.Store, arns model.ARNs, clk clock.PassiveClock) *Store {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Store{db: db, arns: arns, clock: clk}
}

// ARN returns the ARN of the secret named name with the given six-character suffix.
func (s *Store) ARN(name, suffix string) string {
	return secretsManagerPrefix + s.arns.Region + ":" + s.arns.Account + ":secret:" + name + "-" + suffix
}

func (s *Store) now() *model.Time {
	return &model.Time{Time: s.clock.Now().UTC().Truncate(time.Millisecond)}
}

// find returns the secret id names (name, full ARN or partial ARN); nil when there is none. A
// secret whose recovery window has ended is gone: removed for good when tx is writable.
func (s *Store) find(tx *store.Tx, id string, writable bool) (*store.SecretRecord, error) {
	for _, name := range s.candidateNames(id) {
		r, err := tx.GetSecret(name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(id, "arn:") && id != r.ARN && id != s.partialARN(r.Name) {
			continue
		}
		if s.expired(r) {
			if writable {
				return nil, tx.DeleteSecret(r.Name)
			}
			return nil, nil
		}
		return r, nil
	}
	return nil, nil
}

// candidateNames are the names id may stand for: itself; for an ARN of this region and account,
// the name in it, and that name without a six-character suffix.
func (s *Store) candidateNames(id string) []string {
	if !strings.HasPrefix(id, "arn:") {
		return []string{id}
	}
	prefix := secretsManagerPrefix + s.arns.Region + ":" + s.arns.Account + ":secret:"
	name, ok := strings.CutPrefix(id, prefix)
	if !ok || name == "" {
		return nil
	}
	out := []string{name}
	if i := len(name) - arnSuffixLength - 1; i > 0 && name[i] == '-' {
		out = append(out, name[:i])
	}
	return out
}

func (s *Store) partialARN(name string) string {
	return secretsManagerPrefix + s.arns.Region + ":" + s.arns.Account + ":secret:" + name
}

func (s *Store) expired(r *store.SecretRecord) bool {
	return r.DeletedDate != nil && !s.clock.Now().Before(r.DeletedDate.Time)
}

// mustFind is find with ResourceNotFoundException for a missing secret; live also refuses a
// secret scheduled for deletion.
func (s *Store) mustFind(tx *store.Tx, id *string, live, writable bool) (*store.SecretRecord, error) {
	if id == nil || *id == "" {
		return nil, invalidParameter("SecretId is required: give the secret's name or ARN")
	}
	r, err := s.find(tx, *id, writable)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound()
	}
	if live && r.DeletedDate != nil {
		return nil, markedForDeletion()
	}
	return r, nil
}

func randomSuffix() (string, error) {
	b := make([]byte, arnSuffixLength)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(arnSuffixAlphabet))))
		if err != nil {
			return "", fmt.Errorf("generating an ARN suffix: %w", err)
		}
		b[i] = arnSuffixAlphabet[n.Int64()]
	}
	return string(b), nil
}

func checkName(name *string) error {
	switch {
	case name == nil || *name == "":
		return invalidParameter("Name is required")
	case len(*name) > maxNameLength:
		return invalidParameter("Name: %d characters; the most is %d", len(*name), maxNameLength)
	case !namePattern.MatchString(*name):
		return invalidParameter("Name %q: use ASCII letters, digits and the characters /_+=.@-", *name)
	}
	return nil
}

// checkValue validates a new version's value: exactly one of s and b, at most 64 KiB.
func checkValue(s *string, b []byte, required bool) error {
	switch {
	case s != nil && b != nil:
		return invalidParameter("%s", msgBothValues)
	case s == nil && b == nil && required:
		return invalidParameter("You must provide either SecretString or SecretBinary.")
	case s != nil && len(*s) > maxValueBytes:
		return invalidParameter("SecretString: %d bytes; a secret value holds at most %d", len(*s), maxValueBytes)
	case len(b) > maxValueBytes:
		return invalidParameter("SecretBinary: %d bytes; a secret value holds at most %d", len(b), maxValueBytes)
	}
	return nil
}

func checkToken(tok *string) error {
	if tok == nil {
		return nil
	}
	if n := len(*tok); n < minTokenLength || n > maxTokenLength {
		return invalidParameter("ClientRequestToken must be %d-%d characters long; got %d", minTokenLength, maxTokenLength, n)
	}
	return nil
}

// checkTags validates tags and returns them as stored.
func checkTags(tags []Tag) ([]store.SecretTag, error) {
	out := make([]store.SecretTag, 0, len(tags))
	for i, t := range tags {
		k, v := deref(t.Key), deref(t.Value)
		switch {
		case k == "" || len(k) > maxTagKey:
			return nil, invalidParameter("Tags[%d].Key: %d characters; use 1 to %d", i, len(k), maxTagKey)
		case len(v) > maxTagValue:
			return nil, invalidParameter("Tags[%d].Value: %d characters; the most is %d", i, len(v), maxTagValue)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return nil, invalidParameter("Tags[%d].Key %q: the aws: prefix is reserved for AWS use", i, k)
		}
		out = append(out, store.SecretTag{Key: k, Value: v})
	}
	return out, nil
}

// mergeTags sets the values of tags on r (adding keys it lacks), at most 50 in all.
func mergeTags(r *store.SecretRecord, tags []store.SecretTag) error {
	for _, t := range tags {
		found := false
		for i := range r.Tags {
			if r.Tags[i].Key == t.Key {
				r.Tags[i].Value, found = t.Value, true
			}
		}
		if !found {
			r.Tags = append(r.Tags, t)
		}
	}
	if len(r.Tags) > maxTags {
		return invalidParameter("a secret has at most %d tags; this request would give it %d", maxTags, len(r.Tags))
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
