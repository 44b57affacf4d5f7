package model

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"

	"github.com/google/uuid"
)

// NewTaskID returns a task ID as ECS makes them: 32 lower-case hex digits (128 random bits).
func NewTaskID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// NewUUID returns a random RFC 4122 version 4 UUID, lower case: container IDs in container ARNs,
// service event IDs, request IDs.
func NewUUID() string { return uuid.NewString() }

// deploymentIDMin and deploymentIDSpan bound the number of a deployment ID: 19 digits, no leading
// zero (10^18 ≤ n < 10^19).
var (
	deploymentIDMin  = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	deploymentIDSpan = new(big.Int).Mul(deploymentIDMin, big.NewInt(9))
)

// NewDeploymentID returns a deployment ID as ECS makes them: "ecs-svc/" and 19 digits, the first
// not zero.
func NewDeploymentID() string {
	n, _ := rand.Int(rand.Reader, deploymentIDSpan) // crypto/rand never fails (Go 1.24+)
	return "ecs-svc/" + n.Add(n, deploymentIDMin).String()
}
