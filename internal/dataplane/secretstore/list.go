package secretstore

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

const (
	defaultMaxResults = 100
	maxFilterValues   = 10
	maxFilterValueLen = 512
)

// ListSecrets lists the secrets that match every filter, a page at a time, by creation date
// (SortBy and SortOrder change that), leaving out those scheduled for deletion unless
// IncludePlannedDeletion.
func (s *Store) ListSecrets(in *ListSecretsInput) (*ListSecretsOutput, error) {
	match, err := compileFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	limit := defaultMaxResults
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > defaultMaxResults {
			return nil, invalidParameter("MaxResults: %d; use 1 to %d", *in.MaxResults, defaultMaxResults)
		}
		limit = int(*in.MaxResults)
	}
	order, err := sortOrder(in.SortBy, in.SortOrder)
	if err != nil {
		return nil, err
	}
	var all []*store.SecretRecord
	if err := s.db.View(func(tx *store.Tx) error {
		all, err = tx.Secrets()
		return err
	}); err != nil {
		return nil, err
	}
	planned := in.IncludePlannedDeletion != nil && *in.IncludePlannedDeletion
	var rows []*store.SecretRecord
	for _, r := range all {
		if s.expired(r) || (r.DeletedDate != nil && !planned) || !match(r) {
			continue
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, order)
	start, err := pageStart(rows, in.NextToken, order)
	if err != nil {
		return nil, err
	}
	out := &ListSecretsOutput{SecretList: []DescribeSecretOutput{}}
	end := min(start+limit, len(rows))
	for _, r := range rows[start:end] {
		out.SecretList = append(out.SecretList, describe(r))
	}
	if end < len(rows) {
		tok := encodeToken(rows[end-1])
		out.NextToken = &tok
	}
	return out, nil
}

// compileFilters returns a predicate that holds when every filter matches.
func compileFilters(filters []Filter) (func(*store.SecretRecord) bool, error) {
	var preds []func(*store.SecretRecord) bool
	for i, f := range filters {
		p, err := compileFilter(i, f)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return func(r *store.SecretRecord) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}, nil
}

// compileFilter is one filter: its values are alternatives, each a prefix of one of the secret's
// attributes (or, with a leading "!", a prefix none of them has).
func compileFilter(i int, f Filter) (func(*store.SecretRecord) bool, error) {
	if len(f.Values) == 0 || len(f.Values) > maxFilterValues {
		return nil, invalidParameter("Filters[%d].Values: %d values; give 1 to %d", i, len(f.Values), maxFilterValues)
	}
	for j, v := range f.Values {
		if len(v) > maxFilterValueLen {
			return nil, invalidParameter("Filters[%d].Values[%d]: %d characters; the most is %d", i, j, len(v), maxFilterValueLen)
		}
	}
	var attrs func(*store.SecretRecord) []string
	fold := false
	switch key := deref(f.Key); key {
	case "name":
		attrs = func(r *store.SecretRecord) []string { return []string{r.Name} }
	case "description":
		attrs, fold = func(r *store.SecretRecord) []string { return []string{r.Description} }, true
	case "tag-key":
		attrs = func(r *store.SecretRecord) []string { return tagParts(r, true) }
	case "tag-value":
		attrs = func(r *store.SecretRecord) []string { return tagParts(r, false) }
	case "primary-region", "owning-service", "all":
		return nil, invalidParameter("Filters[%d].Key %q is not served by the local data plane; use name, description, tag-key or tag-value", i, key)
	default:
		return nil, invalidParameter("Filters[%d].Key %q: use name, description, tag-key or tag-value", i, key)
	}
	values := f.Values
	return func(r *store.SecretRecord) bool {
		return matchAny(values, attrs(r), fold)
	}, nil
}

func tagParts(r *store.SecretRecord, keys bool) []string {
	out := make([]string, 0, len(r.Tags))
	for _, t := range r.Tags {
		if keys {
			out = append(out, t.Key)
		} else {
			out = append(out, t.Value)
		}
	}
	return out
}

func matchAny(values, attrs []string, fold bool) bool {
	for _, v := range values {
		neg := strings.HasPrefix(v, "!")
		v = strings.TrimPrefix(v, "!")
		hit := slices.ContainsFunc(attrs, func(a string) bool {
			if fold {
				return strings.HasPrefix(strings.ToLower(a), strings.ToLower(v))
			}
			return strings.HasPrefix(a, v)
		})
		if hit != neg {
			return true
		}
	}
	return false
}

type rowOrder = func(a, b *store.SecretRecord) int

func sortOrder(by, order *string) (rowOrder, error) {
	var key rowOrder
	switch deref(by) {
	case "", "created-date":
		key = func(a, b *store.SecretRecord) int { return cmpTime(a.CreatedDate, b.CreatedDate) }
	case "last-changed-date":
		key = func(a, b *store.SecretRecord) int { return cmpTime(a.LastChangedDate, b.LastChangedDate) }
	case "last-accessed-date":
		key = func(a, b *store.SecretRecord) int { return cmpTime(a.LastAccessedDate, b.LastAccessedDate) }
	case "name":
		key = func(a, b *store.SecretRecord) int { return strings.Compare(a.Name, b.Name) }
	default:
		return nil, invalidParameter("SortBy %q: use created-date, last-accessed-date, last-changed-date or name", *by)
	}
	sign := 1
	switch deref(order) {
	case "", "asc":
	case "desc":
		sign = -1
	default:
		return nil, invalidParameter("SortOrder %q: use asc or desc", *order)
	}
	return func(a, b *store.SecretRecord) int {
		if c := key(a, b); c != 0 {
			return sign * c
		}
		return strings.Compare(a.Name, b.Name) // names are unique: a total order
	}, nil
}

func cmpTime(a, b *model.Time) int {
	return cmp.Compare(unixNano(a), unixNano(b))
}

func unixNano(t *model.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

// token is where a page ends: the last row shown (by name and by its sort position).
type token struct {
	Name string `json:"n"`
	// Row is the last row as it was, to find the place again when it has gone meanwhile.
	Row store.SecretRecord `json:"r"`
}

func encodeToken(r *store.SecretRecord) string {
	row := *r
	row.Versions, row.Tags, row.Description = nil, nil, "" // only what the orders read
	raw, _ := json.Marshal(token{Name: r.Name, Row: row})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// pageStart is the index of the first row after the one tok names.
func pageStart(rows []*store.SecretRecord, tok *string, order rowOrder) (int, error) {
	if tok == nil || *tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*tok)
	var t token
	if err == nil {
		err = json.Unmarshal(raw, &t)
	}
	if err != nil {
		return 0, invalidParameter("NextToken: not a token ListSecrets returned; start again without it")
	}
	i, _ := slices.BinarySearchFunc(rows, &t.Row, order)
	for i < len(rows) && order(rows[i], &t.Row) <= 0 {
		i++
	}
	return i, nil
}
