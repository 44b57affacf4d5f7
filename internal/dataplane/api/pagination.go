package api

import (
	"encoding/base64"
	"sort"
	"strings"
)

const (
	// defaultPageSize is how many results a List call returns without maxResults (ListServices: 10).
	defaultPageSize         = 100
	defaultServicesPageSize = 10
	tokenPrefix             = "nodeless/v1/"
)

// paginate returns the page of keys (sorted ascending, or descending when desc) that follows
// nextToken, of maxResults keys or else size. Tokens are opaque to clients: they carry the last key returned, so a page boundary
// stays put when keys before it are added or removed.
func paginate(keys []string, maxResults *int32, nextToken *string, desc bool, size int) (page []string, next *string, err error) {
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return nil, nil, invalidParameter("maxResults: %d is out of range; use 1 to 100", *maxResults)
		}
		size = int(*maxResults)
	}
	start := 0
	if nextToken != nil && *nextToken != "" {
		after, ok := decodeToken(*nextToken)
		if !ok {
			return nil, nil, invalidParameter("nextToken: not a token this API returned; pass nextToken from the previous response unchanged")
		}
		start = sort.Search(len(keys), func(i int) bool {
			if desc {
				return keys[i] < after
			}
			return keys[i] > after
		})
	}
	end := min(start+size, len(keys))
	page = keys[start:end]
	if end < len(keys) && len(page) > 0 {
		t := encodeToken(page[len(page)-1])
		next = &t
	}
	return page, next, nil
}

func encodeToken(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + key))
}

func decodeToken(tok string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(raw), tokenPrefix) {
		return "", false
	}
	return strings.TrimPrefix(string(raw), tokenPrefix), true
}
