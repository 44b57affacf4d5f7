package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func putCluster(name string) func(*Tx) error {
	return func(tx *Tx) error { return tx.PutCluster(&ClusterRecord{Cluster: model.Cluster{ClusterName: name}}) }
}

func clusterNames(t *testing.T, s *Store) []string {
	t.Helper()
	var names []string
	err := s.View(func(tx *Tx) error {
		cs, err := tx.Clusters()
		for _, c := range cs {
			names = append(names, c.Cluster.ClusterName)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

var errRefused = errors.New("refused")

// batchCase is one call of a group: what it does, how often it may run, what it must return.
type batchCase struct {
	name string
	fn   func(*Tx) error
	// wantErr is the error the caller must get; wantRuns how often fn runs.
	wantErr  error
	wantRuns int32
}

// TestBatchGroupsConcurrentCalls holds the writer with one call, queues the others meanwhile, then
// checks that they were committed in one transaction and that each caller got its own result: a
// call that fails before writing runs once and costs the others nothing; one that fails after
// writing has its writes dropped, runs again alone, and the rest of the group runs again.
func TestBatchGroupsConcurrentCalls(t *testing.T) {
	tests := []struct {
		name        string
		calls       []batchCase
		wantCommits uint64 // for the group, after the call that held the writer
		want        []string
	}{
		{
			name: "all succeed",
			calls: []batchCase{
				{name: "a", fn: putCluster("a"), wantRuns: 1},
				{name: "b", fn: putCluster("b"), wantRuns: 1},
				{name: "c", fn: putCluster("c"), wantRuns: 1},
			},
			wantCommits: 1, want: []string{"a", "b", "c", "holder"},
		},
		{
			name: "one fails before writing",
			calls: []batchCase{
				{name: "a", fn: putCluster("a"), wantRuns: 1},
				{name: "refused", fn: func(*Tx) error { return errRefused }, wantErr: errRefused, wantRuns: 1},
				{name: "c", fn: putCluster("c"), wantRuns: 1},
			},
			wantCommits: 1, want: []string{"a", "c", "holder"},
		},
		{
			name: "one fails after writing",
			calls: []batchCase{
				{name: "a", fn: putCluster("a"), wantRuns: 2},
				{name: "half", fn: func(tx *Tx) error {
					if err := putCluster("half")(tx); err != nil {
						return err
					}
					return errRefused
				}, wantErr: errRefused, wantRuns: 2},
				{name: "c", fn: putCluster("c"), wantRuns: 1}, // the group stopped at "half"
			},
			wantCommits: 1, want: []string{"a", "c", "holder"},
		},
		{
			name: "nothing written",
			calls: []batchCase{
				{name: "read", fn: func(tx *Tx) error { _, err := tx.Clusters(); return err }, wantRuns: 1},
				{name: "missing", fn: func(tx *Tx) error { _, err := tx.GetCluster("x"); return err }, wantErr: ErrNotFound, wantRuns: 1},
			},
			wantCommits: 0, want: []string{"holder"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			release := make(chan struct{})
			holding := make(chan struct{})
			holder := make(chan error, 1)
			go func() {
				holder <- s.Batch(func(tx *Tx) error {
					close(holding)
					<-release
					return putCluster("holder")(tx)
				})
			}()
			<-holding
			before := s.Commits()
			runs := make([]atomic.Int32, len(tt.calls))
			errs := make([]error, len(tt.calls))
			var wg sync.WaitGroup
			for i, c := range tt.calls {
				wg.Go(func() {
					errs[i] = s.Batch(func(tx *Tx) error { runs[i].Add(1); return c.fn(tx) })
				})
				waitQueued(t, s, i+1) // in this order
			}
			close(release)
			wg.Wait()
			if err := <-holder; err != nil {
				t.Fatalf("the call holding the writer: %v", err)
			}
			if got := s.Commits() - before; got != 1+tt.wantCommits {
				t.Errorf("%d commits, want %d (the holder's, then %d for the group)", got, 1+tt.wantCommits, tt.wantCommits)
			}
			for i, c := range tt.calls {
				if !errors.Is(errs[i], c.wantErr) || (c.wantErr == nil && errs[i] != nil) {
					t.Errorf("%s: error %v, want %v", c.name, errs[i], c.wantErr)
				}
				if got := runs[i].Load(); got != c.wantRuns {
					t.Errorf("%s: ran %d times, want %d", c.name, got, c.wantRuns)
				}
			}
			if diff := cmp.Diff(tt.want, clusterNames(t, s)); diff != "" {
				t.Errorf("stored clusters (-want +got):\n%s", diff)
			}
		})
	}
}

// waitQueued waits until n calls wait for the next group.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.groupMu.Lock()
		queued := len(s.queue)
		s.groupMu.Unlock()
		if queued >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued after 10 s, want %d", queued, n)
		}
	}
}

// TestBatchAlone: a call with nothing under way commits at once, like Update: its error leaves
// nothing behind, and a call that writes nothing commits nothing.
func TestBatchAlone(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct {
		name    string
		fn      func(*Tx) error
		wantErr error
		commit  bool
	}{
		{"put", putCluster("a"), nil, true},
		{"read only", func(tx *Tx) error { _, err := tx.GetCluster("a"); return err }, nil, false},
		{"put then fail", func(tx *Tx) error {
			if err := putCluster("b")(tx); err != nil {
				return err
			}
			return errRefused
		}, errRefused, false},
	} {
		before := s.Commits()
		runs := 0
		err := s.Batch(func(tx *Tx) error { runs++; return tc.fn(tx) })
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
		}
		if runs != 1 {
			t.Errorf("%s: ran %d times, want once", tc.name, runs)
		}
		if committed := s.Commits() > before; committed != tc.commit {
			t.Errorf("%s: committed %v, want %v", tc.name, committed, tc.commit)
		}
	}
	if diff := cmp.Diff([]string{"a"}, clusterNames(t, s)); diff != "" {
		t.Errorf("stored clusters (-want +got):\n%s", diff)
	}
}

