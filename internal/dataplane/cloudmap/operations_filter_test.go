package cloudmap

import (
	"errors"
	"strings"
	"testing"
)

// TestOperationFilterValues: ListOperations' STATUS and TYPE filters take the values of Cloud
// Map's enums exactly as spelt there, and a filter name is given once; refusals are InvalidInput
// naming the member and listing what to give.
func TestOperationFilterValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		filters []Filter
		want    []string // parts of the InvalidInput message; none when accepted
	}{
		{"every status", []Filter{{Name: "STATUS", Condition: "IN", Values: []string{"SUBMITTED", "PENDING", "SUCCESS", "FAIL"}}}, nil},
		{"every type", []Filter{{Name: "TYPE", Condition: "IN", Values: []string{"CREATE_NAMESPACE", "DELETE_NAMESPACE", "UPDATE_NAMESPACE",
			"UPDATE_SERVICE", "REGISTER_INSTANCE", "DEREGISTER_INSTANCE"}}}, nil},
		{"status and type", []Filter{{Name: "STATUS", Values: []string{"SUCCESS"}}, {Name: "TYPE", Values: []string{"REGISTER_INSTANCE"}}}, nil},
		{"an unknown status", []Filter{{Name: "STATUS", Values: []string{"DONE"}}},
			[]string{`Filters[0].Values[0]: "DONE" is not an operation status; give one of SUBMITTED, PENDING, SUCCESS, FAIL`}},
		{"the filter page's SUCCEED", []Filter{{Name: "STATUS", Condition: "IN", Values: []string{"PENDING", "SUCCEED"}}},
			[]string{`Filters[0].Values[1]: "SUCCEED"`, "SUCCESS"}},
		{"lower case status", []Filter{{Name: "STATUS", Values: []string{"success"}}}, []string{`"success"`, "upper case"}},
		{"an unknown type", []Filter{{Name: "TYPE", Condition: "IN", Values: []string{"CREATE_SERVICE"}}},
			[]string{`Filters[0].Values[0]: "CREATE_SERVICE" is not an operation type; give one of CREATE_NAMESPACE, DELETE_NAMESPACE, UPDATE_NAMESPACE, UPDATE_SERVICE, REGISTER_INSTANCE, DEREGISTER_INSTANCE`}},
		{"a name twice", []Filter{{Name: "STATUS", Values: []string{"SUCCESS"}}, {Name: "TYPE", Values: []string{"UPDATE_SERVICE"}}, {Name: "STATUS", Values: []string{"FAIL"}}},
			[]string{"Filters[2].Name: STATUS is also Filters[0].Name; give each filter name once"}},
		{"a namespace twice", []Filter{{Name: "NAMESPACE_ID", Values: []string{"ns-a"}}, {Name: "NAMESPACE_ID", Values: []string{"ns-b"}}},
			[]string{"Filters[1].Name: NAMESPACE_ID is also Filters[0].Name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := operationFilter(tc.filters, nil)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidInput {
				t.Fatalf("error %v, want %s", err, CodeInvalidInput)
			}
			for _, p := range tc.want {
				if !strings.Contains(e.Message, p) {
					t.Errorf("message %q does not say %q", e.Message, p)
				}
			}
		})
	}
}
