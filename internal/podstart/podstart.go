package podstart

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// FilesContainer is the name of the init container that writes the files of a task's volumes.
const FilesContainer = "nodeless-files"

// Reasons of the Problems and Waiting states podstart reports (CamelCase, as translate's).
const (
	// ReasonCreateContainerConfigError: the kubelet's waiting reason for a container whose
	// environment names a missing ConfigMap, Secret or key.
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	// ReasonContainerCreating: the kubelet's waiting reason while a volume cannot be set up.
	ReasonContainerCreating = "ContainerCreating"
	// EventFailed and EventFailedMount: the kubelet's Event reasons for the two.
	EventFailed      = "Failed"
	EventFailedMount = "FailedMount"
	// ReasonSubPathFile: a volumeMounts subPath naming a single file; ECS mount points are
	// directories.
	ReasonSubPathFile = "SubPathFileNotSupported"
	// ReasonValueTooLarge: a Secret-derived variable larger than a Secrets Manager secret.
	ReasonValueTooLarge = "SecretValueTooLarge"
	// ReasonOverridesTooLarge: RunTask overrides (start-time variables, per-pod files) beyond
	// ECS's 8192 characters.
	ReasonOverridesTooLarge = "OverridesTooLarge"
	// ReasonFilesContainer: the Pod has a container named like the files container, or no room
	// for it (ECS: 10 containers per task).
	ReasonFilesContainer = "FilesContainerConflict"
	// ReasonNoTokens: the Pod mounts a service-account token and Deps has no TokenSource.
	ReasonNoTokens = "ServiceAccountTokenUnavailable"
	// WarningPodIPUnknown: a variable reads status.podIP or status.hostIP, which is not known
	// before the task starts on this data plane; the variable is empty.
	WarningPodIPUnknown = "PodIPNotKnownAtStart"
	// WarningImagePullSecrets: imagePullSecrets are not used yet.
	WarningImagePullSecrets = "ImagePullSecretsNotUsed"
)

// Deps are what Resolve reads and writes besides the Pod and its Translation.
type Deps struct {
	// Reader reads the ConfigMaps, Secrets and Services of the Pod's namespace (and the
	// kubernetes Service of the default namespace): a controller-runtime client or cache.
	Reader client.Reader
	// Mirror keeps Secrets, ConfigMaps used as files and Secret-derived variables in Secrets
	// Manager (a *secretsapi.Mirror).
	Mirror Mirror
	// AgentImage is the image of the nodeless agent the files container runs
	// (agentimage.LocalRef(version) locally; a registry reference on AWS).
	AgentImage string
	// Tokens issues the service-account tokens of projected serviceAccountToken sources (nil: a
	// Pod that mounts one is refused with ReasonNoTokens).
	Tokens TokenSource
	// Options are those the Translation was made with.
	Options translate.Options
	// PodIPs and HostIPs are what status.podIP(s) and status.hostIP(s) read, when they are known
	// before the task starts; empty leaves such variables empty, with a warning.
	PodIPs, HostIPs []string
}

// Mirror is what Resolve needs of secretsapi.Mirror.
type Mirror interface {
	EnsureMirrored(ctx context.Context, kind, namespace, name string, uid types.UID, data map[string][]byte) (*secretsapi.Entry, error)
	Ensure(ctx context.Context, key secretsapi.ObjectKey, owner secretsapi.Owner, data map[string][]byte) (*secretsapi.Entry, error)
}

var _ Mirror = (*secretsapi.Mirror)(nil)

// TokenSource issues a service-account token for a Pod: its service account's, bound to the Pod
// (invalid once the Pod is gone), for audience (the API server's when empty), valid for about
// expirationSeconds.
type TokenSource interface {
	Token(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (*Token, error)
}

// Token is an issued service-account token.
type Token struct {
	Value string
	// Expiry is when it stops being valid; the kubelet replaces it after 80% of its life.
	Expiry time.Time
}

// Start is what a Pod's task needs beyond its Translation, resolved when the task starts.
type Start struct {
	// TaskDefinition is the Translation's with, per container, the secrets of its Secret-derived
	// variables (sorted by name), the Service link variables in its environment, and, when the
	// Pod has files volumes, the files container first (every container that depended on nothing
	// depends on it SUCCESS). Its nodeless.dev/spec-hash tag is Revision.Hash.
	TaskDefinition *ecs.RegisterTaskDefinitionInput
	// Revision is TaskDefinition's family and content hash: the revision to reuse or register.
	Revision translate.Revision
	// RunTask is the Translation's with containerOverrides completed: the start-time variables
	// that are not secret, the command overrides known only at start, the files container's
	// per-pod values. Its taskDefinition is the family; the caller sets the revision's ARN.
	RunTask *ecs.RunTaskInput
	// Objects are the ConfigMaps and Secrets read, with the UID and resourceVersion seen (for
	// the node: what to watch to keep files current).
	Objects []ObjectSeen
	// Files is what the files container writes (nil without files volumes); the node keeps the
	// volumes whose Update is set current locally with Refresh and podfiles.Write.
	Files *podfiles.Manifest
	// TokenExpiry is the earliest expiry of a service-account token in the files (zero: none).
	TokenExpiry time.Time
	// Warnings are honoured only approximately; the node records each as a Warning Event.
	Warnings []translate.Problem
}

// ObjectSeen is a ConfigMap or Secret as Resolve read it; a missing optional one has no UID.
type ObjectSeen struct {
	Kind, Name      string
	UID             types.UID
	ResourceVersion string
}

// Waiting says why the task cannot start yet, as the kubelet says it: the Pod stays Pending, the
// container (Container, or every container for a volume) waiting with Reason and Message, and the
// node records a Warning Event (EventReason, EventMessage). It resolves itself when the object or
// key appears, so the caller retries (on a change of the object, or with back-off).
type Waiting struct {
	// Container is the container whose environment failed ("" for a volume).
	Container string
	// Reason is ReasonCreateContainerConfigError or ReasonContainerCreating.
	Reason  string
	Message string
	// EventReason is EventFailed or EventFailedMount.
	EventReason  string
	EventMessage string
}

func (w *Waiting) Error() string {
	if w.Container != "" {
		return fmt.Sprintf("container %s: %s: %s", w.Container, w.Reason, w.Message)
	}
	return w.EventReason + ": " + w.EventMessage
}