// TestBatchPanic: a panic in fn reaches its caller; the other calls of the group are committed.
func TestBatchPanic(t *testing.T) {
	s := openTest(t)
	release := make(chan struct{})
	holding := make(chan struct{})
	go func() {
		_ = s.Batch(func(tx *Tx) error { close(holding); <-release; return putCluster("holder")(tx) })
	}()
	<-holding
	var wg sync.WaitGroup
	var recovered any
	wg.Go(func() {
		defer func() { recovered = recover() }()
		_ = s.Batch(func(tx *Tx) error {
			if err := putCluster("panicked")(tx); err != nil {
				return err
			}
			panic("boom")
		})
	})
	waitQueued(t, s, 1)
	var err error
	wg.Go(func() { err = s.Batch(putCluster("after")) })
	waitQueued(t, s, 2)
	close(release)
	wg.Wait()
	if fmt.Sprint(recovered) != "boom" || err != nil {
		t.Errorf("recovered %v, want boom; the other call's error %v", recovered, err)
	}
	if diff := cmp.Diff([]string{"after", "holder"}, clusterNames(t, s)); diff != "" {
		t.Errorf("stored clusters (-want +got):\n%s", diff)
	}
}

// TestBatchManyWriters: concurrent calls from many goroutines all land, in fewer commits than
// calls (run with -race).
func TestBatchManyWriters(t *testing.T) {
	s := openTest(t)
	const writers, each = 16, 20
	before := s.Commits()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Batch(putCluster(fmt.Sprintf("c-%02d-%02d", w, i))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := len(clusterNames(t, s)); got != writers*each {
		t.Errorf("%d clusters stored, want %d", got, writers*each)
	}
	if got := s.Commits() - before; got > writers*each {
		t.Errorf("%d commits for %d calls", got, writers*each)
	}
	t.Logf("%d calls in %d commits", writers*each, s.Commits()-before)
}
