package translate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tag keys on what Translate produces. They are spelled as the ECS controllers spell theirs
// (internal/controller/ecscall: TagOwner, TagSpecHash; a test holds them equal).
const (
	// TagSpecHash on a task definition revision: Revision.Hash of what registered it.
	TagSpecHash = "nodeless.dev/spec-hash"
	// TagOwner on a task: the UID of the Pod it runs.
	TagOwner = "nodeless.dev/owner-uid"
	// TagPodNamespace and TagPodName on a task: the Pod it runs.
	TagPodNamespace = "nodeless.dev/pod-namespace"
	TagPodName      = "nodeless.dev/pod-name"
)

// maxFamily is the longest family name ECS accepts.
const maxFamily = 255

// familyKinds abbreviates the kinds that name families, so that a long name keeps more of itself.
var familyKinds = map[string]string{
	"Deployment": "deploy", "ReplicaSet": "rs", "StatefulSet": "sts", "Job": "job", "CronJob": "cronjob",
	"ReplicationController": "rc", "Pod": "pod",
}

// familyOwner is what names a Pod's family: opts.Owner, else the Pod's controller (a
// ReplicaSet of a Deployment is its Deployment: the ReplicaSet's name is the Deployment's plus
// "-" and the pod-template-hash label, so all revisions of a Deployment share a family), else the
// Pod itself.
func familyOwner(pod *corev1.Pod, opts *Options) Owner {
	if opts.Owner != nil {
		return *opts.Owner
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return Owner{Kind: "Pod", Name: pod.Name}
	}
	if ref.Kind == "ReplicaSet" {
		if h := pod.Labels["pod-template-hash"]; h != "" {
			if d, ok := strings.CutSuffix(ref.Name, "-"+h); ok && d != "" {
				return Owner{Kind: "Deployment", Name: d}
			}
		}
	}
	return Owner{Kind: ref.Kind, Name: ref.Name}
}

// FamilyName is the task definition family of a Pod in namespace owned by owner: "[prefix]
// namespace_kind_name", where kind is abbreviated (deploy, rs, job, cronjob, sts, pod) and the
// dots of a name become underscores (Kubernetes names have no underscores, so no two owners
// share a family). A name longer than ECS's 255 characters keeps its first 238 and ends in "-"
// and 16 hex digits of the SHA-256 of the whole.
func FamilyName(prefix, namespace string, owner Owner) string {
	kind, ok := familyKinds[owner.Kind]
	if !ok {
		kind = strings.ToLower(owner.Kind)
	}
	name := prefix + namespace + "_" + kind + "_" + strings.ReplaceAll(owner.Name, ".", "_")
	name = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, name)
	if len(name) <= maxFamily {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:maxFamily-17] + "-" + hex.EncodeToString(sum[:8])
}

// specHash is the content hash of a task definition: SHA-256 of its canonical JSON (members
// sorted, null and empty members dropped, so an SDK that learns a new member does not
// change it; tags left out, as they carry the hash), 20 hex digits.
func specHash(in *ecs.RegisterTaskDefinitionInput) (string, error) {
	cp := *in
	cp.Tags = nil
	b, err := canonicalJSON(&cp)
	if err != nil {
		return "", fmt.Errorf("hashing the task definition: %w", err)
	}
	sum := sha256.Sum256(append([]byte("nodeless-taskdef-v1\n"), b...))
	return hex.EncodeToString(sum[:10]), nil
}

// canonicalJSON is v's JSON with members sorted and null and empty members dropped. For the SDK's
// types it is as long as what the SDK sends (member names differ only in their first letter's
// case), so it also measures a request against ECS's size limits.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var g any
	if err := dec.Decode(&g); err != nil {
		return nil, err
	}
	return json.Marshal(prune(g))
}

// prune drops null, "", empty arrays and empty objects from a decoded JSON value, so that a
// member the SDK adds (a nil pointer, an unset enum) leaves the canonical form unchanged. false
// and 0 are kept: essential false is not essential absent.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e = prune(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			p := prune(e)
			if p == nil {
				p = map[string]any{} // keep positions: [a, {}] differs from [a]
			}
			out = append(out, p)
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	case nil:
		return nil
	}
	return v
}
