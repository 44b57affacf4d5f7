package translate

import (
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	corev1 "k8s.io/api/core/v1"
)

// Translation is one Pod as ECS runs it: a task definition revision shared by the Pods of one
// template, a RunTask request of its own, what is resolved when the task starts, and what the
// virtual node does itself.
type Translation struct {
	// Revision names TaskDefinition: its family and its content hash.
	Revision Revision
	// TaskDefinition registers the revision. It holds nothing per pod: the Pods of one
	// ReplicaSet, or of one Job, produce byte-identical requests. Its tags carry
	// nodeless.dev/spec-hash = Revision.Hash.
	TaskDefinition *ecs.RegisterTaskDefinitionInput
	// RunTask starts the Pod's task: clientToken (from the Pod's UID), startedBy, tags naming the
	// Pod, and containerOverrides with the per-pod environment and command. Its taskDefinition
	// is the family; the caller sets it to the registered revision's ARN and adds cluster,
	// launchType or capacity provider, platformVersion and networkConfiguration.
	RunTask *ecs.RunTaskInput
	// Start is what the component that starts the task resolves first.
	Start StartPlan
	// Node is what the virtual node does itself: probes, hooks, deadlines, names.
	Node NodePlan
	// Warnings are fields honoured only approximately; the virtual node reports each as a
	// Warning Event on the Pod.
	Warnings []Problem
}

// Revision identifies a content-addressed task definition revision: a controller describes the
// family's revisions, reuses one whose nodeless.dev/spec-hash tag is Hash, and registers
// TaskDefinition only when none is.
type Revision struct {
	// Family is the task definition family (up to 255 of [A-Za-z0-9_-]): namespace and owner.
	Family string
	// Hash is 20 hex digits of the SHA-256 of the canonical JSON of the task definition
	// (without its tags); it changes exactly when the task definition does.
	Hash string
}

// StartPlan is what the task needs resolved when it starts, described, not resolved: which
// ConfigMaps and Secrets to read, which variables and files they become, which volumes to fill.
// No ConfigMap or Secret value is in a Translation.
type StartPlan struct {
	// Objects are the ConfigMaps and Secrets (in the Pod's namespace) the task reads at start,
	// each once, in the order the Pod first references them.
	Objects []ObjectRef
	// Containers lists the containers whose environment or command is completed at start.
	Containers []ContainerStart
	// Volumes are filled with files before any container starts.
	Volumes []VolumeFiles
	// ImagePullSecrets authenticate image pulls (names of Secrets of type
	// kubernetes.io/dockerconfigjson in the Pod's namespace), tried in order.
	ImagePullSecrets []string
	// ServiceLinks gives the containers the Service link variables of their namespace
	// (spec.enableServiceLinks, true by default); the kubernetes Service's are always given.
	ServiceLinks bool
}

// ObjectRef is a ConfigMap or a Secret the task reads at start.
type ObjectRef struct {
	// Kind is "ConfigMap" or "Secret".
	Kind string
	Name string
	// Keys are the keys read, sorted; nil means every key (envFrom, a volume without items).
	Keys []string
	// Optional is true only when every reference to the object is optional: then a missing
	// object (or key) leaves the variable unset or the file out, as the kubelet does.
	Optional bool
}

// ContainerStart is what of one container is completed at start: ResolveContainer computes its
// environment, command and args; the variables (and command) whose Delivery is AtStart go into
// RunTask's containerOverrides, except Secret ones, which must reach the container through a
// secret store (ECS secrets[].valueFrom), never in clear.
type ContainerStart struct {
	Name string
	// Env names the variables resolved at start, sorted; it does not list the keys envFrom adds.
	Env []string
	// SecretEnv names those of Env whose value is, or expands, a Secret's data.
	SecretEnv []string
	// EnvFrom is set when the container has envFrom: every key found becomes a variable.
	EnvFrom bool
	// Command is set when RunTask's command override (Kubernetes args, and command after its
	// leading literal elements) expands a variable only known at start. Should it then expand a
	// Secret's data (ResolvedContainer.CommandSecret or ArgsSecret, through envFrom), the Pod
	// must fail with ReasonCommandVariable rather than put the value in RunTask overrides.
	Command bool
}

// VolumeFiles are files written into a task volume before the containers start, as the kubelet
// writes configMap, secret, downwardAPI and projected volumes.
type VolumeFiles struct {
	// Volume is the task volume's name (the Pod volume's name, or for a subPath mount the name of
	// the volume made for it).
	Volume string
	// Sources are the projected volume's sources; a configMap, secret or downwardAPI volume is a
	// projected volume of one source. Items, keys, paths, modes and optional flags are as the Pod
	// gives them; a serviceAccountToken source is the Pod's bound token (audience, expiry).
	Sources []corev1.VolumeProjection
	// DefaultMode is the mode of files without one of their own (0644 when the Pod gives none).
	DefaultMode int32
	// FSGroup, when set, owns the files (group-readable), spec.securityContext.fsGroup.
	FSGroup *int64
	// SubPath, when set, is the one file or directory of the sources mounted (volumeMounts
	// subPath): only it is written, at the volume's root, and when it is a file, the mount is of
	// that file.
	SubPath string
	// Update says whether the files follow later changes of the ConfigMaps and Secrets (as the
	// kubelet updates non-subPath volumes), or stay as they were at start (subPath).
	Update bool
}

