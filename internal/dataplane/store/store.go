// Package store keeps the local data plane's state — clusters, task definitions, services, tasks,
// idempotency tokens, the local VPC's address assignments and the secrets of its Secrets Manager
// store — in one bbolt file under the state dir, so a restart (even kill -9) loses nothing. Records
// are JSON: the ECS shapes of package model plus the bookkeeping the data plane needs to re-attach
// to running containers.
//
// Every read-modify-write goes through Update, which bbolt serialises: the API handlers and the
// scheduler may race on the same service or task and neither loses the other's write.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrNotFound is returned by the getters when no record has the key.
var ErrNotFound = errors.New("not found")

var (
	bucketClusters = []byte("clusters")
	bucketTaskDefs = []byte("taskdefs")
	bucketServices = []byte("services")
	bucketTasks    = []byte("tasks")
	bucketTokens   = []byte("tokens")
	bucketMeta     = []byte("meta")
	bucketAddrs    = []byte("addresses")
	bucketSecrets  = []byte("secrets")
	allBuckets     = [][]byte{bucketClusters, bucketTaskDefs, bucketServices, bucketTasks, bucketTokens, bucketMeta, bucketAddrs, bucketSecrets}
)

// Store is the data plane's database.
type Store struct {
	db *bolt.DB
	// commits counts the write transactions committed (Commits).
	commits atomic.Uint64

	// Batch's group commit: the calls waiting for the next group, and whether a caller leads
	// (commits groups until the queue is empty).
	groupMu sync.Mutex
	queue   []*call
	leading bool
}

// Open opens (creating if needed) the database at path. It fails after a few seconds if another
// process holds the file, rather than waiting forever.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 3 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: another nodeless process is using this state dir", path)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialising %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx}) })
}

// Update runs fn in a read-write transaction; fn's writes are committed only when it returns nil.
// A transaction that wrote nothing is rolled back instead of committed: bbolt's commit of an empty
// transaction still writes and fsyncs a meta page (about 0.5 ms), and the scheduler's
// read-modify-write passes often change nothing (bench/README.md: "skip commits that change
// nothing").
func (s *Store) Update(fn func(*Tx) error) error {
	err := s.db.Update(func(btx *bolt.Tx) error {
		tx := &Tx{btx: btx}
		if err := fn(tx); err != nil {
			return err
		}
		if !tx.wrote {
			return errNothingWritten
		}
		return nil
	})
	if errors.Is(err, errNothingWritten) {
		return nil
	}
	if err == nil {
		s.commits.Add(1)
	}
	return err
}

// Commits is how many write transactions this Store committed since Open (each is a write and
// two fsyncs); tests and benchmarks count the transactions a piece of work costs with it.
func (s *Store) Commits() uint64 { return s.commits.Load() }

// errNothingWritten makes Update roll back a transaction that wrote nothing.
var errNothingWritten = errors.New("the transaction wrote nothing")

// Tx is a transaction with typed accessors.
type Tx struct {
	btx *bolt.Tx
	// wrote records a put, a delete or a sequence taken: the transaction must be committed.
	wrote bool
}

func get[T any](tx *Tx, bucket []byte, key string) (*T, error) {
	raw := tx.btx.Bucket(bucket).Get([]byte(key))
	if raw == nil {
		return nil, ErrNotFound
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("decoding %s/%s: %w", bucket, key, err)
	}
	return v, nil
}

func put(tx *Tx, bucket []byte, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s/%s: %w", bucket, key, err)
	}
	tx.wrote = true
	return tx.btx.Bucket(bucket).Put([]byte(key), raw)
}

func del(tx *Tx, bucket []byte, key string) error {
	tx.wrote = true
	return tx.btx.Bucket(bucket).Delete([]byte(key))
}

// each calls fn for every record whose key starts with prefix, in key order, until fn returns false.
func each[T any](tx *Tx, bucket []byte, prefix string, fn func(key string, v *T) bool) error {
	c := tx.btx.Bucket(bucket).Cursor()
	p := []byte(prefix)
	for k, raw := c.Seek(p); k != nil && hasPrefix(k, p); k, raw = c.Next() {
		v := new(T)
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("decoding %s/%s: %w", bucket, k, err)
		}
		if !fn(string(k), v) {
			return nil
		}
	}
	return nil
}

func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}

// NextSequence returns a monotonically increasing number for name (IDs, event IDs).
func (tx *Tx) NextSequence(name string) (uint64, error) {
	tx.wrote = true
	b, err := tx.btx.Bucket(bucketMeta).CreateBucketIfNotExists([]byte("seq/" + name))
	if err != nil {
		return 0, err
	}
	return b.NextSequence()
}
