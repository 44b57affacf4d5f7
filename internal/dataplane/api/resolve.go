package api

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// defaultCluster is the cluster a request that names none acts on; it is created on first use.
const defaultCluster = "default"

// namePattern is what ECS allows in cluster, service and family names.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func checkName(member, name string) error {
	if !namePattern.MatchString(name) {
		return invalidParameter("%s: %q is not a valid name: use 1 to 255 letters, numbers, hyphens and underscores", member, name)
	}
	return nil
}

// clusterName turns a cluster reference (name, ARN, or "" for the default cluster) into a name.
func (s *Server) clusterName(member string, ref *string) (string, error) {
	if ref == nil || *ref == "" {
		return defaultCluster, nil
	}
	name := *ref
	if strings.HasPrefix(name, "arn:") {
		r, ok := model.ParseARN(name)
		if !ok || r.Type != "cluster" || len(r.Parts) != 1 {
			return "", invalidParameter("%s: %q is not a cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)", member, name)
		}
		name = r.Parts[0]
	}
	if err := checkName(member, name); err != nil {
		return "", err
	}
	return name, nil
}

// cluster resolves a cluster reference to an ACTIVE cluster's name, creating the default cluster
// when the request names none (as ECS does).
func (s *Server) cluster(member string, ref *string) (string, error) {
	name, err := s.clusterName(member, ref)
	if err != nil {
		return "", err
	}
	if name == defaultCluster && (ref == nil || *ref == "") {
		if err := s.ensureDefaultCluster(); err != nil {
			return "", err
		}
	}
	return name, nil
}

func (s *Server) ensureDefaultCluster() error {
	var exists bool
	err := s.store.View(func(tx *store.Tx) error {
		c, err := tx.GetCluster(defaultCluster)
		exists = err == nil && c.Cluster.Status == model.StatusActive
		return ignoreNotFound(err)
	})
	if err != nil || exists {
		return err
	}
	return s.store.Update(func(tx *store.Tx) error {
		c, err := tx.GetCluster(defaultCluster)
		if err == nil && c.Cluster.Status == model.StatusActive {
			return nil
		}
		return tx.PutCluster(&store.ClusterRecord{Cluster: s.newCluster(defaultCluster)})
	})
}

// activeCluster returns the cluster name in tx, or ClusterNotFoundException when it does not exist
// or was deleted.
func activeCluster(tx *store.Tx, name string) (*store.ClusterRecord, error) {
	c, err := tx.GetCluster(name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Cluster.Status != model.StatusActive) {
		return nil, clusterNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading cluster %s: %w", name, err)
	}
	return c, nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// taskDefRef is a parsed task definition reference: family, family:revision or an ARN.
type taskDefRef struct {
	member   string // the request member it came from, for messages
	family   string
	revision int32 // 0: the latest ACTIVE revision
}

func parseTaskDefRef(member, ref string) (taskDefRef, error) {
	s := ref
	if strings.HasPrefix(ref, "arn:") {
		r, ok := model.ParseARN(ref)
		if !ok || r.Type != "task-definition" || len(r.Parts) != 1 {
			return taskDefRef{}, invalidParameter("%s: %q is not a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)", member, ref)
		}
		s = r.Parts[0]
	}
	family, rev, err := model.ParseFamilyRevision(s)
	if err != nil {
		return taskDefRef{}, invalidParameter("%s: %v", member, err)
	}
	if err := checkName(member, family); err != nil {
		return taskDefRef{}, err
	}
	return taskDefRef{member: member, family: family, revision: rev}, nil
}

// findTaskDefinition returns the revision ref names (the latest ACTIVE one when it names a family),
// or ClientException when there is none.
func findTaskDefinition(tx *store.Tx, ref taskDefRef) (*store.TaskDefinitionRecord, error) {
	if ref.revision > 0 {
		td, err := tx.GetTaskDefinition(ref.family, ref.revision)
		if errors.Is(err, store.ErrNotFound) {
			return nil, clientError("%s: Unable to describe task definition: %s:%d is not registered; name a registered revision or register it", ref.member, ref.family, ref.revision)
		}
		return td, err
	}
	all, err := tx.TaskDefinitions(ref.family)
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].TaskDefinition.Status == model.StatusActive {
			return all[i], nil
		}
	}
	return nil, clientError("%s: Unable to describe task definition: family %s has no ACTIVE revision; register one with RegisterTaskDefinition", ref.member, ref.family)
}

// usableTaskDefinition resolves a reference for a new task or service: it must be ACTIVE.
func usableTaskDefinition(tx *store.Tx, member, ref string) (*store.TaskDefinitionRecord, error) {
	r, err := parseTaskDefRef(member, ref)
	if err != nil {
		return nil, err
	}
	td, err := findTaskDefinition(tx, r)
	if err != nil {
		return nil, err
	}
	if td.TaskDefinition.Status != model.StatusActive {
		return nil, clientError("%s: task definition %s is INACTIVE (deregistered) and cannot be used for new tasks or services; register a new revision",
			member, td.TaskDefinition.TaskDefinitionArn)
	}
	return td, nil
}

// serviceName turns a service reference (name or ARN) into a name.
func serviceName(member, ref string) (string, error) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		r, ok := model.ParseARN(ref)
		if !ok || r.Type != "service" || len(r.Parts) < 1 {
			return "", invalidParameter("%s: %q is not a service ARN (arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME)", member, ref)
		}
		name = r.Parts[len(r.Parts)-1]
	}
	if err := checkName(member, name); err != nil {
		return "", err
	}
	return name, nil
}

// taskIDPattern is the task ID the data plane assigns: 32 lower-case hex digits.
var taskIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// taskID turns a task reference (ID or ARN) into an ID; ok is false when it cannot be one.
func taskID(ref string) (string, bool) {
	id := ref
	if strings.HasPrefix(ref, "arn:") {
		r, ok := model.ParseARN(ref)
		if !ok || r.Type != "task" {
			return "", false
		}
		id = r.Parts[len(r.Parts)-1]
	}
	return id, taskIDPattern.MatchString(id)
}
