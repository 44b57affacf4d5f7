package revision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Revision is one registered task definition revision and its tags.
type Revision struct {
	Definition *ecstypes.TaskDefinition
	Tags       []ecstypes.Tag
}

// ARN is the revision's ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION).
func (r *Revision) ARN() string { return aws.ToString(r.Definition.TaskDefinitionArn) }

// Hash is the spec hash the revision was registered from ("" when it carries none).
func (r *Revision) Hash() string { return ecscall.TagValue(r.Tags, ecscall.TagSpecHash) }

// Cluster is the Cluster object whose defaults the revision was registered for ("": none, the
// object's own revision).
func (r *Revision) Cluster() string { return ecscall.TagValue(r.Tags, ecscall.TagCluster) }

// Match says which ACTIVE revisions of a family may be reused (see the package doc).
type Match int

const (
	// Newest reuses only the family's newest ACTIVE revision.
	Newest Match = iota
	// AnyActive reuses any ACTIVE revision of the family.
	AnyActive
	// NewestOwn reuses only the family's newest ACTIVE revision that is not a cluster's
	// (tagged ecscall.TagCluster): a TaskDefinition's own newest revision, though the revisions
	// of its clusters' defaults may have been registered after it.
	NewestOwn
)

// maxScan bounds how many older ACTIVE revisions Find describes when the newest does not carry
// the hash: a family whose revisions are collected keeps a handful, and one that keeps more is
// better served by registering once more than by describing all of them on every miss.
const maxScan = 50

// Describe describes the revision named ref (a family, family:revision or an ARN) with its tags;
// nil when ECS does not know it or it is not ACTIVE.
func Describe(ctx context.Context, api ecsapi.API, ref string) (*Revision, error) {
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if ecsapi.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if out.TaskDefinition == nil || out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
		return nil, nil
	}
	return &Revision{Definition: out.TaskDefinition, Tags: out.Tags}, nil
}

// Latest describes the family's newest ACTIVE revision; nil when the family has none.
func Latest(ctx context.Context, api ecsapi.API, family string) (*Revision, error) {
	return Describe(ctx, api, family)
}

// Find returns a revision of family that match allows and that carries hash; nil when there is
// none. It describes the newest ACTIVE revision first (one call); with AnyActive it then lists
// the family's other ACTIVE revisions, newest first, and describes up to maxScan of them.
func Find(ctx context.Context, api ecsapi.API, family, hash string, match Match) (*Revision, error) {
	latest, err := Latest(ctx, api, family)
	if err != nil || latest == nil {
		return nil, err
	}
	if match == NewestOwn && latest.Cluster() != "" {
		return findNewestOwn(ctx, api, family, hash, latest)
	}
	if latest.Hash() == hash {
		return latest, nil
	}
	if match != AnyActive {
		return nil, nil
	}
	arns, err := List(ctx, api, family)
	if err != nil {
		return nil, err
	}
	scanned := 0
	for _, arn := range arns {
		if arn == latest.ARN() {
			continue
		}
		if scanned == maxScan {
			break
		}
		scanned++
		rev, err := Describe(ctx, api, arn)
		if err != nil {
			return nil, err
		}
		if rev != nil && rev.Hash() == hash {
			return rev, nil
		}
	}
	return nil, nil
}

// findNewestOwn is Find with NewestOwn where the newest revision, latest, is a cluster's: it
// describes the older ACTIVE revisions, newest first, up to maxScan, and returns the first that
// is not a cluster's when it carries hash.
func findNewestOwn(ctx context.Context, api ecsapi.API, family, hash string, latest *Revision) (*Revision, error) {
	arns, err := List(ctx, api, family)
	if err != nil {
		return nil, err
	}
	for i, arn := range arns {
		if arn == latest.ARN() {
			continue
		}
		if i > maxScan {
			break
		}
		rev, err := Describe(ctx, api, arn)
		if err != nil {
			return nil, err
		}
		if rev == nil || rev.Cluster() != "" {
			continue
		}
		if rev.Hash() == hash {
			return rev, nil
		}
		return nil, nil
	}
	return nil, nil
}

// List returns the ARNs of the family's ACTIVE revisions, newest first.
func List(ctx context.Context, api ecsapi.API, family string) ([]string, error) {
	var arns []string
	in := &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), // despite its name, ECS matches the whole family
		Status:       ecstypes.TaskDefinitionStatusActive,
		Sort:         ecstypes.SortOrderDesc,
	}
	for {
		out, err := api.ListTaskDefinitions(ctx, in)
		if err != nil {
			return nil, err
		}
		arns = append(arns, out.TaskDefinitionArns...)
		if aws.ToString(out.NextToken) == "" {
			return arns, nil
		}
		in.NextToken = out.NextToken
	}
}

// Ensure returns the revision of in's family registered from hash: one that match allows and
// that carries the hash (Find), or a new one registered from in, tagged with the hash (added to
// in's tags when missing). registered reports the registration. Errors are ECS's, unwrapped by
// action so that the caller can name what it was doing (ecscall.FromECS).
func Ensure(ctx context.Context, api ecsapi.API, in *ecs.RegisterTaskDefinitionInput, hash string, match Match) (rev *Revision, registered bool, err error) {
	family := aws.ToString(in.Family)
	found, err := Find(ctx, api, family, hash, match)
	if err != nil {
		return nil, false, &Error{Action: "describing task definition family " + family, Err: err}
	}
	if found != nil {
		return found, false, nil
	}
	out, err := api.RegisterTaskDefinition(ctx, withHashTag(in, hash))
	if err != nil {
		return nil, false, &Error{Action: "registering task definition " + family, Err: err}
	}
	return &Revision{Definition: out.TaskDefinition, Tags: out.Tags}, true, nil
}

// withHashTag returns in carrying the spec-hash tag hash (in itself when it does already).
func withHashTag(in *ecs.RegisterTaskDefinitionInput, hash string) *ecs.RegisterTaskDefinitionInput {
	if ecscall.TagValue(in.Tags, ecscall.TagSpecHash) == hash {
		return in
	}
	cp := *in
	cp.Tags = slices.DeleteFunc(slices.Clone(in.Tags), func(t ecstypes.Tag) bool { return aws.ToString(t.Key) == ecscall.TagSpecHash })
	cp.Tags = append(cp.Tags, ecstypes.Tag{Key: aws.String(ecscall.TagSpecHash), Value: aws.String(hash)})
	return &cp
}

// Error is an ECS error met while doing Action; ecscall.FromECS(e.Action, e.Err) makes it a
// Problem.
type Error struct {
	Action string
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Action, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Problem turns an error of this package into the Problem a controller reports: an *Error as
// ecscall.FromECS says for its action, anything else with reconciler.AsProblem.
func Problem(err error) *reconciler.Problem {
	var e *Error
	if errors.As(err, &e) {
		return ecscall.FromECS(e.Action, e.Err)
	}
	return reconciler.AsProblem(err)
}
