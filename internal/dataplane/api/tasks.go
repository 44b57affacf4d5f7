package api

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/tasksize"
)

type runTaskInput struct {
	Cluster              *string                     `json:"cluster"`
	TaskDefinition       string                      `json:"taskDefinition"`
	Count                *int32                      `json:"count"`
	StartedBy            *string                     `json:"startedBy"`
	Group                *string                     `json:"group"`
	LaunchType           *string                     `json:"launchType"`
	PlatformVersion      *string                     `json:"platformVersion"`
	NetworkConfiguration *model.NetworkConfiguration `json:"networkConfiguration"`
	Overrides            *model.TaskOverride         `json:"overrides"`
	Tags                 []model.Tag                 `json:"tags"`
	ClientToken          *string                     `json:"clientToken"`
	EnableExecuteCommand *bool                       `json:"enableExecuteCommand"`
	EnableECSManagedTags *bool                       `json:"enableECSManagedTags"`
	PropagateTags        *string                     `json:"propagateTags"`
	// CapacityProviderStrategy: see capacity.go.
	CapacityProviderStrategy []model.CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
}

type tasksOutput struct {
	Tasks    []model.Task `json:"tasks"`
	Failures []failure    `json:"failures"`
}

type stopTaskInput struct {
	Cluster *string `json:"cluster"`
	Task    string  `json:"task"`
	Reason  *string `json:"reason"`
}

type taskOutput struct {
	Task *model.Task `json:"task"`
}

