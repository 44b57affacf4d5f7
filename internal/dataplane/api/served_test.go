package api_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestEveryControllerOperationIsServed walks the controllers' ECS interface (ecsapi.API) and calls
// each of its operations on the data plane with an empty request: each must be served (answered, or
// refused for what the request lacks), never UnknownOperationException — the fault of a Cluster
// whose settings patch failed for ever because UpdateClusterSettings was not served. A call added
// to ecsapi.API without a handler here fails this test.
func TestEveryControllerOperationIsServed(t *testing.T) {
	e := newEnv(t)
	api := reflect.TypeFor[ecsapi.API]()
	client := reflect.ValueOf(e.ecs)
	if api.NumMethod() == 0 {
		t.Fatal("ecsapi.API has no methods")
	}
	for i := range api.NumMethod() {
		m := api.Method(i)
		t.Run(m.Name, func(t *testing.T) {
			fn := client.MethodByName(m.Name)
			in := reflect.New(m.Type.In(1).Elem()) // *ecs.XInput, empty
			out := fn.Call([]reflect.Value{reflect.ValueOf(context.Background()), in})
			err, _ := out[1].Interface().(error)
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "UnknownOperationException" {
				t.Errorf("%s is not served by the local data plane: %v", m.Name, err)
			}
		})
	}
}
