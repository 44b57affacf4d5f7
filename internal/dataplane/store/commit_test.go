package store

import (
	"path/filepath"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// TestUpdateWithoutWritesDoesNotCommit: a transaction that only reads is rolled back, not
// committed (no meta page written, no fsync); one that writes, deletes or takes a sequence is.
func TestUpdateWithoutWritesDoesNotCommit(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	writes := func() int64 { st := s.db.Stats(); return st.TxStats.GetWrite() }
	for _, tc := range []struct {
		name   string
		fn     func(*Tx) error
		commit bool
	}{
		{"read only", func(tx *Tx) error { _, err := tx.Clusters(); return err }, false},
		{"put", func(tx *Tx) error {
			return tx.PutCluster(&ClusterRecord{Cluster: model.Cluster{ClusterName: "c"}})
		}, true},
		{"read what was put", func(tx *Tx) error { _, err := tx.GetCluster("c"); return err }, false},
		{"delete", func(tx *Tx) error { return tx.DeleteCluster("c") }, true},
		{"sequence", func(tx *Tx) error { _, err := tx.NextSequence("ids"); return err }, true},
		{"setting", func(tx *Tx) error { return tx.PutSetting("s", "v") }, true},
	} {
		before := writes()
		if err := s.Update(tc.fn); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if committed := writes() > before; committed != tc.commit {
			t.Errorf("%s: committed %v, want %v", tc.name, committed, tc.commit)
		}
	}
	if err := s.View(func(tx *Tx) error { _, err := tx.GetCluster("c"); return err }); err == nil {
		t.Error("the deleted cluster is still there")
	}
}
