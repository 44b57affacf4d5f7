package inplace

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// ManagedPrefix starts the keys of the tags nodeless puts on the resources it creates (owner UID,
// spec hash); spec.tags may not use it.
const ManagedPrefix = "nodeless.dev/"

// reservedPrefix starts the keys AWS reserves for itself, in any case (ECS API reference, Tag).
const reservedPrefix = "aws:"

// Reserved reports whether key belongs to nodeless or to AWS rather than to spec.tags.
func Reserved(key string) bool {
	return strings.HasPrefix(key, ManagedPrefix) ||
		(len(key) >= len(reservedPrefix) && strings.EqualFold(key[:len(reservedPrefix)], reservedPrefix))
}

// TagChange converges a resource's tags: Remove with UntagResource, then Set with TagResource.
type TagChange struct {
	Set    []ecstypes.Tag
	Remove []string
}

// Empty reports whether the change makes no call.
func (c TagChange) Empty() bool { return len(c.Set) == 0 && len(c.Remove) == 0 }

// Keys lists the keys the change touches, for logs and events: "+team", "-owner".
func (c TagChange) Keys() []string {
	var out []string
	for _, t := range c.Set {
		out = append(out, "+"+aws.ToString(t.Key))
	}
	for _, k := range c.Remove {
		out = append(out, "-"+k)
	}
	return out
}

// CheckTags refuses spec tags ECS or nodeless reserve (the CRD refuses them too; this guards an
// API server without the CRD's validation rules). member names the field: "spec.tags".
func CheckTags(member string, tags []ecsv1alpha1.Tag) error {
	for i, t := range tags {
		if Reserved(t.Key) {
			return fmt.Errorf("%s[%d].key: %q is reserved (keys starting with %s belong to nodeless, aws: to AWS); choose another key", member, i, t.Key, ManagedPrefix)
		}
	}
	return nil
}

// DiffTags returns the change that gives a resource carrying observed tags the desired ones:
// desired tags that are missing or have another value are set; keys in applied (what nodeless set
// last) that desired no longer has and the resource still carries are removed. Reserved keys are
// never touched.
func DiffTags(desired, applied []ecsv1alpha1.Tag, observed []ecstypes.Tag) TagChange {
	have := make(map[string]string, len(observed))
	for _, t := range observed {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	var c TagChange
	want := make(map[string]bool, len(desired))
	for _, t := range desired {
		want[t.Key] = true
		if v, ok := have[t.Key]; (!ok || v != t.Value) && !Reserved(t.Key) {
			c.Set = append(c.Set, ecstypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
		}
	}
	for _, t := range applied {
		if _, ok := have[t.Key]; ok && !want[t.Key] && !Reserved(t.Key) && !slices.Contains(c.Remove, t.Key) {
			c.Remove = append(c.Remove, t.Key)
		}
	}
	return c
}

// DiffApplied is DiffTags for a resource whose tags were not read (task definition revisions,
// which nodeless does not describe at rest): it assumes the resource carries applied.
func DiffApplied(desired, applied []ecsv1alpha1.Tag) TagChange {
	return DiffTags(desired, applied, ecsTags(applied))
}

// SameTags reports whether a and b hold the same keys with the same values, in any order.
func SameTags(a, b []ecsv1alpha1.Tag) bool {
	return DiffApplied(a, b).Empty() && DiffApplied(b, a).Empty()
}

// Applied is what status.appliedTags records once desired is applied: a copy, nil when empty.
func Applied(desired []ecsv1alpha1.Tag) []ecsv1alpha1.Tag {
	if len(desired) == 0 {
		return nil
	}
	return slices.Clone(desired)
}

// WithChange returns tags (a resource's, as described) after c: for the cached description of a
// resource just tagged, so that the next reconcile does not tag it again.
func WithChange(tags []ecstypes.Tag, c TagChange) []ecstypes.Tag {
	out := slices.DeleteFunc(slices.Clone(tags), func(t ecstypes.Tag) bool {
		return slices.Contains(c.Remove, aws.ToString(t.Key)) || slices.ContainsFunc(c.Set, func(s ecstypes.Tag) bool {
			return aws.ToString(s.Key) == aws.ToString(t.Key)
		})
	})
	return append(out, c.Set...)
}

func ecsTags(tags []ecsv1alpha1.Tag) []ecstypes.Tag {
	out := make([]ecstypes.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, ecstypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	return out
}

// Tagger holds the ECS calls that change tags; ecsapi.API satisfies it.
type Tagger interface {
	TagResource(ctx context.Context, in *ecs.TagResourceInput, optFns ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *ecs.UntagResourceInput, optFns ...func(*ecs.Options)) (*ecs.UntagResourceOutput, error)
}

// Apply makes the calls of c on the resource arn: UntagResource first (it frees room under ECS's
// 50 tags), then TagResource; nothing when c is empty. Errors are the SDK's, wrapped.
func Apply(ctx context.Context, api Tagger, arn string, c TagChange) error {
	if len(c.Remove) > 0 {
		if _, err := api.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: c.Remove}); err != nil {
			return fmt.Errorf("untagging %s: %w", arn, err)
		}
	}
	if len(c.Set) > 0 {
		if _, err := api.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: c.Set}); err != nil {
			return fmt.Errorf("tagging %s: %w", arn, err)
		}
	}
	return nil
}
