package store

import (
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Batch runs fn in a read-write transaction, as Update does, but shares the transaction — and its
// commit, a write and two fsyncs — with the other Batch calls made while the previous commit was
// under way (group commit). A call made while no transaction of Batch's runs starts one at once;
// calls made meanwhile wait for it and are then committed together, in the order they came. Each
// caller gets its own result: fn's error (its writes are not committed), or the commit's error.
//
// fn may run more than once, so it must only read and write through tx and set what it captures
// afresh on every run: the group's transaction is rolled back and run again without fn when fn
// returns an error after writing (fn then runs again alone, in its own transaction, unless it was
// alone already), and with fn when another call of the group did so. A fn that returns an error
// before writing anything runs once and leaves the others alone. A panic in fn is raised again in
// fn's caller (its writes are not committed; the rest of the group runs again).
//
// Why not bbolt's DB.Batch: it starts a batch only MaxBatchDelay (10 ms by default) after its first
// call, or once MaxBatchSize calls are queued, so a lone writer always waits the delay — about 10 %
// of a task's 100 ms start on this data plane's critical path (bench/README.md, "Faster starts").
// With a short delay the calls that arrive during one commit spread over several batches that
// queue up on bbolt's writer lock. Batch here waits for nothing: a group is whatever queued up
// while the writer was busy.
func (s *Store) Batch(fn func(*Tx) error) error {
	c := &call{fn: fn, done: make(chan outcome, 1)}
	s.groupMu.Lock()
	s.queue = append(s.queue, c)
	lead := !s.leading
	s.leading = true
	s.groupMu.Unlock()
	if !lead {
		o := <-c.done
		if !o.lead {
			return s.finish(c, o)
		}
	}
	s.commitQueued()
	return s.finish(c, <-c.done)
}

// call is one Batch call waiting for its group.
type call struct {
	fn   func(*Tx) error
	done chan outcome
}

// outcome is what a Batch call learns: lead (commit the queued calls now), solo (run fn again
// alone), or its result: err, or the value fn panicked with.
type outcome struct {
	lead, solo bool
	err        error
	panicked   any
}

// finish turns a call's outcome into Batch's result.
func (s *Store) finish(c *call, o outcome) error {
	switch {
	case o.panicked != nil:
		panic(o.panicked)
	case o.solo:
		return s.Update(c.fn)
	}
	return o.err
}

// commitQueued commits every queued call in one group, then hands the lead to the first call that
// queued up meanwhile, or gives it up.
func (s *Store) commitQueued() {
	s.groupMu.Lock()
	calls := s.queue
	s.queue = nil
	s.groupMu.Unlock()
	s.commitGroup(calls)
	s.groupMu.Lock()
	if len(s.queue) > 0 {
		s.queue[0].done <- outcome{lead: true}
	} else {
		s.leading = false
	}
	s.groupMu.Unlock()
}

// commitGroup runs calls in one transaction and tells each its outcome. A call that fails after
// writing is taken out (to run alone; a call that was alone gets its error), and the rest run
// again.
func (s *Store) commitGroup(calls []*call) {
	for len(calls) > 0 {
		failed, failure := -1, outcome{}
		results := make([]outcome, len(calls))
		err := s.db.Update(func(btx *bolt.Tx) error {
			wrote := false
			for i, c := range calls {
				tx := &Tx{btx: btx}
				o := runSafely(c.fn, tx)
				results[i] = o
				switch {
				case o.err == nil && o.panicked == nil:
					wrote = wrote || tx.wrote
				case o.panicked == nil && !tx.wrote:
					// Failed before writing: nothing of it to undo, the others go on.
				default:
					failed, failure = i, o
					return errCallFailed
				}
			}
			if !wrote {
				return errNothingWritten
			}
			return nil
		})
		if failed >= 0 {
			if len(calls) > 1 && failure.panicked == nil {
				failure = outcome{solo: true}
			}
			calls[failed].done <- failure
			calls = slices.Delete(calls, failed, failed+1)
			continue
		}
		if err == nil {
			s.commits.Add(1)
		}
		if errors.Is(err, errNothingWritten) {
			err = nil
		}
		for i, c := range calls {
			if results[i].err != nil {
				c.done <- results[i]
			} else {
				c.done <- outcome{err: err}
			}
		}
		return
	}
}

// errCallFailed rolls back a group whose call failed after writing.
var errCallFailed = errors.New("a call of the group failed after writing")

// runSafely runs fn, turning a panic into an outcome.
func runSafely(fn func(*Tx) error, tx *Tx) (o outcome) {
	defer func() {
		if p := recover(); p != nil {
			o = outcome{panicked: p, err: fmt.Errorf("panic in a store transaction: %v", p)}
		}
	}()
	return outcome{err: fn(tx)}
}
