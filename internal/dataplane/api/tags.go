package api

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// maxTags is the number of tags ECS allows on one resource; tags with the reserved aws: prefix do
// not count (ECS reference, Tag: "Maximum number of tags per resource - 50").
const maxTags = 50

// tagChars are the characters ECS allows in tag keys and values (the TagKey and TagValue patterns
// of the ECS model: letters, numbers, spaces and _ . : / = + - @).
var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// reservedPrefix is the prefix ECS keeps for AWS's own tags, in any case, on keys and values.
const reservedPrefix = "aws:"

func reserved(s string) bool {
	return len(s) >= len(reservedPrefix) && strings.EqualFold(s[:len(reservedPrefix)], reservedPrefix)
}

// checkTags validates tags a client sets: keys present, of the allowed characters, not reserved,
// not repeated; values of the allowed characters and not reserved. Lengths (keys 1–128, values
// 0–256 characters) and the 50 tags of one request are checked against the model before.
func checkTags(member string, tags []model.Tag) error {
	seen := map[string]bool{}
	for i, t := range tags {
		if t.Key == nil || *t.Key == "" {
			return invalidParameter("%s[%d].key: required; every tag needs a key", member, i)
		}
		if err := checkTagKey(fmt.Sprintf("%s[%d].key", member, i), *t.Key); err != nil {
			return err
		}
		if seen[*t.Key] {
			return invalidParameter("%s[%d].key: %q is given twice; give each key once", member, i, *t.Key)
		}
		seen[*t.Key] = true
		if t.Value == nil {
			continue
		}
		if !tagChars.MatchString(*t.Value) {
			return invalidParameter("%s[%d].value: %q has characters tags do not allow; use letters, numbers, spaces and _ . : / = + - @", member, i, *t.Value)
		}
		if reserved(*t.Value) {
			return invalidParameter("%s[%d].value: %q uses the prefix aws:, which is reserved for AWS use; choose another value", member, i, *t.Value)
		}
	}
	return nil
}

// checkTagKey validates one tag key a client sets or removes.
func checkTagKey(member, key string) error {
	if !tagChars.MatchString(key) {
		return invalidParameter("%s: %q has characters tags do not allow; use letters, numbers, spaces and _ . : / = + - @", member, key)
	}
	if reserved(key) {
		return invalidParameter("%s: %q uses the prefix aws:, which is reserved for AWS use; choose another key", member, key)
	}
	return nil
}

// countTags counts the tags that count against maxTags: all but the aws: ones.
func countTags(tags []model.Tag) int {
	n := 0
	for _, t := range tags {
		if !reserved(*t.Key) {
			n++
		}
	}
	return n
}

// mergeTags adds or replaces tags by key.
func mergeTags(have, add []model.Tag) []model.Tag {
	out := slices.Clone(have)
	for _, t := range add {
		i := slices.IndexFunc(out, func(o model.Tag) bool { return *o.Key == *t.Key })
		if i >= 0 {
			out[i] = t
			continue
		}
		out = append(out, t)
	}
	return out
}

type tagResourceInput struct {
	ResourceArn string      `json:"resourceArn"`
	Tags        []model.Tag `json:"tags"`
}

type untagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

type listTagsInput struct {
	ResourceArn string `json:"resourceArn"`
}

type listTagsOutput struct {
	Tags []model.Tag `json:"tags"`
}

type emptyOutput struct{}

