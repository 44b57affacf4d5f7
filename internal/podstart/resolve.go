package podstart

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Resolve completes pod's task at start: it reads the ConfigMaps, Secrets and Services the Pod
// needs, mirrors the Secrets (and the ConfigMaps used as files) into Secrets Manager, issues the
// service-account tokens it mounts, and returns the task definition and RunTask request to use.
// tr is Translate(pod, deps.Options); it is not changed.
//
// Nothing is written (no mirror entry, no token) when the Pod has to wait or is refused: a
// *Waiting or a *translate.RefusedError is returned first. Other errors are transient.
func Resolve(ctx context.Context, pod *corev1.Pod, tr *translate.Translation, deps Deps) (*Start, error) {
	if deps.Reader == nil || deps.Mirror == nil {
		return nil, errors.New("podstart: Deps needs a Reader and a Mirror")
	}
	r := newResolver(ctx, pod, tr, &deps)
	if err := r.read(); err != nil {
		return nil, err
	}
	if err := r.planEnv(); err != nil {
		return nil, err
	}
	if err := r.planFiles(); err != nil {
		return nil, err
	}
	if len(r.refused) > 0 {
		return nil, &translate.RefusedError{Pod: pod.Namespace + "/" + pod.Name, Problems: r.refused}
	}
	if err := r.deliverSecrets(); err != nil {
		return nil, err
	}
	if err := r.issueTokens(); err != nil {
		return nil, err
	}
	return r.assemble()
}

// resolver is one Resolve.
type resolver struct {
	ctx  context.Context
	pod  *corev1.Pod
	tr   *translate.Translation
	deps *Deps

	objects    objects
	serviceEnv map[string]string
	serviceVar []corev1.EnvVar

	// per container of the Pod: what it gains
	add map[string]*additions
	// derived are Secret-derived variables with values of their own, per Env entry.
	derived map[derivedKind]map[string][]byte
	files   *filesPlan
	// tokenExpiry is the earliest expiry of the tokens issued.
	tokenExpiry time.Time

	entries  map[string]*secretsapi.Entry // "Kind/name" → its entry, once mirrored
	packed   map[string]podfiles.Packed   // Secret name → its layout, as the mirror lays it out
	warnings []translate.Problem
	refused  []translate.Problem
}

// additions are what one container gains at start.
type additions struct {
	// secretVars: variable → where its value is (an object's key, or a derived entry's key)
	secretVars map[string]secretSource
	// env: start-time variables in clear (RunTask overrides), by name
	env map[string]string
	// command: the command override known at start (nil: none)
	command []string
	// serviceEnv: Service link variables for the task definition
	serviceEnv []ecstypes.KeyValuePair
}

// secretSource is where a Secret-derived variable's value is read from.
type secretSource struct {
	// secret and key, for a value that is one key of one Secret
	secret, key string
	// derived and dkey, for a value of its own (derivedTemplate or derivedPod)
	derived derivedKind
	dkey    string
}

type derivedKind int

const (
	derivedNone derivedKind = iota
	derivedTemplate
	derivedPod
)

func newResolver(ctx context.Context, pod *corev1.Pod, tr *translate.Translation, deps *Deps) *resolver {
	return &resolver{
		ctx: ctx, pod: pod, tr: tr, deps: deps,
		add:     map[string]*additions{},
		derived: map[derivedKind]map[string][]byte{},
		entries: map[string]*secretsapi.Entry{},
	}
}

func (r *resolver) additionsOf(container string) *additions {
	a := r.add[container]
	if a == nil {
		a = &additions{secretVars: map[string]secretSource{}, env: map[string]string{}}
		r.add[container] = a
	}
	return a
}

