package secretsapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
)

// Kinds of objects the mirror keeps.
const (
	ObjectConfigMap = "ConfigMap"
	ObjectSecret    = "Secret"
	// ObjectEnv holds environment variables whose values expand a Secret's data into a larger
	// value (DSN=postgres://u:$(PASSWORD)@db): the Pods of a template (or one Pod) read them
	// through ECS secrets, so they are never in clear in a task definition or RunTask overrides.
	ObjectEnv = "Env"
)

// Tag keys on the entries the mirror owns. TagOwnerUID is spelled as translate.TagOwner.
const (
	TagCluster   = "nodeless.dev/cluster"
	TagKind      = "nodeless.dev/kind"
	TagNamespace = "nodeless.dev/namespace"
	TagName      = "nodeless.dev/name"
	TagOwnerKind = "nodeless.dev/owner-kind"
	TagOwnerName = "nodeless.dev/owner-name"
	TagOwnerUID  = "nodeless.dev/owner-uid"
	// TagParts on an entry's first part: how many parts the object has.
	TagParts = "nodeless.dev/parts"
)

var clusterNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.=+@-]{1,64}$`)

// MirrorOptions configure a Mirror.
type MirrorOptions struct {
	// ClusterName scopes the entries: nodeless/<ClusterName>/... (1 to 64 of [A-Za-z0-9_.=+@-]).
	// Clusters sharing an AWS account and region must use different names.
	ClusterName string
	// KmsKeyID, when set, is the KMS key that encrypts new entries on AWS (CreateSecret KmsKeyId);
	// empty uses Secrets Manager's aws/secretsmanager key.
	KmsKeyID string
}

// ObjectKey names a mirrored object: Kind is ObjectConfigMap, ObjectSecret or ObjectEnv.
type ObjectKey struct {
	Kind, Namespace, Name string
}

// Owner is the Kubernetes object whose existence keeps an entry: a ConfigMap's or Secret's entry
// is owned by the object itself; an Env entry by the Pod's controller, or the Pod.
type Owner struct {
	Kind, Namespace, Name string
	UID                   types.UID
}

// Entry is an object as mirrored: its data in one or more Secrets Manager secrets (parts; see
// podfiles.Pack), named EntryName for the first and EntryName/1, /2, ... for the others.
type Entry struct {
	// Name is the first part's name: nodeless/<cluster>/<namespace>/<kind>/<name>, kind in lower
	// case.
	Name string
	// ARNs are the parts' ARNs, in order: the ECS secrets[].valueFrom of the files agent, which
	// reassembles the data (podfiles.Unpack).
	ARNs []string
	// KeyPart gives the part holding each key whose value can be an environment variable (UTF-8
	// text, whole in one part): see ValueFrom.
	KeyPart map[string]int
}

// ValueFrom is the ECS secrets[].valueFrom of key's value (the part's ARN with the json-key
// suffix, ARN:key::), false when the key's value cannot reach a container through ECS secrets
// (missing, not UTF-8, larger than a part).
func (e *Entry) ValueFrom(key string) (string, bool) {
	i, ok := e.KeyPart[key]
	if !ok {
		return "", false
	}
	return e.ARNs[i] + ":" + key + "::", true
}

// Mirror keeps ConfigMaps, Secrets and Secret-derived variables as Secrets Manager secrets that
// nodeless owns. It is safe for concurrent use; calls for one object are serialised.
//
// At steady state it makes no call at all: Ensure remembers what it last wrote per object (a
// SHA-256 of the content in memory, never stored), and a restarted process reads each entry once
// (DescribeSecret and GetSecretValue per part) and writes only what differs.
type Mirror struct {
	api  API
	opts MirrorOptions
	log  logr.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex
	cache map[string]cached
	// known are the entries this process wrote or listed, by first part's name: what DeleteOf
	// deletes without a call to find them, and the reason it makes no call for an object that
	// was never mirrored.
	known map[string]knownEntry
	// buried are the UIDs of objects DeleteOf was told are deleted, with when: Ensure refuses
	// them, so that a reader holding the object from before its deletion does not make its
	// entry again. Kept for buryFor.
	buried map[types.UID]time.Time
}

// knownEntry is an entry's owner and the ARNs of all its parts.
type knownEntry struct {
	owner Owner
	arns  []string
}

// buryFor is how long DeleteOf remembers a deleted object's UID: far longer than a reconcile
// holds an object it read.
const buryFor = 10 * time.Minute

type cached struct {
	sum   [32]byte
	entry Entry
}

// NewMirror returns a Mirror writing through api.
func NewMirror(api API, opts MirrorOptions, log logr.Logger) (*Mirror, error) {
	if !clusterNamePattern.MatchString(opts.ClusterName) {
		return nil, fmt.Errorf("mirror: cluster name %q: use 1 to 64 of letters, digits and _.=+@-", opts.ClusterName)
	}
	return &Mirror{api: api, opts: opts, log: log, locks: map[string]*sync.Mutex{}, cache: map[string]cached{},
		known: map[string]knownEntry{}, buried: map[types.UID]time.Time{}}, nil
}

// EntryName is the name of an object's first part.
func (m *Mirror) EntryName(key ObjectKey) string {
	return m.prefix() + key.Namespace + "/" + strings.ToLower(key.Kind) + "/" + key.Name
}

func (m *Mirror) prefix() string { return "nodeless/" + m.opts.ClusterName + "/" }

func partName(base string, i int) string {
	if i == 0 {
		return base
	}
	return base + "/" + strconv.Itoa(i)
}

// EnsureMirrored keeps a ConfigMap's or Secret's data (kind ObjectConfigMap or ObjectSecret) in
// its entry, owned by the object itself (uid), and returns the entry. It writes only what differs
// (no call at all when the content is what it last wrote), so it may be called on every Pod start.
func (m *Mirror) EnsureMirrored(ctx context.Context, kind, namespace, name string, uid types.UID, data map[string][]byte) (*Entry, error) {
	return m.Ensure(ctx, ObjectKey{Kind: kind, Namespace: namespace, Name: name}, Owner{Kind: kind, Namespace: namespace, Name: name, UID: uid}, data)
}

// Ensure keeps data in key's entry, tagged with its owner, and returns the entry.
func (m *Mirror) Ensure(ctx context.Context, key ObjectKey, owner Owner, data map[string][]byte) (*Entry, error) {
	base := m.EntryName(key)
	unlock := m.lock(base)
	defer unlock()
	packed := podfiles.Pack(data)
	sum := contentSum(packed.Parts, owner)
	m.mu.Lock()
	c, ok := m.cache[base]
	_, gone := m.buried[owner.UID]
	m.mu.Unlock()
	if gone {
		return nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("%s %s/%s (uid %s) was deleted; its entry is not made again", owner.Kind, owner.Namespace, owner.Name, owner.UID)}
	}
	if ok && c.sum == sum {
		e := c.entry
		return &e, nil
	}
	tags := m.tags(key, owner)
	entry := Entry{Name: base, KeyPart: packed.KeyPart}
	previous := 0
	for i, value := range packed.Parts {
		partTags := tags
		if i == 0 {
			partTags = append(append([]smtypes.Tag(nil), tags...), tag(TagParts, strconv.Itoa(len(packed.Parts))))
		}
		arn, had, err := m.ensurePart(ctx, partName(base, i), value, partTags, key)
		if err != nil {
			return nil, fmt.Errorf("mirroring %s %s/%s: %w", key.Kind, key.Namespace, key.Name, err)
		}
		if i == 0 {
			previous = had
		}
		entry.ARNs = append(entry.ARNs, arn)
	}
	for i := len(packed.Parts); i < previous; i++ {
		if err := m.forceDelete(ctx, partName(base, i)); err != nil {
			return nil, fmt.Errorf("mirroring %s %s/%s: removing part %d it no longer needs: %w", key.Kind, key.Namespace, key.Name, i, err)
		}
	}
	m.mu.Lock()
	m.cache[base] = cached{sum: sum, entry: entry}
	m.known[base] = knownEntry{owner: owner, arns: append([]string(nil), entry.ARNs...)}
	m.mu.Unlock()
	e := entry
	return &e, nil
}

// ensurePart makes the secret name hold value and tags; it returns its ARN and, from the tags it
// had, how many parts the object had (TagParts, 0 when unknown).
func (m *Mirror) ensurePart(ctx context.Context, name, value string, tags []smtypes.Tag, key ObjectKey) (arn string, parts int, err error) {
	d, err := m.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	switch {
	case IsNotFound(err):
		arn, err := m.create(ctx, name, value, tags, key)
		return arn, 0, err
	case err != nil:
		return "", 0, fmt.Errorf("describing %s: %w", name, err)
	case d.DeletedDate != nil:
		// Someone scheduled our entry for deletion: the object is alive, so it is made again.
		if err := m.forceDelete(ctx, name); err != nil {
			return "", 0, err
		}
		arn, err := m.create(ctx, name, value, tags, key)
		return arn, 0, err
	}
	parts, _ = strconv.Atoi(tagValue(d.Tags, TagParts))
	cur, err := m.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: d.ARN})
	if err != nil && !IsNotFound(err) {
		return "", 0, fmt.Errorf("reading %s: %w", name, err)
	}
	if err != nil || aws.ToString(cur.SecretString) != value {
		if _, err := m.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: d.ARN, SecretString: aws.String(value)}); err != nil {
			return "", 0, fmt.Errorf("writing %s: %w", name, err)
		}
		m.log.V(1).Info("mirrored entry updated", "entry", name)
	}
	if missing := missingTags(d.Tags, tags); len(missing) > 0 {
		if _, err := m.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: d.ARN, Tags: missing}); err != nil {
			return "", 0, fmt.Errorf("tagging %s: %w", name, err)
		}
	}
	return aws.ToString(d.ARN), parts, nil
}

func (m *Mirror) create(ctx context.Context, name, value string, tags []smtypes.Tag, key ObjectKey) (string, error) {
	in := &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value), Tags: tags,
		Description: aws.String(fmt.Sprintf("nodeless: %s %s/%s, kept by nodeless (edits are overwritten)", key.Kind, key.Namespace, key.Name)),
	}
	if m.opts.KmsKeyID != "" {
		in.KmsKeyId = aws.String(m.opts.KmsKeyID)
	}
	out, err := m.api.CreateSecret(ctx, in)
	if IsScheduledForDeletion(err) {
		return "", fmt.Errorf("creating %s: the name is still being released after a deletion; retry shortly: %w", name, err)
	}
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", name, err)
	}
	m.log.V(1).Info("mirrored entry created", "entry", name)
	return aws.ToString(out.ARN), nil
}

func (m *Mirror) forceDelete(ctx context.Context, id string) error {
	_, err := m.api.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err = IgnoreNotFound(err); err != nil {
		return fmt.Errorf("deleting %s: %w", id, err)
	}
	return nil
}

func (m *Mirror) tags(key ObjectKey, owner Owner) []smtypes.Tag {
	return []smtypes.Tag{
		tag(TagCluster, m.opts.ClusterName), tag(TagKind, key.Kind), tag(TagNamespace, key.Namespace), tag(TagName, key.Name),
		tag(TagOwnerKind, owner.Kind), tag(TagOwnerName, owner.Name), tag(TagOwnerUID, string(owner.UID)),
	}
}

func tag(k, v string) smtypes.Tag { return smtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }

func tagValue(tags []smtypes.Tag, key string) string {
	v, _ := lookupTag(tags, key)
	return v
}

func lookupTag(tags []smtypes.Tag, key string) (string, bool) {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

// missingTags are the tags of want that have does not carry with the same value.
func missingTags(have, want []smtypes.Tag) []smtypes.Tag {
	var out []smtypes.Tag
	for _, t := range want {
		if v, ok := lookupTag(have, aws.ToString(t.Key)); !ok || v != aws.ToString(t.Value) {
			out = append(out, t)
		}
	}
	return out
}

func contentSum(parts []string, owner Owner) [32]byte {
	h := sha256.New()
	for _, p := range []string{owner.Kind, owner.Namespace, owner.Name, string(owner.UID)} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// lock serialises the calls for one entry.
func (m *Mirror) lock(name string) (unlock func()) {
	m.mu.Lock()
	l := m.locks[name]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[name] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Delete removes an object's entry, every part of it (a missing entry is no error).
func (m *Mirror) Delete(ctx context.Context, key ObjectKey) error {
	base := m.EntryName(key)
	unlock := m.lock(base)
	defer unlock()
	m.mu.Lock()
	delete(m.cache, base)
	delete(m.known, base)
	m.mu.Unlock()
	owned, err := m.list(ctx, base)
	if err != nil {
		return err
	}
	for _, o := range owned {
		if o.Name != base && !strings.HasPrefix(o.Name, base+"/") {
			continue // another object whose name starts like this one's
		}
		if err := m.forceDelete(ctx, o.ARN); err != nil {
			return err
		}
	}
	return nil
}

// Owned is one secret of the mirror (a part of an entry), as ListSecrets shows it.
type Owned struct {
	Name, ARN string
	Object    ObjectKey
	Owner     Owner
}

// List returns every secret the mirror of this cluster owns (every part of every entry). The
// entries it lists become known to DeleteOf.
func (m *Mirror) List(ctx context.Context) ([]Owned, error) {
	all, err := m.list(ctx, m.prefix())
	if err != nil {
		return nil, err
	}
	listed := map[string]knownEntry{}
	for _, o := range all {
		base := m.EntryName(o.Object)
		k := listed[base]
		k.owner = o.Owner
		k.arns = append(k.arns, o.ARN)
		listed[base] = k
	}
	m.mu.Lock()
	for base, k := range listed {
		if _, ok := m.known[base]; !ok {
			m.known[base] = k
		}
	}
	m.mu.Unlock()
	return all, nil
}

// DeleteOf deletes at once the entry of a ConfigMap or Secret that was deleted (owner: its
// kind, namespace, name and UID, as the delete event shows it), every part, without a recovery
// window, and reports whether there was one. It makes no call unless this process wrote the
// entry or listed it (List, Orphans) for that UID: an object never mirrored, or one whose entry
// now belongs to an object made again under the name, costs nothing. From then on Ensure
// refuses owner.UID (KindNotFound) for 10 minutes, so that a reader that held the object
// before its deletion does not make the entry again. An entry it does not know is left to
// Orphans.
func (m *Mirror) DeleteOf(ctx context.Context, owner Owner) (bool, error) {
	key := ObjectKey{Kind: owner.Kind, Namespace: owner.Namespace, Name: owner.Name}
	base := m.EntryName(key)
	unlock := m.lock(base)
	defer unlock()
	now := time.Now()
	m.mu.Lock()
	for uid, at := range m.buried {
		if now.Sub(at) > buryFor {
			delete(m.buried, uid)
		}
	}
	m.buried[owner.UID] = now
	k, ok := m.known[base]
	m.mu.Unlock()
	if !ok || k.owner.UID != owner.UID {
		return false, nil
	}
	for _, arn := range k.arns {
		if err := m.forceDelete(ctx, arn); err != nil {
			return false, fmt.Errorf("deleting the entry of %s %s/%s: %w", owner.Kind, owner.Namespace, owner.Name, err)
		}
	}
	m.mu.Lock()
	delete(m.cache, base)
	delete(m.known, base)
	m.mu.Unlock()
	return true, nil
}

func (m *Mirror) list(ctx context.Context, namePrefix string) ([]Owned, error) {
	in := &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{
		{Key: smtypes.FilterNameStringTypeName, Values: []string{namePrefix}},
		{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{TagOwnerUID}},
	}}
	var out []Owned
	p := secretsmanager.NewListSecretsPaginator(m.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the mirror's secrets: %w", err)
		}
		for _, s := range page.SecretList {
			if tagValue(s.Tags, TagCluster) != m.opts.ClusterName {
				continue
			}
			out = append(out, Owned{
				Name: aws.ToString(s.Name), ARN: aws.ToString(s.ARN),
				Object: ObjectKey{Kind: tagValue(s.Tags, TagKind), Namespace: tagValue(s.Tags, TagNamespace), Name: tagValue(s.Tags, TagName)},
				Owner: Owner{
					Kind: tagValue(s.Tags, TagOwnerKind), Namespace: tagValue(s.Tags, TagNamespace), Name: tagValue(s.Tags, TagOwnerName),
					UID: types.UID(tagValue(s.Tags, TagOwnerUID)),
				},
			})
		}
	}
	return out, nil
}

// Orphans returns the mirror's secrets whose owner no longer exists: alive reports whether an
// object of that kind, namespace and name with that UID exists (a same-named object with another
// UID is another object). A caller deletes them with DeleteOwned.
func (m *Mirror) Orphans(ctx context.Context, alive func(context.Context, Owner) (bool, error)) ([]Owned, error) {
	all, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Owned
	seen := map[Owner]bool{}
	for _, o := range all {
		ok, known := seen[o.Owner]
		if !known {
			if ok, err = alive(ctx, o.Owner); err != nil {
				return nil, fmt.Errorf("checking the owner of %s: %w", o.Name, err)
			}
			seen[o.Owner] = ok
		}
		if !ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// DeleteOwned deletes secrets of the mirror (Orphans' answer) at once, without a recovery window:
// the Kubernetes objects they mirrored are the source of truth.
func (m *Mirror) DeleteOwned(ctx context.Context, owned []Owned) error {
	var errs []error
	for _, o := range owned {
		m.mu.Lock()
		delete(m.cache, m.EntryName(o.Object))
		delete(m.known, m.EntryName(o.Object))
		m.mu.Unlock()
		if err := m.forceDelete(ctx, o.ARN); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
