package cloudmap_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// operationKeys counts the store's operation records ("op/") and index keys ("opt/").
func operationKeys(t *testing.T, st *store.Store) (ops, index int) {
	t.Helper()
	err := st.View(func(tx *store.Tx) error {
		return tx.CloudMapEach("op", func(key string, _ []byte) (bool, error) {
			switch {
			case strings.HasPrefix(key, "op/"):
				ops++
			case strings.HasPrefix(key, "opt/"):
				index++
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return ops, index
}

// TestOperationsBounded: the registry keeps the newest operations only (MaxOperations; 3 here):
// older ones are OperationNotFound, the store holds no more than the bound, operations stored
// before the index existed are pruned too, and a retried CreatePrivateDnsNamespace whose first
// operation was pruned gets a new successful one on the same namespace.
func TestOperationsBounded(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Two operations as a data plane before the bound wrote them: records without index keys.
	err = st.Update(func(tx *store.Tx) error {
		for i := range 2 {
			op := cloudmap.Operation{ID: fmt.Sprint("old-", i), Type: "REGISTER_INSTANCE", Status: "SUCCESS", UpdateDate: &model.Time{}}
			if err := tx.CloudMapPut("op/"+op.ID, op); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := cloudmap.New(st, model.ARNs{Region: "us-east-1", Account: "000000000000"}, nil)
	cloudmap.SetMaxOperations(r, 3)
	in := &cloudmap.CreatePrivateDNSNamespaceInput{Name: "shop.local", Vpc: "vpc-1", CreatorRequestID: "first"}
	created := must[*cloudmap.OperationOutput](t)(r.CreatePrivateDNSNamespace(in)).OperationID
	nsID := must[*cloudmap.GetOperationOutput](t)(r.GetOperation(&cloudmap.GetOperationInput{OperationID: created})).Operation.Targets["NAMESPACE"]
	if ops, index := operationKeys(t, st); ops != 3 || index != 3 {
		t.Errorf("after the first write: %d operations and %d index keys, want 3 and 3 (the 2 old ones indexed once)", ops, index)
	}
	svc := must[*cloudmap.ServiceOutput](t)(r.CreateService(&cloudmap.CreateServiceInput{Name: "web", NamespaceID: nsID,
		DNSConfig: &cloudmap.DNSConfig{DNSRecords: []cloudmap.DNSRecord{{Type: "A", TTL: ptr[int64](10)}}}})).Service
	var ids []string
	for i := range 4 {
		out := must[*cloudmap.OperationOutput](t)(r.RegisterInstance(&cloudmap.RegisterInstanceInput{ServiceID: svc.ID, InstanceID: fmt.Sprint("i", i),
			Attributes: map[string]string{"AWS_INSTANCE_IPV4": fmt.Sprint("10.0.0.", i+1)}}))
		ids = append(ids, out.OperationID)
	}
	found := func(id string) bool {
		_, err := r.GetOperation(&cloudmap.GetOperationInput{OperationID: id})
		var ce *cloudmap.Error
		if err != nil && (!errors.As(err, &ce) || ce.Code != cloudmap.CodeOperationNotFound || !strings.Contains(ce.Message, "newest 3")) {
			t.Errorf("GetOperation %s: %v, want OperationNotFound naming the bound", id, err)
		}
		return err == nil
	}
	got := map[string]bool{"old-0": found("old-0"), "old-1": found("old-1"), "create": found(created)}
	for i, id := range ids {
		got[fmt.Sprint("register-", i)] = found(id)
	}
	want := map[string]bool{"old-0": false, "old-1": false, "create": false, "register-0": false, "register-1": true, "register-2": true, "register-3": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations found (-want +got):\n%s", diff)
	}
	if ops, index := operationKeys(t, st); ops != 3 || index != 3 {
		t.Errorf("the store holds %d operations and %d index keys, want 3 and 3", ops, index)
	}

	retried := must[*cloudmap.OperationOutput](t)(r.CreatePrivateDNSNamespace(in)).OperationID
	op := must[*cloudmap.GetOperationOutput](t)(r.GetOperation(&cloudmap.GetOperationInput{OperationID: retried})).Operation
	if op.Type != "CREATE_NAMESPACE" || op.Status != "SUCCESS" || op.Targets["NAMESPACE"] != nsID {
		t.Errorf("the retried create's operation: %+v, want a successful CREATE_NAMESPACE of %s", op, nsID)
	}
	if again := must[*cloudmap.OperationOutput](t)(r.CreatePrivateDNSNamespace(in)).OperationID; again != retried {
		t.Errorf("a second retry got operation %s, want the kept one %s", again, retried)
	}
}