func (r *resolver) refuse(path, reason, format string, args ...any) {
	r.refused = append(r.refused, translate.Problem{Path: path, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (r *resolver) warn(path, reason, format string, args ...any) {
	r.warnings = append(r.warnings, translate.Problem{Path: path, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// containerPath is the field path of a Pod container, as Kubernetes prints it.
func (r *resolver) containerPath(name string) string {
	for i, c := range r.pod.Spec.InitContainers {
		if c.Name == name {
			return fmt.Sprintf("spec.initContainers[%d]", i)
		}
	}
	for i, c := range r.pod.Spec.Containers {
		if c.Name == name {
			return fmt.Sprintf("spec.containers[%d]", i)
		}
	}
	return "spec"
}

// deliverSecrets mirrors the Secrets the containers read and the objects the files need, and the
// derived variables, before anything refers to their entries.
func (r *resolver) deliverSecrets() error {
	var names []string
	for _, a := range r.add {
		for _, s := range a.secretVars {
			if s.secret != "" {
				names = append(names, objKey(kindSecret, s.secret))
			}
		}
	}
	if r.files != nil {
		names = append(names, r.files.objects...)
	}
	slices.Sort(names)
	for _, k := range slices.Compact(names) {
		if _, err := r.entry(k); err != nil {
			return err
		}
	}
	return r.mirrorDerived()
}

// entry mirrors the object named by k ("Kind/name") once per Resolve.
func (r *resolver) entry(k string) (*secretsapi.Entry, error) {
	if e := r.entries[k]; e != nil {
		return e, nil
	}
	o := r.objects.byKey[k]
	if o == nil || !o.found {
		return nil, fmt.Errorf("podstart: %s was not read", k)
	}
	e, err := r.deps.Mirror.EnsureMirrored(r.ctx, o.kind, r.pod.Namespace, o.name, o.uid, o.fileData)
	if err != nil {
		return nil, err
	}
	r.entries[k] = e
	return e, nil
}

// derivedKeys are the Env entries of this Pod: its template's and its own.
func (r *resolver) derivedEntry(kind derivedKind) (secretsapi.ObjectKey, secretsapi.Owner) {
	owner := secretsapi.Owner{Kind: "Pod", Namespace: r.pod.Namespace, Name: r.pod.Name, UID: r.pod.UID}
	if kind == derivedPod {
		return secretsapi.ObjectKey{Kind: secretsapi.ObjectEnv, Namespace: r.pod.Namespace, Name: r.pod.Name}, owner
	}
	for _, ref := range r.pod.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			owner = secretsapi.Owner{Kind: ref.Kind, Namespace: r.pod.Namespace, Name: ref.Name, UID: ref.UID}
		}
	}
	// The template's revision before the additions (families have '_', Pod names none).
	name := r.tr.Revision.Family + "." + r.tr.Revision.Hash
	return secretsapi.ObjectKey{Kind: secretsapi.ObjectEnv, Namespace: r.pod.Namespace, Name: name}, owner
}

func (r *resolver) mirrorDerived() error {
	kinds := make([]derivedKind, 0, len(r.derived))
	for k := range r.derived {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	for _, kind := range kinds {
		key, owner := r.derivedEntry(kind)
		e, err := r.deps.Mirror.Ensure(r.ctx, key, owner, r.derived[kind])
		if err != nil {
			return err
		}
		r.entries[derivedName(kind)] = e
	}
	return nil
}

func derivedName(kind derivedKind) string { return fmt.Sprintf("Env/%d", kind) }

// valueFrom is the ECS secrets[].valueFrom of a Secret-derived variable.
func (r *resolver) valueFrom(s secretSource) (string, error) {
	k, key := objKey(kindSecret, s.secret), s.key
	if s.derived != derivedNone {
		k, key = derivedName(s.derived), s.dkey
	}
	e := r.entries[k]
	if e == nil {
		return "", fmt.Errorf("podstart: no entry for %s", k)
	}
	vf, ok := e.ValueFrom(key)
	if !ok {
		return "", fmt.Errorf("podstart: the entry of %s cannot give key %s", k, key)
	}
	return vf, nil
}
