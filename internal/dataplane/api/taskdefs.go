package api

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/tasksize"
)

type registerTaskDefinitionInput struct {
	Family                  string                      `json:"family"`
	ContainerDefinitions    []model.ContainerDefinition `json:"containerDefinitions"`
	Cpu                     *string                     `json:"cpu"`
	Memory                  *string                     `json:"memory"`
	NetworkMode             *string                     `json:"networkMode"`
	RequiresCompatibilities []string                    `json:"requiresCompatibilities"`
	ExecutionRoleArn        *string                     `json:"executionRoleArn"`
	TaskRoleArn             *string                     `json:"taskRoleArn"`
	Volumes                 []model.Volume              `json:"volumes"`
	RuntimePlatform         *model.RuntimePlatform      `json:"runtimePlatform"`
	EphemeralStorage        *model.EphemeralStorage     `json:"ephemeralStorage"`
	PidMode                 *string                     `json:"pidMode"`
	IpcMode                 *string                     `json:"ipcMode"`
	Tags                    []model.Tag                 `json:"tags"`
}

type taskDefinitionOutput struct {
	TaskDefinition *model.TaskDefinition `json:"taskDefinition"`
	Tags           []model.Tag           `json:"tags,omitempty"`
}

type describeTaskDefinitionInput struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
}

type deregisterTaskDefinitionInput struct {
	TaskDefinition string `json:"taskDefinition"`
}

type listTaskDefinitionsInput struct {
	FamilyPrefix *string `json:"familyPrefix"`
	Status       *string `json:"status"`
	Sort         *string `json:"sort"`
	MaxResults   *int32  `json:"maxResults"`
	NextToken    *string `json:"nextToken"`
}

type listTaskDefinitionsOutput struct {
	TaskDefinitionArns []string `json:"taskDefinitionArns"`
	NextToken          *string  `json:"nextToken,omitempty"`
}

type listTaskDefinitionFamiliesInput struct {
	FamilyPrefix *string `json:"familyPrefix"`
	Status       *string `json:"status"`
	MaxResults   *int32  `json:"maxResults"`
	NextToken    *string `json:"nextToken"`
}

type listTaskDefinitionFamiliesOutput struct {
	Families  []string `json:"families"`
	NextToken *string  `json:"nextToken,omitempty"`
}

func (s *Server) registerTaskDefinition(_ context.Context, in *registerTaskDefinitionInput) (*taskDefinitionOutput, error) {
	if err := validateTaskDefinition(in); err != nil {
		return nil, err
	}
	td := model.TaskDefinition{
		Family: in.Family, Status: model.StatusActive, ContainerDefinitions: in.ContainerDefinitions,
		Cpu: in.Cpu, Memory: in.Memory, NetworkMode: in.NetworkMode,
		RequiresCompatibilities: in.RequiresCompatibilities, ExecutionRoleArn: in.ExecutionRoleArn,
		TaskRoleArn: in.TaskRoleArn, Volumes: nonNil(in.Volumes), PlacementConstraints: []any{},
		RuntimePlatform: in.RuntimePlatform, EphemeralStorage: in.EphemeralStorage, PidMode: in.PidMode,
		RegisteredAt: s.now(),
	}
	if fargateCompatible(&td) {
		td.Compatibilities = []string{model.LaunchTypeFargate}
	}
	err := s.store.Update(func(tx *store.Tx) error {
		rev, err := tx.NextRevision(in.Family)
		if err != nil {
			return err
		}
		td.Revision = rev
		td.TaskDefinitionArn = s.arns.TaskDefinition(in.Family, rev)
		return tx.PutTaskDefinition(&store.TaskDefinitionRecord{TaskDefinition: td, Tags: in.Tags})
	})
	if err != nil {
		return nil, fmt.Errorf("registering task definition %s: %w", in.Family, err)
	}
	return &taskDefinitionOutput{TaskDefinition: &td, Tags: in.Tags}, nil
}

// fargateCompatible reports whether a revision can run as a FARGATE task: awsvpc and a valid
// task-level cpu/memory pair. The local data plane runs only such revisions.
func fargateCompatible(td *model.TaskDefinition) bool {
	if td.NetworkMode == nil || *td.NetworkMode != model.NetworkModeAwsvpc || td.Cpu == nil || td.Memory == nil {
		return false
	}
	cpu, err1 := tasksize.ParseCPU(*td.Cpu)
	mem, err2 := tasksize.ParseMemory(*td.Memory)
	return err1 == nil && err2 == nil && tasksize.IsFargate(cpu, mem)
}

