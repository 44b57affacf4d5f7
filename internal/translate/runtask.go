package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/apimachinery/pkg/types"
)

// MaxClientToken is the longest clientToken RunTask accepts.
const MaxClientToken = 64

// ClientToken is RunTask's idempotency token for run attempt of the Pod with uid: the UID itself
// for the first (attempt 0), "UID-attempt" for the node's re-runs of a Pod whose task stopped
// (restartPolicy Always or OnFailure). A retried RunTask of one attempt (after a crash, a timeout,
// a lost status write) therefore returns the task it started, and never a second one. A token
// that would exceed 64 characters is replaced by 64 hex digits of its SHA-256.
func ClientToken(uid types.UID, attempt int) string {
	tok := string(uid)
	if attempt > 0 {
		tok += "-" + strconv.Itoa(attempt)
	}
	if len(tok) > MaxClientToken {
		sum := sha256.Sum256([]byte(tok))
		tok = hex.EncodeToString(sum[:])
	}
	return tok
}

// StartedBy is RunTask's startedBy for the Pod with uid: "nodeless/" and the UID, so that
// ListTasks(startedBy) finds a Pod's task (up to 128 of [A-Za-z0-9_/-]).
func StartedBy(uid types.UID) string { return "nodeless/" + string(uid) }

// runTask is the Pod's RunTask request for its first attempt.
func (t *translator) runTask() *ecs.RunTaskInput {
	in := &ecs.RunTaskInput{
		TaskDefinition:       t.td.Family,
		Count:                aws.Int32(1),
		ClientToken:          aws.String(ClientToken(t.pod.UID, 0)),
		StartedBy:            aws.String(StartedBy(t.pod.UID)),
		EnableExecuteCommand: t.opts.EnableExecuteCommand,
		Tags: []ecstypes.Tag{
			{Key: aws.String(TagOwner), Value: aws.String(string(t.pod.UID))},
			{Key: aws.String(TagPodNamespace), Value: aws.String(t.pod.Namespace)},
			{Key: aws.String(TagPodName), Value: aws.String(t.pod.Name)},
		},
	}
	in.Tags = append(in.Tags, t.dns...)
	if len(t.overrides) > 0 {
		in.Overrides = &ecstypes.TaskOverride{ContainerOverrides: t.overrides}
	}
	return in
}
