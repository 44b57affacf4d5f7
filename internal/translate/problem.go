package translate

import (
	"fmt"
	"strings"
)

// Reasons of Problems. They are CamelCase, stable, and meant to be used as the reason of the
// Pod's status and of the Warning Events the virtual node records.
const (
	// ReasonHostNamespace: hostNetwork, hostPID or hostIPC; a task has no host to share.
	ReasonHostNamespace = "HostNamespaceNotSupported"
	// ReasonHostPort: a hostPort other than 0 or the containerPort (awsvpc: hostPort = containerPort).
	ReasonHostPort = "HostPortNotSupported"
	// ReasonPrivileged: a privileged container.
	ReasonPrivileged = "PrivilegedNotSupported"
	// ReasonVolumeType: a volume source other than emptyDir, configMap, secret, downwardAPI and projected.
	ReasonVolumeType = "VolumeTypeNotSupported"
	// ReasonDaemonSet: a Pod owned by a DaemonSet; with no nodes there is nothing to run it on.
	ReasonDaemonSet = "DaemonSetNotSupported"
	// ReasonNodeAffinity: nodeSelector or required node affinity the virtual node does not meet.
	ReasonNodeAffinity = "NodeAffinityNotMet"
	// ReasonNotOnNode: the Pod is not bound to the virtual node.
	ReasonNotOnNode = "NotBoundToVirtualNode"
	// ReasonFieldNotSupported: a field nodeless cannot honour (named by the Problem's path).
	ReasonFieldNotSupported = "FieldNotSupported"
	// ReasonValueNotSupported: a field whose value nodeless cannot honour (others of it are fine).
	ReasonValueNotSupported = "ValueNotSupported"
	// ReasonResources: requests or limits no Fargate task size holds, or a resource ECS has not.
	ReasonResources = "ResourcesNotSupported"
	// ReasonCapability: a capability Fargate does not let a task add.
	ReasonCapability = "CapabilityNotSupported"
	// ReasonCommandVariable: a command or args expansion ECS cannot deliver (see the message).
	ReasonCommandVariable = "CommandVariableNotSupported"
	// ReasonMultipleContainers: several containers under restartPolicy Never or OnFailure.
	ReasonMultipleContainers = "MultipleContainersNotSupported"
	// ReasonInvalid: the Pod is not what the API server admits (a missing name, a dangling reference).
	ReasonInvalid = "InvalidPod"
	// ReasonNamedPort: a probe or hook names a port the container does not declare.
	ReasonNamedPort = "NamedPortNotFound"

	// Warnings: honoured, but not exactly as the field asks.

	// ReasonGracePeriodClamped: terminationGracePeriodSeconds outside ECS's stopTimeout range 2..120.
	ReasonGracePeriodClamped = "GracePeriodClamped"
	// ReasonMemoryRaised: a memory request or limit below the 6 MiB ECS accepts for a container.
	ReasonMemoryRaised = "MemoryRaised"
	// ReasonEphemeralContainers: ephemeral containers (kubectl debug) are not run.
	ReasonEphemeralContainers = "EphemeralContainersNotSupported"
)

// Problem is one field of a Pod that nodeless cannot honour (or, as a warning, honours only
// approximately). Path is the field as Kubernetes prints it
// (`spec.containers[0].securityContext.privileged`); Reason is one of the Reason constants;
// Message says what is wrong and what to do.
type Problem struct {
	Path    string
	Reason  string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message + " (" + p.Reason + ")" }

// RefusedError is returned when a Pod cannot run as an ECS task. It lists every problem, not only
// the first, in the order of the Pod's fields; the virtual node records them as Events and fails
// the Pod with the first one's reason.
type RefusedError struct {
	// Pod is "namespace/name".
	Pod      string
	Problems []Problem
}

func (e *RefusedError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("pod %s cannot run as an ECS task: %s", e.Pod, strings.Join(parts, "; "))
}

// Reason is the first problem's reason: the one the Pod's status carries.
func (e *RefusedError) Reason() string {
	if len(e.Problems) == 0 {
		return ReasonInvalid
	}
	return e.Problems[0].Reason
}

// problems collects Problems while a Pod is translated.
type problems struct {
	refused  []Problem
	warnings []Problem
}

func (ps *problems) refuse(path, reason, format string, args ...any) {
	ps.refused = append(ps.refused, Problem{Path: path, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) warn(path, reason, format string, args ...any) {
	ps.warnings = append(ps.warnings, Problem{Path: path, Reason: reason, Message: fmt.Sprintf(format, args...)})
}
