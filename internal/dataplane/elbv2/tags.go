package elbv2

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// ELBv2's rules for tags (API reference, Tag; "Tag your Network Load Balancer": at most 50 tags
// per resource, the aws: prefix reserved for AWS).
const (
	maxTags            = 50
	maxTagKeyLength    = 128
	maxTagValueLength  = 256
	maxDescribeTagArns = 20
	reservedTagPrefix  = "aws:"
)

// tagRE is the pattern of a tag's key and value: letters, spaces, digits and _ . : / = + - @.
var tagRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// readTags decodes Tags.member.N.Key / .Value (of AddTags and of the Create* actions) and checks
// them: a key of 1–128 characters, a value of at most 256, both of tagRE's characters, a key not
// beginning with aws:, and no key twice (DuplicateTagKeys).
func readTags(f *form) []store.ELBTag {
	var out []store.ELBTag
	for _, p := range f.members("Tags") {
		k, ok := f.str(p + ".Key")
		v, _ := f.str(p + ".Value")
		path := memberPath(p)
		switch {
		case !ok || k == "":
			f.fail(validation("%s.Key: required; a tag is a Key of 1 to %d characters and an optional Value", path, maxTagKeyLength))
		case utf8.RuneCountInString(k) > maxTagKeyLength || !tagRE.MatchString(k):
			f.fail(validation("%s.Key: %q must have 1 to %d letters, spaces, digits or _ . : / = + - @", path, k, maxTagKeyLength))
		case strings.HasPrefix(strings.ToLower(k), reservedTagPrefix):
			f.fail(validation("%s.Key: %q begins with aws:, which is reserved for AWS; choose another key", path, k))
		case utf8.RuneCountInString(v) > maxTagValueLength || !tagRE.MatchString(v):
			f.fail(validation("%s.Value: %q must have at most %d letters, spaces, digits or _ . : / = + - @", path, v, maxTagValueLength))
		case slices.ContainsFunc(out, func(t store.ELBTag) bool { return t.Key == k }):
			f.fail(newError(CodeDuplicateTagKeys, "Tag key '%s' is given more than once (%s.Key); give each key once", k, path))
		}
		out = append(out, store.ELBTag{Key: k, Value: v})
	}
	return out
}

// mergeTags adds tags to cur (a key already there gets the new value), refusing more than 50.
func mergeTags(arn string, cur, tags []store.ELBTag) ([]store.ELBTag, error) {
	out := slices.Clone(cur)
	for _, t := range tags {
		if i := slices.IndexFunc(out, func(o store.ELBTag) bool { return o.Key == t.Key }); i >= 0 {
			out[i].Value = t.Value
			continue
		}
		out = append(out, t)
	}
	if len(out) > maxTags {
		return nil, newError(CodeTooManyTags, "Resource '%s' would have %d tags; a resource has at most %d (remove some with RemoveTags)", arn, len(out), maxTags)
	}
	return out, nil
}

// putNewTags records the tags a Create* request carried on the resource it made.
func putNewTags(tx *store.Tx, arn string, tags []store.ELBTag) error {
	if len(tags) == 0 {
		return nil
	}
	merged, err := mergeTags(arn, nil, tags)
	if err != nil {
		return err
	}
	return tx.PutELBTags(arn, merged)
}

// checkTagged returns the not-found error of the resource arn names (a load balancer, target
// group or listener of this API), or nil when it exists.
func checkTagged(tx *store.Tx, arn string) error {
	var err error
	switch kind := arnKind(arn); kind {
	case "loadbalancer":
		if _, err = tx.GetLoadBalancer(arn); errors.Is(err, store.ErrNotFound) {
			return newError(CodeLoadBalancerNotFound, "Load balancer '%s' not found", arn)
		}
	case "targetgroup":
		if _, err = tx.GetTargetGroup(arn); errors.Is(err, store.ErrNotFound) {
			return newError(CodeTargetGroupNotFound, "Target group '%s' not found", arn)
		}
	case "listener":
		if _, err = tx.GetListener(arn); errors.Is(err, store.ErrNotFound) {
			return newError(CodeListenerNotFound, "Listener '%s' not found", arn)
		}
	default:
		return validation("ResourceArns: %q is not the ARN of a load balancer, target group or listener of the nodeless local load balancer (listener rules and trust stores are not served)", arn)
	}
	return err
}

