package elbv2

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// API serves the ELBv2 operations over the data plane's store; the Balancer makes listeners and
// target health real.
type API struct {
	store    *store.Store
	arns     model.ARNs
	balancer *Balancer
	clock    clock.Clock
	ops      map[string]func(*form) (any, error)
}

// NewAPI returns the operations of the local ELBv2 API, which take effect through b.
func NewAPI(st *store.Store, arns model.ARNs, b *Balancer) *API {
	a := &API{store: st, arns: arns, balancer: b, clock: clock.RealClock{}}
	a.ops = map[string]func(*form) (any, error){
		"CreateLoadBalancer":             a.createLoadBalancer,
		"DescribeLoadBalancers":          a.describeLoadBalancers,
		"DeleteLoadBalancer":             a.remover("DeleteLoadBalancer", "LoadBalancerArn", deleteLoadBalancer),
		"DescribeLoadBalancerAttributes": a.describeLoadBalancerAttributes,
		"ModifyLoadBalancerAttributes":   a.modifyLoadBalancerAttributes,
		"CreateTargetGroup":              a.createTargetGroup,
		"DescribeTargetGroups":           a.describeTargetGroups,
		"ModifyTargetGroup":              a.modifyTargetGroup,
		"DeleteTargetGroup":              a.remover("DeleteTargetGroup", "TargetGroupArn", deleteTargetGroup),
		"ModifyTargetGroupAttributes":    a.modifyTargetGroupAttributes,
		"DescribeTargetGroupAttributes":  a.describeTargetGroupAttributes,
		"CreateListener":                 a.createListener,
		"DescribeListeners":              a.describeListeners,
		"ModifyListener":                 a.modifyListener,
		"DeleteListener":                 a.remover("DeleteListener", "ListenerArn", deleteListener),
		"RegisterTargets":                a.registerTargets,
		"DeregisterTargets":              a.deregisterTargets,
		"DescribeTargetHealth":           a.describeTargetHealth,
		"AddTags":                        a.addTags,
		"RemoveTags":                     a.removeTags,
		"DescribeTags":                   a.describeTags,
	}
	return a
}

// Actions lists the operations served, sorted.
func (a *API) Actions() []string {
	out := make([]string, 0, len(a.ops))
	for k := range a.ops {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Serve runs the request's Action and returns its result (for EncodeResult) or an *Error.
func (a *API) Serve(values url.Values) (action string, result any, err error) {
	action = values.Get("Action")
	if action == "" {
		return "", nil, newError(CodeMissingAction, "the request has no Action: the ELBv2 API is served by POST / with a form-encoded Action, Version and the action's members")
	}
	op, ok := a.ops[action]
	if !ok {
		return action, nil, newError(CodeInvalidAction, "%s is not an ELBv2 action the nodeless local load balancer serves; it serves %s", action, strings.Join(a.Actions(), ", "))
	}
	if v := values.Get("Version"); v != APIVersion {
		return action, nil, validation("Version: %q is not served; use %s", v, APIVersion)
	}
	f := newForm(values)
	out, err := op(f)
	if err != nil {
		return action, nil, err
	}
	return action, out, nil
}

// remover is a Delete* action: it reads the one ARN member, runs del on it in one store
// transaction (del decides what a missing resource means and what is in use), then makes the
// balancer match the store (a deleted listener's port closes at once).
func (a *API) remover(action, member string, del func(tx *store.Tx, arn string) error) func(*form) (any, error) {
	return func(f *form) (any, error) {
		arn := f.required(member)
		if err := finish(f, action); err != nil {
			return nil, err
		}
		if err := a.store.Update(func(tx *store.Tx) error { return del(tx, arn) }); err != nil {
			return nil, err
		}
		a.balancer.Sync()
		return emptyResult{}, nil
	}
}

// update runs change on the record arn names — read with get, which returns the action's
// not-found error — and stores it with put, in one store transaction; then the balancer syncs
// (the Modify* actions). It returns the record as stored.
func update[T any](a *API, arn string, get func(*store.Tx, string) (*T, error), put func(*store.Tx, *T) error, change func(*T) error) (*T, error) {
	var out *T
	err := a.store.Update(func(tx *store.Tx) error {
		r, err := get(tx, arn)
		if err != nil {
			return err
		}
		if err := change(r); err != nil {
			return err
		}
		out = r
		return put(tx, r)
	})
	if err != nil {
		return nil, err
	}
	a.balancer.Sync()
	return out, nil
}

// view reads the record arn names with get, which returns the action's not-found error.
func view[T any](a *API, arn string, get func(*store.Tx, string) (*T, error)) (*T, error) {
	var out *T
	err := a.store.View(func(tx *store.Tx) error {
		var err error
		out, err = get(tx, arn)
		return err
	})
	return out, err
}

// finish returns the first read error or a member no read consumed, before anything is written.
func finish(f *form, action string) error { return f.leftover(action) }

// newID is 16 hexadecimal digits, as ELBv2 ends its ARNs.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hashOf is the hash of a request's members (for idempotent creates).
func hashOf(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

func (a *API) arn(resource string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", a.arns.Region, a.arns.Account, resource)
}

// checkName applies ELBv2's rule for load balancer and target group names: at most 32
// alphanumeric characters or hyphens, not beginning or ending with a hyphen.
func checkName(member, name string) *Error {
	if name == "" || len(name) > 32 || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") ||
		strings.IndexFunc(name, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-'
		}) >= 0 {
		return validation("%s: %q must have at most 32 alphanumeric characters or hyphens, and must not begin or end with a hyphen", member, name)
	}
	return nil
}

// page cuts items at Marker (an index this API handed out) to PageSize (1–400, default 400).
func page[T any](f *form, items []T) ([]T, string) {
	size := f.int32("PageSize", 1, 400)
	n := 400
	if size != nil {
		n = int(*size)
	}
	start := 0
	if m, ok := f.str("Marker"); ok {
		if _, err := fmt.Sscanf(m, "%d", &start); err != nil || start < 0 || start > len(items) {
			f.fail(validation("Marker: %q is not a marker this API handed out", m))
			return nil, ""
		}
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = fmt.Sprint(end)
	}
	return items[start:end], next
}

// contains reports whether want lists v, or want is empty.
func wanted(want []string, v string) bool { return len(want) == 0 || slices.Contains(want, v) }
