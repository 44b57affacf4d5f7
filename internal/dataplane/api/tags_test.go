package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func tag(k, v string) ecstypes.Tag { return ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)} }

// TestTagRules holds TagResource and UntagResource to the rules of the ECS reference (Tag,
// TagKey, TagValue): keys 1–128 and values 0–256 characters of letters, numbers, spaces and
// _ . : / = + - @; the aws: prefix reserved on keys and values, in any case; at most 50 tags on a
// resource.
func TestTagRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	arn := aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:1")
	tests := []struct {
		name  string
		tags  []ecstypes.Tag
		keys  []string // UntagResource instead
		code  string
		parts []string
	}{
		{name: "longest key and value", tags: []ecstypes.Tag{tag(strings.Repeat("k", 128), strings.Repeat("v", 256))}},
		{name: "every allowed character", tags: []ecstypes.Tag{tag("ÄÖ 9_.:/=+-@", "ü ß 7_.:/=+-@")}},
		{name: "empty value", tags: []ecstypes.Tag{tag("empty", "")}},
		{name: "key too long", tags: []ecstypes.Tag{tag(strings.Repeat("k", 129), "v")}, code: "InvalidParameterException", parts: []string{"tags[0].key", "128"}},
		{name: "value too long", tags: []ecstypes.Tag{tag("k", strings.Repeat("v", 257))}, code: "InvalidParameterException", parts: []string{"tags[0].value", "256"}},
		{name: "reserved key", tags: []ecstypes.Tag{tag("aws:team", "a")}, code: "InvalidParameterException", parts: []string{"tags[0].key", "aws:"}},
		{name: "reserved key in any case", tags: []ecstypes.Tag{tag("ok", "1"), tag("AwS:team", "a")}, code: "InvalidParameterException", parts: []string{"tags[1].key", "reserved"}},
		{name: "reserved value", tags: []ecstypes.Tag{tag("team", "AWS:a")}, code: "InvalidParameterException", parts: []string{"tags[0].value", "reserved"}},
		{name: "character not allowed in key", tags: []ecstypes.Tag{tag("team!", "a")}, code: "InvalidParameterException", parts: []string{"tags[0].key", "team!"}},
		{name: "character not allowed in value", tags: []ecstypes.Tag{tag("team", "a#b")}, code: "InvalidParameterException", parts: []string{"tags[0].value", "a#b"}},
		{name: "key given twice", tags: []ecstypes.Tag{tag("team", "a"), tag("team", "b")}, code: "InvalidParameterException", parts: []string{"tags[1].key", "twice"}},
		{name: "untag a reserved key", keys: []string{"team", "aws:cloudformation:stack-name"}, code: "InvalidParameterException", parts: []string{"tagKeys[1]", "aws:"}},
		{name: "untag a key the resource lacks", keys: []string{"never-set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.keys != nil {
				_, err = e.ecs.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: arn, TagKeys: tt.keys})
			} else {
				_, err = e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: tt.tags})
			}
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantAPIError(t, err, tt.code, tt.parts...)
		})
	}
}

// TestTagLimit: a resource carries at most 50 tags, counting those it has and those TagResource
// adds; overwriting a key adds none.
func TestTagLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	arn := aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:1")
	tags := func(from, to int) []ecstypes.Tag {
		var out []ecstypes.Tag
		for i := from; i < to; i++ {
			out = append(out, tag(fmt.Sprintf("k%02d", i), "v"))
		}
		return out
	}
	must[*ecs.TagResourceOutput](t)(e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: tags(0, 30)}))
	must[*ecs.TagResourceOutput](t)(e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: tags(20, 50)}))
	_, err := e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: tags(50, 51)})
	wantAPIError(t, err, "LimitExceededException", "51", "50")
	got := must[*ecs.ListTagsForResourceOutput](t)(e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn}))
	if len(got.Tags) != 50 {
		t.Errorf("%d tags after the refused call, want 50", len(got.Tags))
	}
	_, err = e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: tags(0, 51)})
	wantAPIError(t, err, "InvalidParameterException", "tags", "50")
}

// TestTagsInPlace: tagging a task definition revision or a service changes neither: no new
// revision, no new deployment, and the tags show in their Describe with include TAGS.
func TestTagsInPlace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	td := must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web"))).TaskDefinition
	svc := createWeb(t, e, "api", 1)
	for _, arn := range []*string{td.TaskDefinitionArn, svc.ServiceArn} {
		must[*ecs.TagResourceOutput](t)(e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []ecstypes.Tag{tag("team", "b")}}))
	}
	desc := must[*ecs.DescribeTaskDefinitionOutput](t)(e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String("web"), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	}))
	if desc.TaskDefinition.Revision != 1 {
		t.Errorf("newest revision %d after tagging, want 1", desc.TaskDefinition.Revision)
	}
	if diff := cmp.Diff([]string{"team=b"}, tagStrings(desc.Tags)); diff != "" {
		t.Errorf("revision tags (-want +got):\n%s", diff)
	}
	out := must[*ecs.DescribeServicesOutput](t)(e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Services: []string{"api"}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
	}))
	s := out.Services[0]
	if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Id) != aws.ToString(svc.Deployments[0].Id) {
		t.Errorf("deployments after tagging: %+v, want the one from CreateService", s.Deployments)
	}
	if diff := cmp.Diff([]string{"app=api", "team=b"}, tagStrings(s.Tags)); diff != "" {
		t.Errorf("service tags (-want +got):\n%s", diff)
	}
	if _, _, changed := e.engine.calls(); len(changed) != 1 {
		t.Errorf("the scheduler was told of %d service changes, want 1 (the create): %v", len(changed), changed)
	}
}
