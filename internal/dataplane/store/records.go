package store

import (
	"fmt"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// ClusterRecord is a cluster.
type ClusterRecord struct {
	Cluster model.Cluster `json:"cluster"`
}

// TaskDefinitionRecord is one task definition revision.
type TaskDefinitionRecord struct {
	TaskDefinition model.TaskDefinition `json:"taskDefinition"`
	Tags           []model.Tag          `json:"tags,omitempty"`
}

// ServiceRecord is a service and the scheduler's bookkeeping for it.
type ServiceRecord struct {
	Service model.Service `json:"service"`
	// Scheduler holds what the service scheduler needs across restarts (owned by package scheduler).
	Scheduler ServiceSchedulerState `json:"scheduler"`
}

// ServiceSchedulerState is the service scheduler's persistent bookkeeping.
type ServiceSchedulerState struct {
	// ConsecutiveFailures counts failed task launches per deployment ID, for the circuit breaker.
	ConsecutiveFailures map[string]int32 `json:"consecutiveFailures,omitempty"`
	// LastStableTaskDefinition is the task definition of the last COMPLETED deployment (rollback target).
	LastStableTaskDefinition string `json:"lastStableTaskDefinition,omitempty"`
	// InactiveAt is when a deleted (DRAINING) service became INACTIVE; it is forgotten an hour later.
	InactiveAt *model.Time `json:"inactiveAt,omitempty"`
}

// TaskRecord is a task, the service deployment it belongs to, and the runtime handle needed to
// re-attach to its containers after a restart.
type TaskRecord struct {
	Task model.Task `json:"task"`
	// ServiceName and DeploymentID are set for tasks the service scheduler started.
	ServiceName  string `json:"serviceName,omitempty"`
	DeploymentID string `json:"deploymentId,omitempty"`
	// Runtime is the container runtime's handle for the task (owned by package runtime).
	Runtime TaskRuntimeState `json:"runtime"`
	// Scheduler is the scheduler's bookkeeping for the task (owned by package scheduler).
	Scheduler TaskSchedulerState `json:"scheduler,omitempty"`
}

// TaskSchedulerState is what the scheduler remembers about a task across restarts.
type TaskSchedulerState struct {
	// RuntimeStarted is set once runtime.Start returned the handle now in Runtime: a restarted
	// process Attaches to such a task, and Starts (idempotently, by task ID) one without it.
	RuntimeStarted bool `json:"runtimeStarted,omitempty"`
	// RuntimeRemoved is set once runtime.Remove cleaned up after the STOPPED task.
	RuntimeRemoved bool `json:"runtimeRemoved,omitempty"`
	// EverHealthy is set once the task proved itself: HEALTHY, or RUNNING for a while without
	// health checks.
	EverHealthy bool `json:"everHealthy,omitempty"`
	// BreakerAccounted is set once the circuit breaker counted the task (as a failure, or as a
	// healthy task that resets the count), so that no task is counted twice.
	BreakerAccounted bool `json:"breakerAccounted,omitempty"`
}

// TaskRuntimeState is what the runtime records to find a task's containers again.
type TaskRuntimeState struct {
	// Namespace is the containerd namespace; ContainerIDs maps container name → containerd ID.
	Namespace    string            `json:"namespace,omitempty"`
	ContainerIDs map[string]string `json:"containerIds,omitempty"`
	// NetNSPath is the bind-mounted network namespace of the task.
	NetNSPath string `json:"netnsPath,omitempty"`
	// HostPorts maps "containerPort/protocol" → the port on 127.0.0.1 that reaches it.
	HostPorts map[string]int32 `json:"hostPorts,omitempty"`
}

// TokenRecord remembers an idempotent request: the hash of its parameters and what it returned.
type TokenRecord struct {
	RequestHash string      `json:"requestHash"`
	ResultARNs  []string    `json:"resultArns"`
	CreatedAt   *model.Time `json:"createdAt,omitempty"`
}

// GetCluster returns the cluster named name, or ErrNotFound.
func (tx *Tx) GetCluster(name string) (*ClusterRecord, error) {
	return get[ClusterRecord](tx, bucketClusters, name)
}

// PutCluster creates or replaces a cluster.
func (tx *Tx) PutCluster(r *ClusterRecord) error {
	return put(tx, bucketClusters, r.Cluster.ClusterName, r)
}

// DeleteCluster removes a cluster record.
func (tx *Tx) DeleteCluster(name string) error { return del(tx, bucketClusters, name) }

// Clusters returns every cluster, ordered by name.
func (tx *Tx) Clusters() ([]*ClusterRecord, error) {
	var out []*ClusterRecord
	err := each(tx, bucketClusters, "", func(_ string, r *ClusterRecord) bool { out = append(out, r); return true })
	return out, err
}

func taskDefKey(family string, revision int32) string {
	return fmt.Sprintf("%s:%010d", family, revision)
}

// GetTaskDefinition returns family:revision, or ErrNotFound.
func (tx *Tx) GetTaskDefinition(family string, revision int32) (*TaskDefinitionRecord, error) {
	return get[TaskDefinitionRecord](tx, bucketTaskDefs, taskDefKey(family, revision))
}

// PutTaskDefinition stores a revision.
func (tx *Tx) PutTaskDefinition(r *TaskDefinitionRecord) error {
	return put(tx, bucketTaskDefs, taskDefKey(r.TaskDefinition.Family, r.TaskDefinition.Revision), r)
}

// TaskDefinitions returns every revision of family in revision order; family "" returns all of them,
// ordered by family then revision.
func (tx *Tx) TaskDefinitions(family string) ([]*TaskDefinitionRecord, error) {
	prefix := ""
	if family != "" {
		prefix = family + ":"
	}
	var out []*TaskDefinitionRecord
	err := each(tx, bucketTaskDefs, prefix, func(_ string, r *TaskDefinitionRecord) bool { out = append(out, r); return true })
	return out, err
}

// NextRevision returns the revision a new registration of family gets: one more than any revision
// ever registered, so revisions only increase.
func (tx *Tx) NextRevision(family string) (int32, error) {
	seq, err := tx.NextSequence("revision/" + family)
	return int32(seq), err
}

func serviceKey(cluster, name string) string { return cluster + "/" + name }

// GetService returns the service name in cluster (by cluster name), or ErrNotFound.
func (tx *Tx) GetService(cluster, name string) (*ServiceRecord, error) {
	return get[ServiceRecord](tx, bucketServices, serviceKey(cluster, name))
}

// PutService creates or replaces a service; cluster is the cluster's name.
func (tx *Tx) PutService(cluster string, r *ServiceRecord) error {
	return put(tx, bucketServices, serviceKey(cluster, r.Service.ServiceName), r)
}

// DeleteService removes a service record.
func (tx *Tx) DeleteService(cluster, name string) error {
	return del(tx, bucketServices, serviceKey(cluster, name))
}

// Services returns the services of cluster ("" for every cluster), ordered by name.
func (tx *Tx) Services(cluster string) ([]*ServiceRecord, error) {
	prefix := ""
	if cluster != "" {
		prefix = cluster + "/"
	}
	var out []*ServiceRecord
	err := each(tx, bucketServices, prefix, func(_ string, r *ServiceRecord) bool { out = append(out, r); return true })
	return out, err
}

func taskKey(cluster, id string) string { return cluster + "/" + id }

// GetTask returns task id in cluster (by cluster name), or ErrNotFound.
func (tx *Tx) GetTask(cluster, id string) (*TaskRecord, error) {
	return get[TaskRecord](tx, bucketTasks, taskKey(cluster, id))
}

// PutTask creates or replaces a task; id is the task ID (the last part of its ARN).
func (tx *Tx) PutTask(cluster, id string, r *TaskRecord) error {
	return put(tx, bucketTasks, taskKey(cluster, id), r)
}

// DeleteTask removes a task record (stopped tasks are kept for at least an hour first).
func (tx *Tx) DeleteTask(cluster, id string) error { return del(tx, bucketTasks, taskKey(cluster, id)) }

// Tasks returns the tasks of cluster ("" for every cluster), ordered by cluster then ID.
func (tx *Tx) Tasks(cluster string) ([]*TaskRecord, error) {
	prefix := ""
	if cluster != "" {
		prefix = cluster + "/"
	}
	var out []*TaskRecord
	err := each(tx, bucketTasks, prefix, func(_ string, r *TaskRecord) bool { out = append(out, r); return true })
	return out, err
}

func tokenKey(op, token string) string { return op + "/" + token }

// GetToken returns the record of an idempotent request (op is the operation name), or ErrNotFound.
func (tx *Tx) GetToken(op, token string) (*TokenRecord, error) {
	return get[TokenRecord](tx, bucketTokens, tokenKey(op, token))
}

// PutToken records an idempotent request's parameters hash and result.
func (tx *Tx) PutToken(op, token string, r *TokenRecord) error {
	return put(tx, bucketTokens, tokenKey(op, token), r)
}
