package cloudmap

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// MaxOperations is how many operations the local Cloud Map keeps: the newest ones, in the order
// they were recorded (every local operation finishes in the call that starts it).
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

// Store keys of the operations' index: "opt/<sequence number, 20 digits>/<ID>", numbered in the
// order the operations were recorded (store.Tx.NextSequence), so that key order is age order and
// the oldest are found without decoding a record; and the marker saying every operation stored
// has its index key (operations stored before the index existed get theirs, in the order of
// their UpdateDate, at the first write).
const (
	opIndexPrefix   = "opt/"
	opIndexSequence = "cloudmap-operations"
	opIndexedMarker = "meta/operations-indexed"
)

// indexOperation gives the operation id the next index key.
func indexOperation(tx *store.Tx, id string) error {
	n, err := tx.NextSequence(opIndexSequence)
	if err != nil {
		return err
	}
	return tx.CloudMapPut(fmt.Sprintf("%s%020d/%s", opIndexPrefix, n, id), id)
}

// recordOperation stores a finished operation of kind typ on targets, drops the oldest operations
// beyond the registry's bound, and returns the new operation's ID.
func (r *Registry) recordOperation(tx *store.Tx, typ string, targets map[string]string) (string, error) {
	now := r.now()
	op := &Operation{ID: newID("", 32) + "-" + newID("", 8), Type: typ, Status: opSuccess, CreateDate: now, UpdateDate: now, Targets: targets}
	if err := indexOperations(tx); err != nil { // before the new one is stored: it gets one key
		return "", err
	}
	if err := tx.CloudMapPut(opKey(op.ID), op); err != nil {
		return "", err
	}
	if err := indexOperation(tx, op.ID); err != nil {
		return "", err
	}
	return op.ID, r.pruneOperations(tx)
}

// indexOperations gives every operation stored before the index existed its index key, once,
// oldest first (by UpdateDate).
func indexOperations(tx *store.Tx) error {
	done, err := get[bool](tx, opIndexedMarker)
	if err != nil || done != nil {
		return err
	}
	var ops []*Operation
	if err := each(tx, "op/", func(op *Operation) bool { ops = append(ops, op); return true }); err != nil {
		return err
	}
	slices.SortStableFunc(ops, func(a, b *Operation) int { return cmp.Compare(updated(a), updated(b)) })
	for _, op := range ops {
		if err := indexOperation(tx, op.ID); err != nil {
			return err
		}
	}
	return tx.CloudMapPut(opIndexedMarker, true)
}

func updated(op *Operation) int64 {
	if op.UpdateDate == nil {
		return 0
	}
	return op.UpdateDate.UnixNano()
}

