package scheduler

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
)

// newTaskID is 32 lower-case hex digits, as ECS task IDs are.
func newTaskID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// newUUID is a random (version 4) UUID, for container ARNs and service event IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newDeploymentID is "ecs-svc/" and 19 digits, as ECS deployment IDs are.
func newDeploymentID() string {
	lo := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	span := new(big.Int).Mul(lo, big.NewInt(9))
	n, err := rand.Int(rand.Reader, span)
	if err != nil {
		n = big.NewInt(0)
	}
	return "ecs-svc/" + n.Add(n, lo).String()
}