type describeTasksInput struct {
	Cluster *string  `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}

type listTasksInput struct {
	Cluster       *string `json:"cluster"`
	Family        *string `json:"family"`
	ServiceName   *string `json:"serviceName"`
	DesiredStatus *string `json:"desiredStatus"`
	StartedBy     *string `json:"startedBy"`
	LaunchType    *string `json:"launchType"`
	MaxResults    *int32  `json:"maxResults"`
	NextToken     *string `json:"nextToken"`
}

type listTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken *string  `json:"nextToken,omitempty"`
}

const opRunTask = "RunTask"

// startedByPattern is what ECS allows in startedBy.
var startedByPattern = regexp.MustCompile(`^[A-Za-z0-9_/-]{1,128}$`)

func validateRunTask(in *runTaskInput) error {
	if in.Count != nil && (*in.Count < 1 || *in.Count > 10) {
		return invalidParameter("count: %d is out of range; run 1 to 10 tasks per call", *in.Count)
	}
	if err := checkLaunchType(in.LaunchType); err != nil {
		return err
	}
	if in.StartedBy != nil && !startedByPattern.MatchString(*in.StartedBy) {
		return invalidParameter("startedBy: use 1 to 128 letters, numbers, hyphens, underscores and forward slashes")
	}
	if in.Group != nil && (len(*in.Group) == 0 || len(*in.Group) > 255) {
		return invalidParameter("group: use 1 to 255 characters")
	}
	if err := checkClientToken(in.ClientToken, 64); err != nil {
		return err
	}
	if deref(in.PropagateTags, "") == model.PropagateService {
		return invalidParameter("propagateTags: SERVICE applies only to a service's tasks; a task of RunTask takes the tags of its task definition (TASK_DEFINITION) or none (NONE)")
	}
	return checkTags("tags", in.Tags)
}

func checkLaunchType(lt *string) error {
	if lt != nil && *lt != model.LaunchTypeFargate {
		return invalidParameter("launchType: %s is not available on the nodeless local data plane; use FARGATE or omit it", *lt)
	}
	return nil
}

// checkOverrides checks that overrides name containers of td and keep task cpu/memory valid.
func checkOverrides(o *model.TaskOverride, td *model.TaskDefinition) error {
	if o == nil {
		return nil
	}
	for i, co := range o.ContainerOverrides {
		if co.Name == nil || !slices.ContainsFunc(td.ContainerDefinitions, func(d model.ContainerDefinition) bool { return *d.Name == *co.Name }) {
			return invalidParameter("overrides.containerOverrides[%d].name: must name a container of %s", i, td.TaskDefinitionArn)
		}
	}
	cpu, mem := deref(o.Cpu, deref(td.Cpu, "")), deref(o.Memory, deref(td.Memory, ""))
	if o.Cpu == nil && o.Memory == nil {
		return nil
	}
	c, err := tasksize.ParseCPU(cpu)
	if err != nil {
		return invalidParameter("overrides.cpu: %v", err)
	}
	m, err := tasksize.ParseMemory(mem)
	if err != nil {
		return invalidParameter("overrides.memory: %v", err)
	}
	if err := tasksize.CheckFargate(c, m); err != nil {
		return invalidParameter("overrides.cpu, overrides.memory: cpu %d with memory %d MiB is not a valid Fargate pair: %v", c, m, err)
	}
	return nil
}

func (s *Server) runTask(_ context.Context, in *runTaskInput) (*tasksOutput, error) {
	if err := validateRunTask(in); err != nil {
		return nil, err
	}
	if err := s.checkExecEnabled(in.EnableExecuteCommand); err != nil {
		return nil, err
	}
	cluster, err := s.cluster("cluster", in.Cluster)
	if err != nil {
		return nil, err
	}
	hashed := *in
	hashed.ClientToken = nil
	hash, err := requestHash(hashed)
	if err != nil {
		return nil, err
	}
	// Batch: RunTasks that arrive while another write commits share the next commit (group
	// commit; with 50 at once they waited for bbolt's writer one by one: bench/README.md, "Faster
	// starts, third pass"). runTaskTx only writes through tx and its results are set afresh on
	// every run, as Batch requires.
	var tasks []model.Task
	var created bool
	err = s.store.Batch(func(tx *store.Tx) error {
		var err error
		tasks, created, err = s.runTaskTx(tx, cluster, in, hash)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("running task %s: %w", in.TaskDefinition, err)
	}
	if created {
		for _, t := range tasks {
			s.engine.TaskCreated(cluster, lastPart(t.TaskArn))
		}
	}
	return &tasksOutput{Tasks: tasks, Failures: []failure{}}, nil
}

// TaskPreparer is an Engine that writes more of a new task in the transaction that stores it
// (the scheduler: the task's VPC address, one commit less before the task starts).
type TaskPreparer interface {
	PrepareTask(tx *store.Tx, cluster, taskID string) error
}

func (s *Server) runTaskTx(tx *store.Tx, cluster string, in *runTaskInput, hash string) ([]model.Task, bool, error) {
	c, err := activeCluster(tx, cluster)
	if err != nil {
		return nil, false, err
	}
	strategy, err := launchStrategy("capacityProviderStrategy", in.CapacityProviderStrategy, in.LaunchType, &c.Cluster)
	if err != nil {
		return nil, false, err
	}
	if in.ClientToken != nil {
		tasks, found, err := replayRunTask(tx, cluster, *in.ClientToken, hash)
		if found || err != nil {
			return tasks, false, err
		}
	}
	td, err := usableTaskDefinition(tx, "taskDefinition", in.TaskDefinition)
	if err != nil {
		return nil, false, err
	}
	if err := s.checkLaunch(&td.TaskDefinition, in.LaunchType, in.PlatformVersion, in.NetworkConfiguration, false); err != nil {
		return nil, false, err
	}
	if err := checkOverrides(in.Overrides, &td.TaskDefinition); err != nil {
		return nil, false, err
	}
	tags := model.TaskTags(model.TaskTagsInput{
		Own: in.Tags, Propagate: deref(in.PropagateTags, ""), DefinitionTags: td.Tags,
		Managed: deref(in.EnableECSManagedTags, false), Cluster: cluster,
	})
	if n := countTags(tags); n > maxTags {
		return nil, false, invalidParameter("tags, propagateTags: with the tags of %s the task would have %d tags; at most %d are allowed: give fewer tags or do not propagate them",
			td.TaskDefinition.TaskDefinitionArn, n, maxTags)
	}
	var tasks []model.Task
	var arns []string
	placed := map[string]int{}
	for range deref(in.Count, 1) {
		id := model.NewTaskID()
		provider := model.PickCapacityProvider(strategy, placed)
		placed[provider]++
		t := s.newTask(cluster, id, &td.TaskDefinition, in, tags, provider)
		if err := tx.PutTask(cluster, id, &store.TaskRecord{Task: t}); err != nil {
			return nil, false, err
		}
		if p, ok := s.engine.(TaskPreparer); ok {
			if err := p.PrepareTask(tx, cluster, id); err != nil {
				return nil, false, err
			}
		}
		tasks = append(tasks, t)
		arns = append(arns, t.TaskArn)
	}
	if in.ClientToken != nil {
		rec := &store.TokenRecord{RequestHash: hash, ResultARNs: arns, CreatedAt: s.now()}
		if err := tx.PutToken(opRunTask, cluster+"/"+*in.ClientToken, rec); err != nil {
			return nil, false, err
		}
	}
	return tasks, true, nil
}

// replayRunTask answers a RunTask retried with the same clientToken: the original tasks when the
// parameters match (those still kept), ConflictException when they do not. found is false for a
// token never seen, and for one whose tasks are all forgotten (STOPPED for longer than the
// scheduler's retention): the token is forgotten with them, and the request starts new tasks and
// records the token anew. ECS keeps a RunTask token 24 hours at most (ECS API Reference, "Ensuring
// idempotency"); the data plane keeps it as long as it keeps one of its tasks.
func replayRunTask(tx *store.Tx, cluster, token, hash string) ([]model.Task, bool, error) {
	rec, err := tx.GetToken(opRunTask, cluster+"/"+token)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var tasks []model.Task
	for _, arn := range rec.ResultARNs {
		t, err := tx.GetTask(cluster, lastPart(arn))
		if errors.Is(err, store.ErrNotFound) {
			continue // forgotten before the others
		}
		if err != nil {
			return nil, true, fmt.Errorf("reading task %s of clientToken %s: %w", arn, token, err)
		}
		tasks = append(tasks, t.Task)
	}
	if len(tasks) == 0 {
		return nil, false, nil
	}
	if rec.RequestHash != hash {
		e := newError(errConflict, "clientToken %q was already used for a RunTask with different parameters; use a new token for a different request", token)
		e.ResourceIDs = rec.ResultARNs
		return nil, true, e
	}
	return tasks, true, nil
}

// newTask is a task of RunTask with the given tags (its own, propagated and managed: model.TaskTags).
func (s *Server) newTask(cluster, id string, td *model.TaskDefinition, in *runTaskInput, tags []model.Tag, provider string) model.Task {
	return model.NewTask(s.arns, model.NewTaskInput{
		CapacityProvider: provider,
		Cluster:          cluster, ID: id, Definition: td, Group: in.Group, StartedBy: in.StartedBy,
		PlatformVersion: in.PlatformVersion, Overrides: in.Overrides, Tags: tags, CreatedAt: s.clock.Now(),
		NetworkConfiguration: in.NetworkConfiguration, EnableExecuteCommand: deref(in.EnableExecuteCommand, false),
	})
}

func (s *Server) stopTask(_ context.Context, in *stopTaskInput) (*taskOutput, error) {
	cluster, id, err := s.taskRef(in.Cluster, "task", in.Task)
	if err != nil {
		return nil, err
	}
	var out model.Task
	var changed bool
	err = s.store.Update(func(tx *store.Tx) error {
		if _, err := activeCluster(tx, cluster); err != nil {
			return err
		}
		rec, err := tx.GetTask(cluster, id)
		if errors.Is(err, store.ErrNotFound) {
			return invalidParameter("task: the referenced task %s was not found in cluster %s", in.Task, cluster)
		}
		if err != nil {
			return err
		}
		if rec.Task.DesiredStatus != model.TaskStatusStopped {
			changed = true
			s.markStopping(&rec.Task, deref(in.Reason, "Task stopped by user"))
			if err := tx.PutTask(cluster, id, rec); err != nil {
				return err
			}
		}
		out = rec.Task
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stopping task %s: %w", in.Task, err)
	}
	if changed {
		s.engine.TaskStopRequested(cluster, id)
	}
	return &taskOutput{Task: &out}, nil
}

// markStopping records a user's StopTask; like ECS, it deletes the task's tags.
func (s *Server) markStopping(t *model.Task, reason string) {
	t.DesiredStatus = model.TaskStatusStopped
	t.Tags = nil
	t.StopCode = ptr(model.StopCodeUserInitiated)
	t.StoppedReason = &reason
	t.StoppingAt = s.now()
	t.Version++
}

// taskRef resolves a task reference to its cluster and ID; a task ARN names its cluster.
func (s *Server) taskRef(clusterRef *string, member, ref string) (string, string, error) {
	id, ok := taskID(ref)
	if !ok {
		return "", "", invalidParameter("%s: %q is not a task ID (32 hex digits) or task ARN", member, ref)
	}
	if clusterRef == nil {
		if r, isARN := model.ParseARN(ref); isARN && len(r.Parts) == 2 {
			clusterRef = &r.Parts[0]
		}
	}
	cluster, err := s.cluster("cluster", clusterRef)
	return cluster, id, err
}

func (s *Server) describeTasks(_ context.Context, in *describeTasksInput) (*tasksOutput, error) {
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, invalidParameter("tasks: %d tasks named; describe 1 to 100 per call", len(in.Tasks))
	}
	cluster, err := s.cluster("cluster", in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &tasksOutput{Tasks: []model.Task{}, Failures: []failure{}}
	err = s.store.View(func(tx *store.Tx) error {
		if _, err := activeCluster(tx, cluster); err != nil {
			return err
		}
		for _, ref := range in.Tasks {
			id, ok := taskID(ref)
			rec, err := tx.GetTask(cluster, id)
			if !ok || errors.Is(err, store.ErrNotFound) {
				out.Failures = append(out.Failures, failure{Arn: ref, Reason: "MISSING"})
				continue
			}
			if err != nil {
				return err
			}
			t := rec.Task
			if !slices.Contains(in.Include, "TAGS") {
				t.Tags = nil
			}
			out.Tasks = append(out.Tasks, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("describing tasks: %w", err)
	}
	return out, nil
}

func (s *Server) listTasks(_ context.Context, in *listTasksInput) (*listTasksOutput, error) {
	if err := checkLaunchType(in.LaunchType); err != nil {
		return nil, err
	}
	if in.StartedBy != nil && (in.Family != nil || in.ServiceName != nil) {
		return nil, invalidParameter("startedBy: when you filter by startedBy it must be the only filter; drop family and serviceName")
	}
	cluster, err := s.cluster("cluster", in.Cluster)
	if err != nil {
		return nil, err
	}
	var svc string
	if in.ServiceName != nil {
		if svc, err = serviceName("serviceName", *in.ServiceName); err != nil {
			return nil, err
		}
	}
	var arns []string
	err = s.store.View(func(tx *store.Tx) error {
		if _, err := activeCluster(tx, cluster); err != nil {
			return err
		}
		if svc != "" {
			if _, err := tx.GetService(cluster, svc); errors.Is(err, store.ErrNotFound) {
				return serviceNotFound(svc)
			}
		}
		all, err := tx.Tasks(cluster)
		for _, r := range all {
			if taskMatches(r, in, svc) {
				arns = append(arns, r.Task.TaskArn)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	slices.Sort(arns)
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, false, defaultPageSize)
	if err != nil {
		return nil, err
	}
	return &listTasksOutput{TaskArns: nonNil(page), NextToken: next}, nil
}

func taskMatches(r *store.TaskRecord, in *listTasksInput, svc string) bool {
	t := r.Task
	if t.DesiredStatus != deref(in.DesiredStatus, model.TaskStatusRunning) {
		return false
	}
	if svc != "" && r.ServiceName != svc {
		return false
	}
	if in.StartedBy != nil && deref(t.StartedBy, "") != *in.StartedBy {
		return false
	}
	if in.Family != nil {
		ref, err := parseTaskDefRef("", t.TaskDefinitionArn)
		if err != nil || ref.family != *in.Family {
			return false
		}
	}
	return true
}

func lastPart(arn string) string {
	r, ok := model.ParseARN(arn)
	if !ok {
		return arn
	}
	return r.Parts[len(r.Parts)-1]
}

func ptr[T any](v T) *T { return &v }

func firstNonNil[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}
