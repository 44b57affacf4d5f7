// Package runtime runs ECS tasks as real OCI containers. The Runtime interface is the data plane's
// only view of containers; the containerd implementation (this package) is the real one, and
// scheduler unit tests use a fake.
package runtime

import (
	"context"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// TaskSpec is everything needed to start a task's containers.
type TaskSpec struct {
	// TaskID is the task's ID (the last part of its ARN); it names the task's containers and netns.
	TaskID     string
	Cluster    string
	Definition model.TaskDefinition
	Overrides  *model.TaskOverride
	// Network is the task's interface in the local VPC (its address, gateway and MAC, assigned by
	// the scheduler); nil leaves the task with loopback only.
	Network *vpc.Interface
	// Secrets are the values of the containers' secrets[].valueFrom, resolved by the caller when
	// the task starts (as the ECS agent resolves them before it creates the containers): container
	// name → its secret variables, in definition order. They are added to the container's
	// environment after the overrides. A Start whose containers have secrets that Secrets lacks
	// fails the task (ResourceInitializationError); Attach needs none (the containers exist). The
	// values are never logged nor stored by the runtime.
	Secrets map[string][]model.KeyValuePair
	// RegistryAuth are the credentials of the containers' repositoryCredentials, resolved by the
	// caller when the task starts: container name → what its image is pulled with. A Start whose
	// containers have repositoryCredentials that RegistryAuth lacks fails the task; never logged
	// nor stored.
	RegistryAuth map[string]model.RegistryAuth
	// DNS are the task's own resolv.conf settings (DNSFromTags of its tags); nil for none.
	DNS *TaskDNS
}

// ContainerState is one container as the runtime sees it.
type ContainerState struct {
	Name string
	// Status is PENDING (not started yet: pulling, or waiting on dependsOn), RUNNING or STOPPED.
	Status string
	// ExitCode is set once the container has exited.
	ExitCode *int32
	// Reason says why the container stopped or could not start (image not found, OOM killed, ...).
	Reason string
	// Health is HEALTHY, UNHEALTHY or UNKNOWN (no health check, or still in its start period).
	Health      string
	RuntimeID   string
	ImageDigest string
}

// TaskState is the runtime's view of a task.
type TaskState struct {
	Containers []ContainerState
	// HostPorts maps "containerPort/protocol" to the port on 127.0.0.1 that reaches it.
	HostPorts map[string]int32
	// StartFailure is set when the task could not start at all (image cannot be had, netns failed,
	// invalid spec); the task must stop with stopCode TaskFailedToStart and this as stoppedReason.
	StartFailure string
}

// Observer receives the runtime's view of a task every time it changes (container started, exited,
// health changed). Calls for one task are serialised; the observer must not block for long.
type Observer func(taskID string, state TaskState)

// Runtime runs tasks.
//
// Start and Attach are idempotent per task ID; Stop and Remove of an unknown task are no-ops.
// Nothing here persists state: the caller stores the returned TaskRuntimeState (in the task's store
// record) so that a restarted process can Attach instead of starting the task again.
type Runtime interface {
	// Start creates the task's network namespace (joined to the VPC when spec.Network is set) and
	// containers, and starts them in dependsOn order.
	// It returns once the runtime state is recorded enough to Attach/Remove later (before images are
	// pulled); progress and failures are reported through the Observer given to New. The first
	// report (containers PENDING, or the start failure) may come before Start returns.
	Start(ctx context.Context, spec TaskSpec) (store.TaskRuntimeState, error)
	// Attach resumes supervision of a task started by an earlier process (after a restart), without
	// restarting containers that are still running; exits that happened meanwhile are reported.
	Attach(ctx context.Context, spec TaskSpec, state store.TaskRuntimeState) error
	// Stop sends SIGTERM to the task's running containers, then SIGKILL after each container's
	// stopTimeout (default 30 s); it returns once every container has exited.
	Stop(ctx context.Context, taskID string) error
	// Remove deletes what the task left behind: containers, snapshots, VPC interface, network
	// namespace, port bindings. Logs are kept.
	Remove(ctx context.Context, taskID string, state store.TaskRuntimeState) error
}
