package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
)

// newTaskID returns a task ID as ECS makes them: 32 lower-case hex digits.
func newTaskID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newUUID returns a random RFC 4122 version 4 UUID (container IDs, event IDs).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newDeploymentID returns "ecs-svc/" and 19 digits, as ECS names deployments.
func newDeploymentID() string {
	n, _ := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(19), nil))
	return fmt.Sprintf("ecs-svc/%019d", n)
}

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
