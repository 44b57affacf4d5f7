package store_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

func open(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func update(t *testing.T, s *store.Store, fn func(*store.Tx) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s *store.Store, fn func(*store.Tx) error) {
	t.Helper()
	if err := s.View(fn); err != nil {
		t.Fatal(err)
	}
}

func str(s string) *string { return &s }

// fill writes one of everything, as the API and the scheduler do.
func fill(t *testing.T, s *store.Store) {
	t.Helper()
	arns := model.ARNs{Region: "us-east-1", Account: "000000000000"}
	now := &model.Time{Time: time.Date(2026, 11, 21, 5, 0, 0, 123e6, time.UTC)}
	update(t, s, func(tx *store.Tx) error {
		for _, c := range []string{"default", "dev"} {
			if err := tx.PutCluster(&store.ClusterRecord{Cluster: model.Cluster{ClusterName: c, ClusterArn: arns.Cluster(c), Status: model.StatusActive}}); err != nil {
				return err
			}
		}
		for range 3 {
			rev, err := tx.NextRevision("web")
			if err != nil {
				return err
			}
			td := model.TaskDefinition{Family: "web", Revision: rev, TaskDefinitionArn: arns.TaskDefinition("web", rev), Status: model.StatusActive,
				RegisteredAt: now, ContainerDefinitions: []model.ContainerDefinition{{Name: str("app"), Image: str("i")}}}
			if err := tx.PutTaskDefinition(&store.TaskDefinitionRecord{TaskDefinition: td, Tags: []model.Tag{{Key: str("k"), Value: str("v")}}}); err != nil {
				return err
			}
		}
		svc := &store.ServiceRecord{Service: model.Service{ServiceName: "api", ServiceArn: arns.Service("default", "api"), Status: model.StatusActive, DesiredCount: 2,
			Deployments: []model.Deployment{{ID: "ecs-svc/1234567890123456789", Status: model.DeploymentPrimary, CreatedAt: now}}},
			Scheduler: store.ServiceSchedulerState{ConsecutiveFailures: map[string]int32{"ecs-svc/1234567890123456789": 2}}}
		if err := tx.PutService("default", svc); err != nil {
			return err
		}
		task := &store.TaskRecord{Task: model.Task{TaskArn: arns.Task("default", "0123"), LastStatus: model.TaskStatusRunning, Version: 4, CreatedAt: now},
			ServiceName: "api", DeploymentID: "ecs-svc/1234567890123456789",
			Runtime: store.TaskRuntimeState{Namespace: "nodeless", ContainerIDs: map[string]string{"app": "0123-app"}, HostPorts: map[string]int32{"80/tcp": 40001}}}
		if err := tx.PutTask("default", "0123", task); err != nil {
			return err
		}
		return tx.PutToken("RunTask", "default/tok", &store.TokenRecord{RequestHash: "h", ResultARNs: []string{arns.Task("default", "0123")}, CreatedAt: now})
	})
}

// snapshot reads everything back.
func snapshot(t *testing.T, s *store.Store) map[string]any {
	t.Helper()
	out := map[string]any{}
	view(t, s, func(tx *store.Tx) error {
		var err error
		if out["clusters"], err = tx.Clusters(); err != nil {
			return err
		}
		if out["taskdefs"], err = tx.TaskDefinitions(""); err != nil {
			return err
		}
		if out["services"], err = tx.Services(""); err != nil {
			return err
		}
		if out["tasks"], err = tx.Tasks(""); err != nil {
			return err
		}
		out["token"], err = tx.GetToken("RunTask", "default/tok")
		return err
	})
	return out
}

// TestRestartKeepsEverything closes and reopens the store: every record, the revision sequence and
// the idempotency tokens are still there, field for field.
func TestRestartKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	fill(t, s)
	before := snapshot(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	if diff := cmp.Diff(before, snapshot(t, s)); diff != "" {
		t.Errorf("after reopening (-before +after):\n%s", diff)
	}
	update(t, s, func(tx *store.Tx) error {
		rev, err := tx.NextRevision("web")
		if rev != 4 {
			t.Errorf("revision after a restart: %d, want 4", rev)
		}
		return err
	})
}

func TestGettersAndOrder(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	defer s.Close()
	fill(t, s)
	view(t, s, func(tx *store.Tx) error {
		for name, err := range map[string]error{
			"cluster": second(tx.GetCluster("nope")), "taskdef": second(tx.GetTaskDefinition("web", 9)),
			"service": second(tx.GetService("dev", "api")), "task": second(tx.GetTask("dev", "0123")), "token": second(tx.GetToken("RunTask", "x")),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", name, err)
			}
		}
		tds, err := tx.TaskDefinitions("web")
		if err != nil {
			return err
		}
		var revs []int32
		for _, td := range tds {
			revs = append(revs, td.TaskDefinition.Revision)
		}
		if diff := cmp.Diff([]int32{1, 2, 3}, revs); diff != "" {
			t.Errorf("revisions (-want +got):\n%s", diff)
		}
		if tasks, _ := tx.Tasks("dev"); len(tasks) != 0 {
			t.Errorf("tasks of another cluster: %d", len(tasks))
		}
		if svcs, _ := tx.Services("def"); len(svcs) != 0 {
			t.Errorf("Services(\"def\") matched cluster default by prefix: %d", len(svcs))
		}
		return nil
	})
}

func second[T any](_ T, err error) error { return err }

func TestUpdateRollsBackOnError(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	defer s.Close()
	boom := errors.New("boom")
	err := s.Update(func(tx *store.Tx) error {
		if err := tx.PutCluster(&store.ClusterRecord{Cluster: model.Cluster{ClusterName: "x"}}); err != nil {
			return err
		}
		if _, err := tx.NextRevision("f"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v", err)
	}
	view(t, s, func(tx *store.Tx) error {
		if _, err := tx.GetCluster("x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a failed Update left its write: %v", err)
		}
		return nil
	})
}

func TestDelete(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	defer s.Close()
	fill(t, s)
	update(t, s, func(tx *store.Tx) error {
		return errors.Join(tx.DeleteCluster("dev"), tx.DeleteService("default", "api"), tx.DeleteTask("default", "0123"))
	})
	view(t, s, func(tx *store.Tx) error {
		c, _ := tx.Clusters()
		sv, _ := tx.Services("")
		ts, _ := tx.Tasks("")
		if len(c) != 1 || len(sv) != 0 || len(ts) != 0 {
			t.Errorf("after delete: %d clusters, %d services, %d tasks", len(c), len(sv), len(ts))
		}
		return nil
	})
}

func TestSecondOpenIsRefusedClearly(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the store's lock timeout")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	defer s.Close()
	_, err := store.Open(path)
	if err == nil || !strings.Contains(err.Error(), "another nodeless process") {
		t.Fatalf("second Open: %v", err)
	}
}
