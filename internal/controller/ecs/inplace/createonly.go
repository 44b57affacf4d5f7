package inplace

import (
	"fmt"
	"strings"
)

// ReasonRecreateRequired is the Synced condition's reason (and the Event's) when a spec member
// changed that ECS sets only when it creates the resource.
const ReasonRecreateRequired = "RecreateRequired"

// CreateOnly is a change of a member ECS sets only at create (a service's launchType, a cluster's
// name): nodeless refuses it rather than ignoring it or replacing the resource behind the user's
// back.
type CreateOnly struct {
	// Member is the field as the user wrote it: "spec.launchType".
	Member string
	// Was is what the ECS resource has; Now what the spec asks for.
	Was, Now string
}

// Message says what changed, why it cannot be applied and what to do, for kind (the Kubernetes
// kind: "Service").
func (c *CreateOnly) Message(kind string) string {
	return fmt.Sprintf("%s changed to %s, but ECS cannot change it on an existing %s, which has %s: undo the change, or delete this %s and create a new one",
		c.Member, quote(c.Now), strings.ToLower(kind), quote(c.Was), kind)
}

func quote(s string) string {
	if s == "" {
		return "(unset)"
	}
	return fmt.Sprintf("%q", s)
}

// SameCluster reports whether cluster (a name or ARN, as the spec resolves it) designates the
// cluster whose ARN is arn (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME).
func SameCluster(cluster, arn string) bool {
	return cluster == arn || cluster == arn[strings.LastIndex(arn, "/")+1:]
}
