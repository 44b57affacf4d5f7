package cloudmap

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Registry is the local Cloud Map over the data plane's store. Its methods are the API's
// operations (package api decodes the requests strictly and encodes the answers) and the DNS
// server's source of names (LookupName); they are safe for concurrent use.
type Registry struct {
	store *store.Store
	// maxOperations is how many operations are kept (MaxOperations; tests lower it).
	maxOperations int
	region        string
	// account is the account ID of the ARNs (the data plane's).
	account string
	clock   clock.PassiveClock
}

// New returns the Registry over st; ARNs are in arns' region and account.
func New(st *store.Store, arns model.ARNs, clk clock.PassiveClock) *Registry {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Registry{store: st, region: arns.Region, account: arns.Account, clock: clk, maxOperations: MaxOperations}
}

func (r *Registry) arn(kind, id string) string {
	return "arn:aws:servicediscovery:" + r.region + ":" + r.account + ":" + kind + "/" + id
}

func (r *Registry) now() *model.Time {
	return &model.Time{Time: r.clock.Now().UTC().Truncate(time.Millisecond)}
}

// newID is prefix followed by 16 random characters of [a-z0-9], as Cloud Map's IDs look
// (ns-…, srv-…); operation IDs are longer.
func newID(prefix string, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// labelRE is one DNS label as Cloud Map allows it in names (letters, digits, hyphens, underscores).
var labelRE = regexp.MustCompile(`^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9_])$`)

// checkDNSName checks that name is dot-separated DNS labels of at most 253 characters in all.
func checkDNSName(member, name string, maxLen int) error {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > maxLen {
		return invalidInput("%s: must be 1 to %d characters; got %q", member, maxLen, name)
	}
	for _, l := range strings.Split(name, ".") {
		if !labelRE.MatchString(l) {
			return invalidInput("%s: %q is not a DNS name: each dot-separated label is 1 to 63 letters, digits, hyphens or underscores, not starting or ending with a hyphen", member, name)
		}
	}
	return nil
}

// get decodes the record at key, nil with no error when there is none.
func get[T any](tx *store.Tx, key string) (*T, error) {
	v := new(T)
	err := tx.CloudMapGet(key, v)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// each decodes every record under prefix, in key order.
func each[T any](tx *store.Tx, prefix string, fn func(*T) bool) error {
	return tx.CloudMapEach(prefix, func(key string, raw []byte) (bool, error) {
		v := new(T)
		if err := json.Unmarshal(raw, v); err != nil {
			return false, fmt.Errorf("decoding cloudmap/%s: %w", key, err)
		}
		return fn(v), nil
	})
}

// page returns the slice of items after token (an item's key), at most max (default and ceiling
// 100), and the token of the next page ("" at the end).
func page[T any](items []T, keyOf func(T) string, token string, maxResults *int32) ([]T, string, error) {
	start := 0
	if token != "" {
		start = -1
		for i, it := range items {
			if keyOf(it) == token {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, "", invalidInput("NextToken: %q is not a token a previous page returned (or its item was deleted since); start again without NextToken", token)
		}
	}
	n := int32(100)
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return nil, "", invalidInput("MaxResults: must be 1 to 100; got %d", *maxResults)
		}
		n = *maxResults
	}
	rest := items[start:]
	if len(rest) <= int(n) {
		return rest, "", nil
	}
	return rest[:n], keyOf(rest[n-1]), nil
}