// pruneOperations deletes the oldest operations beyond maxOperations (with their index keys).
// It walks the index's keys only (at most maxOperations+1 of them).
func (r *Registry) pruneOperations(tx *store.Tx) error {
	var keys []string
	err := tx.CloudMapEach(opIndexPrefix, func(key string, _ []byte) (bool, error) {
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

// ListOperationsInput is ListOperations' request: Filters (OperationFilter: Name NAMESPACE_ID or
// SERVICE_ID with EQ, STATUS or TYPE with EQ or IN, UPDATE_DATE with BETWEEN a start and an end in
// Unix seconds), MaxResults (1–100, default 100), NextToken.
type ListOperationsInput struct {
	Filters    []Filter `json:"Filters"`
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
}

// OperationSummary is an operation as ListOperations lists it.
type OperationSummary struct {
	ID     string `json:"Id"`
	Status string `json:"Status"`
}

// ListOperationsOutput is ListOperations' answer.
type ListOperationsOutput struct {
	Operations []OperationSummary `json:"Operations"`
	NextToken  string             `json:"NextToken,omitempty"`
}

// ListOperations lists the operations kept (the newest MaxOperations), oldest first, that match
// every filter. An instance operation belongs to the namespace of its service (while that service
// exists).
func (r *Registry) ListOperations(in *ListOperationsInput) (*ListOperationsOutput, error) {
	var ops []*Operation
	namespaceOf := map[string]string{}
	err := r.store.View(func(tx *store.Tx) error {
		if err := each(tx, svcPrefix, func(s *Service) bool { namespaceOf[s.ID] = s.NamespaceID; return true }); err != nil {
			return err
		}
		return tx.CloudMapEach(opIndexPrefix, func(_ string, raw []byte) (bool, error) {
			var id string
			if err := json.Unmarshal(raw, &id); err != nil {
				return false, err
			}
			op, err := get[Operation](tx, opKey(id))
			if op != nil {
				ops = append(ops, op)
			}
			return err == nil, err
		})
	})
	if err != nil {
		return nil, err
	}
	match, err := operationFilter(in.Filters, namespaceOf)
	if err != nil {
		return nil, err
	}
	ops = slices.DeleteFunc(ops, func(op *Operation) bool { return !match(op) })
	items, next, err := page(ops, func(op *Operation) string { return op.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ListOperationsOutput{Operations: make([]OperationSummary, 0, len(items)), NextToken: next}
	for _, op := range items {
		out.Operations = append(out.Operations, OperationSummary{ID: op.ID, Status: op.Status})
	}
	return out, nil
}

// operationEnums are the values a STATUS or TYPE filter may give (Cloud Map API reference:
// OperationSummary.Status and Operation.Type, Valid Values; the OperationFilter page spells
// SUCCESS "SUCCEED", which no operation ever has). The reference says nothing of case: the local
// Cloud Map takes them exactly as spelt there (upper case) and refuses any other spelling, so that
// a filter never silently matches nothing.
var operationEnums = map[string][]string{
	"STATUS": {"SUBMITTED", "PENDING", opSuccess, "FAIL"},
	"TYPE":   {opCreateNamespace, opDeleteNamespace, "UPDATE_NAMESPACE", "UPDATE_SERVICE", opRegisterInstance, opDeregisterInstance},
}

// operationFilter is the conjunction of ListOperations' filters, each checked by Cloud Map's rules
// (OperationFilter: which condition each name takes; STATUS and TYPE values from operationEnums);
// a name given in two filters is refused (InvalidInput naming it), since which of them would
// apply is not documented.
func operationFilter(filters []Filter, namespaceOf map[string]string) (func(*Operation) bool, error) {
	var checks []func(*Operation) bool
	seen := map[string]int{}
	for i, f := range filters {
		if j, dup := seen[f.Name]; dup {
			return nil, invalidInput("Filters[%d].Name: %s is also Filters[%d].Name; give each filter name once (with IN for several %s values)", i, f.Name, j, f.Name)
		}
		seen[f.Name] = i
		if err := checkOperationValues(i, f); err != nil {
			return nil, err
		}
		check, err := operationCheck(i, f, namespaceOf)
		if err != nil {
			return nil, err
		}
		checks = append(checks, check)
	}
	return func(op *Operation) bool {
		for _, c := range checks {
			if !c(op) {
				return false
			}
		}
		return true
	}, nil
}

// checkOperationValues refuses a STATUS or TYPE filter's value outside operationEnums, listing
// the valid ones.
func checkOperationValues(i int, f Filter) error {
	valid, ok := operationEnums[f.Name]
	if !ok {
		return nil
	}
	for j, v := range f.Values {
		if !slices.Contains(valid, v) {
			return invalidInput("Filters[%d].Values[%d]: %q is not an operation %s; give one of %s (upper case, as Cloud Map spells them)",
				i, j, v, strings.ToLower(f.Name), strings.Join(valid, ", "))
		}
	}
	return nil
}

func operationCheck(i int, f Filter, namespaceOf map[string]string) (func(*Operation) bool, error) {
	cond := f.Condition
	if cond == "" {
		cond = "EQ"
	}
	allowed := map[string][]string{"NAMESPACE_ID": {"EQ"}, "SERVICE_ID": {"EQ"}, "STATUS": {"EQ", "IN"}, "TYPE": {"EQ", "IN"}, "UPDATE_DATE": {"BETWEEN"}}
	conds, ok := allowed[f.Name]
	switch {
	case !ok:
		return nil, invalidInput("Filters[%d].Name: must be NAMESPACE_ID, SERVICE_ID, STATUS, TYPE or UPDATE_DATE; got %q", i, f.Name)
	case !slices.Contains(conds, cond):
		return nil, invalidInput("Filters[%d].Condition: %s takes %s; got %q", i, f.Name, strings.Join(conds, " or "), f.Condition)
	case f.Name == "UPDATE_DATE":
		return updateDateCheck(i, f)
	}
	m, err := matcher(i, Filter{Name: f.Name, Values: f.Values, Condition: cond})
	if err != nil {
		return nil, err
	}
	return func(op *Operation) bool {
		switch f.Name {
		case "NAMESPACE_ID":
			ns, ok := op.Targets["NAMESPACE"]
			if !ok {
				ns = namespaceOf[op.Targets["SERVICE"]]
			}
			return m(ns)
		case "SERVICE_ID":
			return m(op.Targets["SERVICE"])
		case "STATUS":
			return m(op.Status)
		}
		return m(op.Type)
	}, nil
}

// updateDateCheck is UPDATE_DATE BETWEEN start and end (Unix seconds, start first), inclusive.
func updateDateCheck(i int, f Filter) (func(*Operation) bool, error) {
	if len(f.Values) != 2 {
		return nil, invalidInput("Filters[%d].Values: UPDATE_DATE BETWEEN takes a start and an end date in Unix seconds; got %d values", i, len(f.Values))
	}
	var bounds [2]float64
	for j, v := range f.Values {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, invalidInput("Filters[%d].Values[%d]: %q is not a date in Unix seconds", i, j, v)
		}
		bounds[j] = n
	}
	if bounds[0] > bounds[1] {
		return nil, invalidInput("Filters[%d].Values: the start date (the first value) must not be after the end date", i)
	}
	return func(op *Operation) bool {
		if op.UpdateDate == nil {
			return false
		}
		t := float64(op.UpdateDate.UnixMilli()) / 1000
		return t >= bounds[0] && t <= bounds[1]
	}, nil
}
