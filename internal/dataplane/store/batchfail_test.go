package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// TestBatchCommitFails: when the group's commit itself fails (here bbolt cannot grow the file past
// MaxSize while committing), every caller of the group gets that error and nothing of the group is
// written; the store works on afterwards. RunTask and the scheduler's writes share such commits.
func TestBatchCommitFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{MaxSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	s = &Store{db: db}
	t.Cleanup(func() { _ = s.Close() })

	release, holding, holder := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		holder <- s.Batch(func(tx *Tx) error {
			close(holding)
			<-release
			return putCluster("holder")(tx)
		})
	}()
	<-holding
	big := strings.Repeat("x", 100<<10) // three of them do not fit in 256 KiB
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Batch(func(tx *Tx) error {
				if err := putCluster(fmt.Sprintf("c%d", i))(tx); err != nil {
					return err
				}
				return tx.PutSetting(fmt.Sprintf("big%d", i), big)
			})
		})
		waitQueued(t, s, i+1)
	}
	close(release)
	wg.Wait()
	if err := <-holder; err != nil {
		t.Fatalf("the call holding the writer: %v", err)
	}
	for i, err := range errs {
		if !errors.Is(err, bolterrors.ErrMaxSizeReached) {
			t.Errorf("call %d: error %v, want the commit's (%v)", i, err, bolterrors.ErrMaxSizeReached)
		}
	}
	err = s.View(func(tx *Tx) error {
		for i := range errs {
			if v := tx.Setting(fmt.Sprintf("big%d", i)); v != "" {
				t.Errorf("setting big%d was written (%d bytes) by a failed commit", i, len(v))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"holder"}, clusterNames(t, s)); diff != "" {
		t.Errorf("stored clusters after the failed commit (-want +got):\n%s", diff)
	}
	if err := s.Batch(putCluster("after")); err != nil {
		t.Fatalf("a write after the failed commit: %v", err)
	}
}
