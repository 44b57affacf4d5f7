package revision

import (
	"context"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Registry finds or registers the revisions of many objects that share families (the Pods of a
// template), remembering each family's revisions by hash. It is safe for concurrent use; the
// calls for one family are serialised.
//
// At steady state it makes no call: a template seen once is remembered. A restarted process
// finds each template's revision again with Find (one DescribeTaskDefinition when it is the
// family's newest). Memory is the only state, and ECS is the truth: a revision that ECS no
// longer runs (deregistered by someone else) is forgotten by the caller (Forget) and found or
// registered again.
type Registry struct {
	api   ecsapi.API
	match Match

	mu       sync.Mutex
	families map[string]*family
}

type family struct {
	// mu serialises Ensure and Collect for the family.
	mu sync.Mutex
	// byHash maps a hash to the ARN of the revision registered from it.
	byHash map[string]string
	// inflight counts, per ARN, the callers between Ensure and their release: Collect keeps
	// those revisions whatever the callers' own in-use report says.
	inflight map[string]int
	// dirty: a revision was registered, or one may have stopped being used, since the last
	// Collect.
	dirty bool
}

// NewRegistry returns an empty Registry reusing the revisions match allows.
func NewRegistry(api ecsapi.API, match Match) *Registry {
	return &Registry{api: api, match: match, families: map[string]*family{}}
}

func (r *Registry) family(name string) *family {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.families[name]
	if f == nil {
		f = &family{byHash: map[string]string{}, inflight: map[string]int{}}
		r.families[name] = f
	}
	return f
}

// Ensure returns the ARN of the revision of in's family registered from hash, from memory when
// known, else through Ensure (the package function) under the family's lock. registered reports
// a registration. The caller must call release once it no longer needs the revision to stay
// registered (after RunTask); until then Collect keeps it. Errors are *Error.
func (r *Registry) Ensure(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, hash string) (arn string, registered bool, release func(), err error) {
	name := aws.ToString(in.Family)
	f := r.family(name)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn = f.byHash[hash]
	if arn == "" {
		rev, reg, err := Ensure(ctx, r.api, in, hash, r.match)
		if err != nil {
			return "", false, nil, err
		}
		arn, registered = rev.ARN(), reg
		f.byHash[hash] = arn
		f.dirty = f.dirty || reg
	}
	f.inflight[arn]++
	var once sync.Once
	return arn, registered, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.inflight[arn]--; f.inflight[arn] <= 0 {
				delete(f.inflight, arn)
			}
		})
	}, nil
}

// Forget drops arn of family from memory: ECS refused to run it (deregistered by someone else).
// The next Ensure finds or registers the hash's revision again.
func (r *Registry) Forget(familyName, arn string) {
	f := r.family(familyName)
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, a := range f.byHash {
		if a == arn {
			delete(f.byHash, h)
		}
	}
}

// Touch marks family for the next Collect: an object using one of its revisions went away.
func (r *Registry) Touch(familyName string) {
	f := r.family(familyName)
	f.mu.Lock()
	f.dirty = true
	f.mu.Unlock()
}

// Dirty lists the families touched or registered in since their last Collect, sorted.
func (r *Registry) Dirty() []string {
	r.mu.Lock()
	fams := make(map[string]*family, len(r.families))
	for n, f := range r.families {
		fams[n] = f
	}
	r.mu.Unlock()
	var out []string
	for n, f := range fams {
		f.mu.Lock()
		if f.dirty {
			out = append(out, n)
		}
		f.mu.Unlock()
	}
	slices.Sort(out)
	return out
}

// Collect deregisters the ACTIVE revisions of family beyond its newest keep that inUse does not
// report and no caller holds between Ensure and release, and returns their ARNs. inUse is
// called under the family's lock, so no Ensure of the family runs meanwhile. A revision ECS no
// longer knows counts as deregistered. On error the revisions deregistered so far are returned
// and the family stays marked for the next Collect. Errors are *Error.
func (r *Registry) Collect(ctx context.Context, familyName string, keep int, inUse func(arn string) bool) ([]string, error) {
	f := r.family(familyName)
	f.mu.Lock()
	defer f.mu.Unlock()
	arns, err := List(ctx, r.api, familyName)
	if err != nil {
		return nil, &Error{Action: "listing the revisions of task definition family " + familyName, Err: err}
	}
	var gone []string
	for i, arn := range arns {
		if i < keep || f.inflight[arn] > 0 || inUse(arn) {
			continue
		}
		_, err := r.api.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil && !ecsapi.IsNotFound(err) {
			return gone, &Error{Action: "deregistering task definition " + arn, Err: err}
		}
		gone = append(gone, arn)
		for h, a := range f.byHash {
			if a == arn {
				delete(f.byHash, h)
			}
		}
	}
	f.dirty = false
	return gone, nil
}
