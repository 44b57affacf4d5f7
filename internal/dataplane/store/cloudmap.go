package store

import (
	"encoding/json"
	"fmt"
)

// bucketCloudMap holds the local Cloud Map's namespaces, services, instances and operations
// (package cloudmap owns the keys and the records' meaning). It is created on the first write,
// so a state dir written before it existed opens unchanged; reads of a missing bucket find
// nothing.
var bucketCloudMap = []byte("cloudmap")

// CloudMapGet decodes the Cloud Map record at key into v, or returns ErrNotFound.
func (tx *Tx) CloudMapGet(key string, v any) error {
	b := tx.btx.Bucket(bucketCloudMap)
	if b == nil {
		return ErrNotFound
	}
	raw := b.Get([]byte(key))
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding %s/%s: %w", bucketCloudMap, key, err)
	}
	return nil
}

// CloudMapPut creates or replaces the Cloud Map record at key.
func (tx *Tx) CloudMapPut(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s/%s: %w", bucketCloudMap, key, err)
	}
	b, err := tx.btx.CreateBucketIfNotExists(bucketCloudMap)
	if err != nil {
		return fmt.Errorf("creating the %s bucket: %w", bucketCloudMap, err)
	}
	tx.wrote = true
	return b.Put([]byte(key), raw)
}

// CloudMapDelete removes the Cloud Map record at key (nothing when there is none).
func (tx *Tx) CloudMapDelete(key string) error {
	b := tx.btx.Bucket(bucketCloudMap)
	if b == nil || b.Get([]byte(key)) == nil {
		return nil
	}
	tx.wrote = true
	return b.Delete([]byte(key))
}

// CloudMapEach calls fn with the raw JSON of every Cloud Map record whose key starts with prefix,
// in key order, until fn returns false or an error (which CloudMapEach returns).
func (tx *Tx) CloudMapEach(prefix string, fn func(key string, raw []byte) (bool, error)) error {
	b := tx.btx.Bucket(bucketCloudMap)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	p := []byte(prefix)
	for k, raw := c.Seek(p); k != nil && hasPrefix(k, p); k, raw = c.Next() {
		more, err := fn(string(k), raw)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
