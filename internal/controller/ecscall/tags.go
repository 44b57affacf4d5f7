package ecscall

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Tag keys nodeless puts on the ECS resources it creates.
const (
	// TagOwner holds the UID of the Kubernetes object that created the resource, so that a
	// restarted controller recognises its own resource after a crash before the status write.
	TagOwner = "nodeless.dev/owner-uid"
	// TagSpecHash holds the hash of the spec a task definition revision was registered from.
	TagSpecHash = "nodeless.dev/spec-hash"
	// TagCluster marks a TaskDefinition's revision registered for one cluster's defaults
	// (status.clusterRevisions), naming the Cluster object: it is not the object's newest
	// revision, whatever its number (revision.NewestOwn).
	TagCluster = "nodeless.dev/cluster-defaults"
)

// OwnerTag is the TagOwner tag naming obj as the owner.
func OwnerTag(obj client.Object) ecstypes.Tag {
	return ecstypes.Tag{Key: aws.String(TagOwner), Value: aws.String(string(obj.GetUID()))}
}

// TagValue returns the value of key among tags, "" when absent.
func TagValue(tags []ecstypes.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// ClientToken derives an idempotency token of at most max characters (CreateService takes 36,
// RunTask 64) from the object's UID and generation: a retried create (after a crash, a timeout, a
// lost status write) carries the same token and ECS returns the original resource instead of
// creating a second one.
func ClientToken(obj client.Object, max int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", obj.GetUID(), obj.GetGeneration())))
	tok := hex.EncodeToString(sum[:])
	if len(tok) > max {
		tok = tok[:max]
	}
	return tok
}

// Hash is a short (20 hex characters), stable content hash of v's JSON encoding.
func Hash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hashing: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:10]), nil
}

// OptString is nil for "" and a pointer to s otherwise.
func OptString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