func (s *Server) now() *model.Time {
	return &model.Time{Time: s.clock.Now().UTC().Truncate(1e6)}
}

func (s *Server) describeTaskDefinition(_ context.Context, in *describeTaskDefinitionInput) (*taskDefinitionOutput, error) {
	ref, err := parseTaskDefRef("taskDefinition", in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	var rec *store.TaskDefinitionRecord
	err = s.store.View(func(tx *store.Tx) error {
		rec, err = findTaskDefinition(tx, ref)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("describing task definition %s: %w", in.TaskDefinition, err)
	}
	out := &taskDefinitionOutput{TaskDefinition: &rec.TaskDefinition}
	if slices.Contains(in.Include, "TAGS") {
		out.Tags = nonNil(rec.Tags)
	}
	return out, nil
}

func (s *Server) deregisterTaskDefinition(_ context.Context, in *deregisterTaskDefinitionInput) (*taskDefinitionOutput, error) {
	ref, err := parseTaskDefRef("taskDefinition", in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if ref.revision == 0 {
		return nil, invalidParameter("taskDefinition: %q names no revision; give family:revision or the full ARN", in.TaskDefinition)
	}
	var out model.TaskDefinition
	err = s.store.Update(func(tx *store.Tx) error {
		rec, err := findTaskDefinition(tx, ref)
		if err != nil {
			return err
		}
		if rec.TaskDefinition.Status == model.StatusActive {
			rec.TaskDefinition.Status = model.StatusInactive
			rec.TaskDefinition.DeregisteredAt = s.now()
			if err := tx.PutTaskDefinition(rec); err != nil {
				return err
			}
		}
		out = rec.TaskDefinition
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deregistering task definition %s: %w", in.TaskDefinition, err)
	}
	return &taskDefinitionOutput{TaskDefinition: &out}, nil
}

func (s *Server) listTaskDefinitions(_ context.Context, in *listTaskDefinitionsInput) (*listTaskDefinitionsOutput, error) {
	status := deref(in.Status, model.StatusActive)
	family := deref(in.FamilyPrefix, "") // despite its name, ECS matches the whole family
	desc := deref(in.Sort, "ASC") == "DESC"
	byKey := map[string]string{}
	var keys []string
	err := s.store.View(func(tx *store.Tx) error {
		all, err := tx.TaskDefinitions("")
		for _, r := range all {
			td := r.TaskDefinition
			if td.Status != status || (family != "" && td.Family != family) {
				continue
			}
			// families sort before their revisions: "family\x00" keeps "a" before "a-b"
			k := fmt.Sprintf("%s\x00%010d", td.Family, td.Revision)
			keys = append(keys, k)
			byKey[k] = td.TaskDefinitionArn
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing task definitions: %w", err)
	}
	slices.Sort(keys)
	if desc {
		slices.Reverse(keys)
	}
	page, next, err := paginate(keys, in.MaxResults, in.NextToken, desc, defaultPageSize)
	if err != nil {
		return nil, err
	}
	out := &listTaskDefinitionsOutput{TaskDefinitionArns: []string{}, NextToken: next}
	for _, k := range page {
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, byKey[k])
	}
	return out, nil
}

func (s *Server) listTaskDefinitionFamilies(_ context.Context, in *listTaskDefinitionFamiliesInput) (*listTaskDefinitionFamiliesOutput, error) {
	status := deref(in.Status, "ALL")
	prefix := deref(in.FamilyPrefix, "")
	active := map[string]bool{}
	err := s.store.View(func(tx *store.Tx) error {
		all, err := tx.TaskDefinitions("")
		for _, r := range all {
			if strings.HasPrefix(r.TaskDefinition.Family, prefix) {
				active[r.TaskDefinition.Family] = active[r.TaskDefinition.Family] || r.TaskDefinition.Status == model.StatusActive
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing task definition families: %w", err)
	}
	var families []string
	for f, a := range active {
		if status == "ALL" || (status == model.StatusActive) == a {
			families = append(families, f)
		}
	}
	slices.Sort(families)
	page, next, err := paginate(families, in.MaxResults, in.NextToken, false, defaultPageSize)
	if err != nil {
		return nil, err
	}
	return &listTaskDefinitionFamiliesOutput{Families: nonNil(page), NextToken: next}, nil
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
