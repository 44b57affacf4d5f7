package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// requestHash fingerprints a request's parameters for idempotency checks.
func requestHash(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hashing the request: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// checkClientToken validates an idempotency token: up to max characters in the range 33-126.
func checkClientToken(token *string, maxLen int) error {
	if token == nil {
		return nil
	}
	if len(*token) == 0 || len(*token) > maxLen {
		return invalidParameter("clientToken: %d characters; use 1 to %d", len(*token), maxLen)
	}
	for i := 0; i < len(*token); i++ {
		if c := (*token)[i]; c < 33 || c > 126 {
			return invalidParameter("clientToken: character %d (%q) is outside the allowed range 33-126 (printable ASCII, no space)", i, c)
		}
	}
	return nil
}