// arnKind is the resource type of an ELBv2 ARN: loadbalancer, targetgroup, listener, ...
func arnKind(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "elasticloadbalancing" {
		return ""
	}
	kind, _, _ := strings.Cut(parts[5], "/")
	return kind
}

// readResourceArns decodes ResourceArns (1 to limit of them; limit 0: no limit).
func readResourceArns(f *form, limit int) []string {
	arns := f.list("ResourceArns")
	switch {
	case len(arns) == 0:
		f.fail(validation("ResourceArns: give at least one ARN of a load balancer, target group or listener"))
	case limit > 0 && len(arns) > limit:
		f.fail(validation("ResourceArns: at most %d ARNs per call; got %d", limit, len(arns)))
	}
	return arns
}

// addTags: ResourceArns, Tags (at least one). Every resource must exist; a key it has gets the
// new value; a resource may have at most 50 tags (TooManyTags). All or nothing.
func (a *API) addTags(f *form) (any, error) {
	arns := readResourceArns(f, 0)
	tags := readTags(f)
	if len(tags) == 0 {
		f.fail(validation("Tags: give at least one tag (Key and optionally Value)"))
	}
	return a.retag(f, "AddTags", arns, func(arn string, cur []store.ELBTag) ([]store.ELBTag, error) {
		return mergeTags(arn, cur, tags)
	})
}

// removeTags: ResourceArns, TagKeys (at least one). A key a resource does not have is no error.
func (a *API) removeTags(f *form) (any, error) {
	arns := readResourceArns(f, 0)
	keys := f.list("TagKeys")
	if len(keys) == 0 {
		f.fail(validation("TagKeys: give at least one tag key to remove"))
	}
	return a.retag(f, "RemoveTags", arns, func(_ string, cur []store.ELBTag) ([]store.ELBTag, error) {
		return slices.DeleteFunc(cur, func(t store.ELBTag) bool { return slices.Contains(keys, t.Key) }), nil
	})
}

// retag finishes the request of action, then replaces the tags of every resource of arns (each
// must exist) with what change makes of them, in one store transaction: all or nothing.
func (a *API) retag(f *form, action string, arns []string, change func(arn string, cur []store.ELBTag) ([]store.ELBTag, error)) (any, error) {
	if err := finish(f, action); err != nil {
		return nil, err
	}
	err := a.store.Update(func(tx *store.Tx) error {
		for _, arn := range arns {
			if err := checkTagged(tx, arn); err != nil {
				return err
			}
			cur, err := tx.ELBTags(arn)
			if err != nil {
				return err
			}
			next, err := change(arn, cur)
			if err != nil {
				return err
			}
			if err := tx.PutELBTags(arn, next); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return emptyResult{}, nil
}

// describeTags: ResourceArns (1 to 20). One TagDescription per ARN, in the order asked.
func (a *API) describeTags(f *form) (any, error) {
	arns := readResourceArns(f, maxDescribeTagArns)
	if err := finish(f, "DescribeTags"); err != nil {
		return nil, err
	}
	var out tagsResult
	err := a.store.View(func(tx *store.Tx) error {
		for _, arn := range arns {
			if err := checkTagged(tx, arn); err != nil {
				return err
			}
			tags, err := tx.ELBTags(arn)
			if err != nil {
				return err
			}
			d := xmlTagDescription{ResourceArn: arn}
			for _, t := range tags {
				d.Tags = append(d.Tags, xmlTag(t))
			}
			out.TagDescriptions = append(out.TagDescriptions, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
