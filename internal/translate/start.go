package translate

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	corev1 "k8s.io/api/core/v1"
)

// Limits of ECS that the component completing a task at start checks again after it added to
// the task definition and to RunTask's overrides.
const (
	// MaxTaskDefinitionBytes is the largest task definition ECS registers (64 KiB).
	MaxTaskDefinitionBytes = maxTaskDefinitionBytes
	// MaxOverrides is the most characters of RunTask's overrides, JSON included (8192).
	MaxOverrides = maxOverrides
)

// SpecHash is the content hash of a task definition, as Revision.Hash: the component that adds to
// Translation.TaskDefinition at start (secrets, the files container) re-hashes what it registers,
// so that Pods whose additions are equal still share a revision.
func SpecHash(td *ecs.RegisterTaskDefinitionInput) (string, error) { return specHash(td) }

// CanonicalLength is the length of v's canonical JSON, by which ECS's size limits are measured
// (MaxTaskDefinitionBytes for a task definition, MaxOverrides for a TaskOverride).
func CanonicalLength(v any) (int, error) {
	b, err := canonicalJSON(v)
	return len(b), err
}

// DownwardAPIFile is the content of one file of a downwardAPI volume (or projection) of pod, as
// the kubelet writes it: a metadata field (labels and annotations one key="value" line each,
// sorted), or a container's resource (a limit the container does not set reads the task's size,
// as the kubelet reads node allocatable). PerPod says whether it differs between the Pods of one
// template (metadata fields) or not (resources).
func DownwardAPIFile(pod *corev1.Pod, f *corev1.DownwardAPIVolumeFile) (content string, perPod bool, err error) {
	switch {
	case f.FieldRef != nil:
		v, err := podFieldValue(pod, f.FieldRef.FieldPath)
		return v, true, err
	case f.ResourceFieldRef != nil:
		size, err := taskSize(pod)
		if err != nil {
			return "", false, err
		}
		c := findContainer(pod, f.ResourceFieldRef.ContainerName)
		if c == nil {
			return "", false, fmt.Errorf("downwardAPI %s: resourceFieldRef names container %q, which the Pod does not have", f.Path, f.ResourceFieldRef.ContainerName)
		}
		v, err := resourceFieldValue(pod, c, f.ResourceFieldRef, size)
		return v, false, err
	}
	return "", false, fmt.Errorf("downwardAPI %s: give fieldRef or resourceFieldRef", f.Path)
}
