package cloudmap

import (
	"fmt"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// MaxOperations is how many operations the local Cloud Map keeps: the newest ones, by the time
// they finished (every local operation finishes in the call that starts it).
//
// The rule and its source: Cloud Map's API reference (GetOperation, ListOperations, Operation)
// documents no lifetime for operations — only that a call returning an OperationId can be
// followed with GetOperation until the operation is done, which clients do within seconds. ECS
// registers and deregisters an instance for every task of a service with serviceRegistries or
// Service Connect, so a long-running data plane makes operations without end; keeping them all
// grew the store without bound. The newest 1000 cover every poll of a running client with room to
// spare (a few hundred bytes each, about 300 KiB in all); an older ID is OperationNotFound, as an
// ID Cloud Map never issued is.
const MaxOperations = 1000

// Store keys of the operations' index: "opt/<UpdateDate in Unix nanoseconds, 20 digits>/<ID>",
// so that key order is age order and the oldest are found without decoding a record, and the
// marker saying every operation stored has its index key (operations stored before the index
// existed get theirs at the first write).
const (
	opTimePrefix    = "opt/"
	opIndexedMarker = "meta/operations-indexed"
)

func opTimeKey(op *Operation) string {
	var nanos int64
	if op.UpdateDate != nil {
		nanos = op.UpdateDate.UnixNano()
	}
	return fmt.Sprintf("%s%020d/%s", opTimePrefix, nanos, op.ID)
}

// recordOperation stores a finished operation of kind typ on targets, drops the oldest operations
// beyond the registry's bound, and returns the new operation's ID.
func (r *Registry) recordOperation(tx *store.Tx, typ string, targets map[string]string) (string, error) {
	now := r.now()
	op := &Operation{ID: newID("", 32) + "-" + newID("", 8), Type: typ, Status: opSuccess, CreateDate: now, UpdateDate: now, Targets: targets}
	if err := tx.CloudMapPut(opKey(op.ID), op); err != nil {
		return "", err
	}
	if err := r.indexOperations(tx); err != nil {
		return "", err
	}
	if err := tx.CloudMapPut(opTimeKey(op), op.ID); err != nil {
		return "", err
	}
	return op.ID, r.pruneOperations(tx)
}

// indexOperations gives every operation stored before the index existed its index key, once.
func (r *Registry) indexOperations(tx *store.Tx) error {
	done, err := get[bool](tx, opIndexedMarker)
	if err != nil || done != nil {
		return err
	}
	var ops []*Operation
	if err := each(tx, "op/", func(op *Operation) bool { ops = append(ops, op); return true }); err != nil {
		return err
	}
	for _, op := range ops {
		if err := tx.CloudMapPut(opTimeKey(op), op.ID); err != nil {
			return err
		}
	}
	return tx.CloudMapPut(opIndexedMarker, true)
}

// pruneOperations deletes the oldest operations beyond maxOperations (with their index keys).
func (r *Registry) pruneOperations(tx *store.Tx) error {
	var keys []string
	err := tx.CloudMapEach(opTimePrefix, func(key string, _ []byte) (bool, error) {
		keys = append(keys, key)
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys[:max(0, len(keys)-r.maxOperations)] {
		if err := tx.CloudMapDelete(opKey(k[strings.LastIndex(k, "/")+1:])); err != nil {
			return err
		}
		if err := tx.CloudMapDelete(k); err != nil {
			return err
		}
	}
	return nil
}

// GetOperationInput is GetOperation's request.
type GetOperationInput struct {
	OperationID string `json:"OperationId"`
}

// GetOperationOutput is GetOperation's answer.
type GetOperationOutput struct {
	Operation *Operation `json:"Operation"`
}

// GetOperation returns an operation; every operation the local Cloud Map started has succeeded.
// One of the newest MaxOperations is found; an older one is OperationNotFound.
func (r *Registry) GetOperation(in *GetOperationInput) (*GetOperationOutput, error) {
	if in.OperationID == "" {
		return nil, invalidInput("OperationId: required; give the OperationId a Create*Namespace, DeleteNamespace, RegisterInstance or DeregisterInstance call returned")
	}
	var op *Operation
	err := r.store.View(func(tx *store.Tx) error {
		var err error
		op, err = get[Operation](tx, opKey(in.OperationID))
		return err
	})
	if err != nil {
		return nil, err
	}
	if op == nil {
		return nil, newError(CodeOperationNotFound, "Operation not found: %s (the local Cloud Map keeps the newest %d operations)", in.OperationID, r.maxOperations)
	}
	return &GetOperationOutput{Operation: op}, nil
}