// NodePlan is what the virtual node does itself, because ECS has no member for it.
type NodePlan struct {
	// RestartPolicy of the Pod (Always, OnFailure, Never): the node re-runs a stopped task of a
	// Pod that must restart, with the kubelet's back-off, and counts restarts.
	RestartPolicy corev1.RestartPolicy
	// Containers with probes, hooks or checks for the node, in task order.
	Containers []ContainerNode
	// ActiveDeadlineSeconds, when set, stops the task that long after the Pod started; the Pod
	// fails with reason DeadlineExceeded.
	ActiveDeadlineSeconds *int64
	// TerminationGracePeriodSeconds is the Pod's grace period (30 by default): preStop hooks run
	// within it, then StopTask (each container's stopTimeout is this, clamped to ECS's 2..120).
	TerminationGracePeriodSeconds int64
	// Hostname is the Pod's hostname (hostnameOverride, else spec.hostname, else its name, up to
	// 63 characters); with a Subdomain its FQDN is hostname.subdomain.namespace.svc.<cluster
	// domain>, and HostnameIsFQDN sets the kernel hostname to it (setHostnameAsFQDN). ECS cannot
	// set a hostname in awsvpc mode; HOSTNAME is in RunTask's overrides.
	Hostname, Subdomain string
	HostnameIsFQDN      bool
	// HostAliases are added to the containers' /etc/hosts.
	HostAliases []corev1.HostAlias
	// DNSPolicy and DNSConfig say how the containers' resolv.conf is made.
	DNSPolicy corev1.DNSPolicy
	DNSConfig *corev1.PodDNSConfig
	// ReadinessGates are Pod conditions that must be True, besides ContainersReady, for Ready.
	ReadinessGates []corev1.PodConditionType
}

// ContainerNode is what the virtual node does for one container.
type ContainerNode struct {
	Name string
	// Init is set for an init container; Sidecar for an init container that keeps running.
	Init, Sidecar bool
	// Readiness, Liveness and Startup are the container's probes, run by the node against the
	// task (httpGet and tcpSocket from outside the container, so they work for images without
	// curl; exec inside it; grpc with the gRPC health protocol).
	Readiness, Liveness, Startup *Probe
	// PostStart runs after the container started; PreStop before the task is stopped.
	PostStart, PreStop *Handler
	// RequireNonRoot: runAsNonRoot without a runAsUser; the image's user must be checked.
	RequireNonRoot bool
	// TerminationMessagePath and TerminationMessagePolicy say where the container's termination
	// message is read from (the file, or the end of the log on error).
	TerminationMessagePath   string
	TerminationMessagePolicy corev1.TerminationMessagePolicy
	// StdinOnce closes stdin after the first attach ends.
	StdinOnce bool
}

// Probe is a Kubernetes probe with its defaults applied and named ports resolved.
type Probe struct {
	Handler
	InitialDelaySeconds, TimeoutSeconds, PeriodSeconds, SuccessThreshold, FailureThreshold int32
	// TerminationGracePeriodSeconds overrides the Pod's after a failed liveness or startup probe.
	TerminationGracePeriodSeconds *int64
}

// Handler is what a probe or a lifecycle hook does: exactly one member is set.
type Handler struct {
	// Exec runs a command in the container.
	Exec []string
	// HTTPGet gets a URL; it succeeds on a status in 200..399.
	HTTPGet *HTTPGet
	// TCPSocket connects; it succeeds when the connection opens.
	TCPSocket *TCPSocket
	// GRPC calls grpc.health.v1.Health/Check; it succeeds on SERVING.
	GRPC *GRPC
	// SleepSeconds waits (lifecycle hooks only).
	SleepSeconds *int64
}

// HTTPGet is an httpGet probe or hook; Host "" means the Pod's IP.
type HTTPGet struct {
	Scheme  corev1.URIScheme
	Host    string
	Port    int32
	Path    string
	Headers []corev1.HTTPHeader
}

// TCPSocket is a tcpSocket probe; Host "" means the Pod's IP.
type TCPSocket struct {
	Host string
	Port int32
}

// GRPC is a grpc probe on the Pod's IP; Service "" checks the server as a whole.
type GRPC struct {
	Port    int32
	Service string
}
