package inplace

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

func specTags(kv ...string) []ecsv1alpha1.Tag {
	var out []ecsv1alpha1.Tag
	for i := 0; i < len(kv); i += 2 {
		out = append(out, ecsv1alpha1.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func awsTags(kv ...string) []ecstypes.Tag {
	var out []ecstypes.Tag
	for i := 0; i < len(kv); i += 2 {
		out = append(out, ecstypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func strs(tags []ecstypes.Tag) []string {
	var out []string
	for _, t := range tags {
		out = append(out, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return out
}

func TestDiffTags(t *testing.T) {
	tests := []struct {
		name              string
		desired, applied  []ecsv1alpha1.Tag
		observed          []ecstypes.Tag
		wantSet, wantGone []string
	}{
		{name: "steady", desired: specTags("team", "a"), applied: specTags("team", "a"),
			observed: awsTags("team", "a", "nodeless.dev/owner-uid", "u")},
		{name: "value changed", desired: specTags("team", "b"), applied: specTags("team", "a"),
			observed: awsTags("team", "a", "nodeless.dev/owner-uid", "u"), wantSet: []string{"team=b"}},
		{name: "added", desired: specTags("team", "a", "env", "prod"), applied: specTags("team", "a"),
			observed: awsTags("team", "a"), wantSet: []string{"env=prod"}},
		{name: "removed: only a key nodeless applied goes", desired: nil, applied: specTags("team", "a"),
			observed: awsTags("team", "a", "cost-center", "42", "nodeless.dev/owner-uid", "u", "aws:ecs:clusterName", "c"), wantGone: []string{"team"}},
		{name: "removed but already gone", desired: nil, applied: specTags("team", "a"), observed: awsTags("other", "x")},
		{name: "drift: someone changed our tag", desired: specTags("team", "a"), applied: specTags("team", "a"),
			observed: awsTags("team", "z"), wantSet: []string{"team=a"}},
		{name: "applied unknown (upgrade): set, remove nothing", desired: specTags("team", "b"), applied: nil,
			observed: awsTags("team", "a", "old", "1"), wantSet: []string{"team=b"}},
		{name: "reserved keys in the spec are never sent", desired: specTags("nodeless.dev/owner-uid", "x", "AWS:x", "y"), applied: nil,
			observed: awsTags("nodeless.dev/owner-uid", "u")},
		{name: "empty value is a value", desired: specTags("flag", ""), applied: nil, observed: nil, wantSet: []string{"flag="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DiffTags(tt.desired, tt.applied, tt.observed)
			if diff := cmp.Diff(tt.wantSet, strs(c.Set)); diff != "" {
				t.Errorf("set (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantGone, c.Remove); diff != "" {
				t.Errorf("remove (-want +got):\n%s", diff)
			}
			if c.Empty() != (len(tt.wantSet)+len(tt.wantGone) == 0) {
				t.Errorf("Empty() = %v", c.Empty())
			}
			// Applying the change gives the resource the desired tags and keeps the others.
			after := WithChange(tt.observed, c)
			if again := DiffTags(tt.desired, Applied(tt.desired), after); !again.Empty() {
				t.Errorf("after the change, another change is due: %+v", again)
			}
		})
	}
}

func TestDiffApplied(t *testing.T) {
	c := DiffApplied(specTags("team", "b", "env", "prod"), specTags("team", "a", "old", "1", "env", "prod"))
	if diff := cmp.Diff([]string{"team=b"}, strs(c.Set)); diff != "" {
		t.Errorf("set (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"old"}, c.Remove); diff != "" {
		t.Errorf("remove (-want +got):\n%s", diff)
	}
	if !SameTags(specTags("a", "1", "b", "2"), specTags("b", "2", "a", "1")) || SameTags(specTags("a", "1"), nil) || SameTags(specTags("a", "1"), specTags("a", "2")) {
		t.Error("SameTags compares keys and values in any order")
	}
	if Applied(nil) != nil || Applied([]ecsv1alpha1.Tag{}) != nil {
		t.Error("Applied of no tags must be nil, so that status omits it")
	}
}

func TestCheckTags(t *testing.T) {
	if err := CheckTags("spec.tags", specTags("team", "a", "aws-ish", "b")); err != nil {
		t.Errorf("refused ordinary tags: %v", err)
	}
	for _, key := range []string{"nodeless.dev/owner-uid", "aws:x", "Aws:x"} {
		err := CheckTags("spec.tags", specTags("ok", "1", key, "v"))
		if err == nil || !strings.HasPrefix(err.Error(), "spec.tags[1].key") {
			t.Errorf("CheckTags(%s) = %v, want an error naming spec.tags[1].key", key, err)
		}
	}
}

// recorder is a Tagger that records its calls and fails when told to.
type recorder struct {
	calls []string
	err   error
}

func (r *recorder) TagResource(_ context.Context, in *ecs.TagResourceInput, _ ...func(*ecs.Options)) (*ecs.TagResourceOutput, error) {
	r.calls = append(r.calls, "tag "+aws.ToString(in.ResourceArn)+" "+strings.Join(strs(in.Tags), ","))
	return &ecs.TagResourceOutput{}, r.err
}

func (r *recorder) UntagResource(_ context.Context, in *ecs.UntagResourceInput, _ ...func(*ecs.Options)) (*ecs.UntagResourceOutput, error) {
	r.calls = append(r.calls, "untag "+aws.ToString(in.ResourceArn))
	return &ecs.UntagResourceOutput{}, r.err
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	if err := Apply(ctx, rec, "arn:x", TagChange{}); err != nil || len(rec.calls) != 0 {
		t.Errorf("an empty change made calls %v (err %v)", rec.calls, err)
	}
	if err := Apply(ctx, rec, "arn:x", TagChange{Set: awsTags("a", "1"), Remove: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	if len(rec.calls) != 2 || rec.calls[0] != "untag arn:x" {
		t.Errorf("calls %v, want untag first, then tag", rec.calls)
	}
	rec = &recorder{err: errors.New("boom")}
	if err := Apply(ctx, rec, "arn:x", TagChange{Set: awsTags("a", "1")}); err == nil || !errors.Is(err, rec.err) {
		t.Errorf("Apply error %v, want it to wrap the call's error", err)
	}
}

func TestCreateOnlyMessage(t *testing.T) {
	c := &CreateOnly{Member: "spec.launchType", Was: "FARGATE", Now: "EC2"}
	want := `spec.launchType changed to "EC2", but ECS cannot change it on an existing service, which has "FARGATE": undo the change, or delete this Service and create a new one`
	if diff := cmp.Diff(want, c.Message("Service")); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		cluster, arn string
		same         bool
	}{
		{"prod", "arn:aws:ecs:us-east-1:1:cluster/prod", true},
		{"arn:aws:ecs:us-east-1:1:cluster/prod", "arn:aws:ecs:us-east-1:1:cluster/prod", true},
		{"dev", "arn:aws:ecs:us-east-1:1:cluster/prod", false},
	} {
		if got := SameCluster(tt.cluster, tt.arn); got != tt.same {
			t.Errorf("SameCluster(%s, %s) = %v", tt.cluster, tt.arn, got)
		}
	}
}