func (s *Server) tagResource(_ context.Context, in *tagResourceInput) (*emptyOutput, error) {
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	err := s.store.Update(func(tx *store.Tx) error {
		return s.updateTags(tx, in.ResourceArn, func(have []model.Tag) ([]model.Tag, error) {
			out := mergeTags(have, in.Tags)
			if n := countTags(out); n > maxTags {
				return nil, newError(errLimitExceeded, "tags: the resource would have %d tags; at most %d are allowed: remove some with UntagResource first", n, maxTags)
			}
			return out, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("tagging %s: %w", in.ResourceArn, err)
	}
	return &emptyOutput{}, nil
}

func (s *Server) untagResource(_ context.Context, in *untagResourceInput) (*emptyOutput, error) {
	for i, k := range in.TagKeys {
		if err := checkTagKey(fmt.Sprintf("tagKeys[%d]", i), k); err != nil {
			return nil, err
		}
	}
	err := s.store.Update(func(tx *store.Tx) error {
		return s.updateTags(tx, in.ResourceArn, func(have []model.Tag) ([]model.Tag, error) {
			return slices.DeleteFunc(slices.Clone(have), func(t model.Tag) bool { return slices.Contains(in.TagKeys, *t.Key) }), nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("untagging %s: %w", in.ResourceArn, err)
	}
	return &emptyOutput{}, nil
}

// errReadOnly stops updateTags from writing when it only reads (ListTagsForResource).
var errReadOnly = errors.New("read only")

func (s *Server) listTagsForResource(_ context.Context, in *listTagsInput) (*listTagsOutput, error) {
	var out []model.Tag
	err := s.store.View(func(tx *store.Tx) error {
		err := s.updateTags(tx, in.ResourceArn, func(have []model.Tag) ([]model.Tag, error) {
			out = have
			return nil, errReadOnly
		})
		if errors.Is(err, errReadOnly) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", in.ResourceArn, err)
	}
	return &listTagsOutput{Tags: nonNil(out)}, nil
}

// updateTags finds the resource an ARN names and replaces its tags with what fn returns.
func (s *Server) updateTags(tx *store.Tx, arn string, fn func([]model.Tag) ([]model.Tag, error)) error {
	r, ok := model.ParseARN(arn)
	if !ok {
		return invalidParameter("resourceArn: %q is not an ECS ARN; pass the ARN of a cluster, task definition, service or task", arn)
	}
	switch {
	case r.Type == "cluster" && len(r.Parts) == 1:
		return tagCluster(tx, r.Parts[0], fn)
	case r.Type == "task-definition" && len(r.Parts) == 1:
		return tagTaskDefinition(tx, arn, r.Parts[0], fn)
	case r.Type == "service" && len(r.Parts) == 2:
		return tagService(tx, arn, r.Parts[0], r.Parts[1], fn)
	case r.Type == "task" && len(r.Parts) == 2:
		return tagTask(tx, arn, r.Parts[0], r.Parts[1], fn)
	}
	return invalidParameter("resourceArn: %q does not name a cluster, task definition, service or task", arn)
}

func notFoundResource(arn string) error {
	return newError(errResourceNotFound, "The specified resource could not be found: %s", arn)
}

func tagCluster(tx *store.Tx, name string, fn func([]model.Tag) ([]model.Tag, error)) error {
	c, err := activeCluster(tx, name)
	if err != nil {
		return err
	}
	tags, err := fn(c.Cluster.Tags)
	if err != nil {
		return err
	}
	c.Cluster.Tags = tags
	return tx.PutCluster(c)
}

func tagTaskDefinition(tx *store.Tx, arn, familyRev string, fn func([]model.Tag) ([]model.Tag, error)) error {
	family, rev, err := model.ParseFamilyRevision(familyRev)
	if err != nil || rev == 0 {
		return invalidParameter("resourceArn: %q must name a task definition revision (FAMILY:REVISION)", arn)
	}
	td, err := tx.GetTaskDefinition(family, rev)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundResource(arn)
	}
	if err != nil {
		return err
	}
	tags, err := fn(td.Tags)
	if err != nil {
		return err
	}
	td.Tags = tags
	return tx.PutTaskDefinition(td)
}

func tagService(tx *store.Tx, arn, cluster, name string, fn func([]model.Tag) ([]model.Tag, error)) error {
	if _, err := activeCluster(tx, cluster); err != nil {
		return err
	}
	sv, err := tx.GetService(cluster, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundResource(arn)
	}
	if err != nil {
		return err
	}
	tags, err := fn(sv.Service.Tags)
	if err != nil {
		return err
	}
	sv.Service.Tags = tags
	return tx.PutService(cluster, sv)
}

func tagTask(tx *store.Tx, arn, cluster, id string, fn func([]model.Tag) ([]model.Tag, error)) error {
	if _, err := activeCluster(tx, cluster); err != nil {
		return err
	}
	t, err := tx.GetTask(cluster, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundResource(arn)
	}
	if err != nil {
		return err
	}
	tags, err := fn(t.Task.Tags)
	if err != nil {
		return err
	}
	t.Task.Tags = tags
	return tx.PutTask(cluster, id, t)
}
