package v1alpha1

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

func TestTaskStatusMoveDeprecatedMembers(t *testing.T) {
	const arn, cluster, td = "arn:aws:ecs:us-east-1:000000000000:task/c/1", "arn:aws:ecs:us-east-1:000000000000:cluster/c", "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
	tests := []struct {
		name        string
		in, want    TaskStatus
		wantChanged bool
	}{
		{"stored before the rename",
			TaskStatus{DeprecatedTaskARN: arn, DeprecatedClusterARN: cluster, DeprecatedTaskDefinitionARN: td, LastStatus: "STOPPED"},
			TaskStatus{TaskArn: arn, ClusterArn: cluster, TaskDefinitionArn: td, LastStatus: "STOPPED"}, true},
		{"written since", TaskStatus{TaskArn: arn, ClusterArn: cluster}, TaskStatus{TaskArn: arn, ClusterArn: cluster}, false},
		{"both: the new member wins",
			TaskStatus{TaskArn: arn, DeprecatedTaskARN: "arn:aws:ecs:us-east-1:000000000000:task/c/0", DeprecatedClusterARN: cluster},
			TaskStatus{TaskArn: arn, ClusterArn: cluster}, true},
		{"empty", TaskStatus{}, TaskStatus{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			if changed := got.MoveDeprecatedMembers(); changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClusterStatusMoveDeprecatedMembers(t *testing.T) {
	const arn = "arn:aws:ecs:us-east-1:000000000000:cluster/c"
	tests := []struct {
		name        string
		in, want    ClusterStatus
		wantChanged bool
	}{
		{"stored before the rename", ClusterStatus{DeprecatedClusterARN: arn, Status: "ACTIVE"}, ClusterStatus{ClusterArn: arn, Status: "ACTIVE"}, true},
		{"written since", ClusterStatus{ClusterArn: arn}, ClusterStatus{ClusterArn: arn}, false},
		{"both: the new member wins", ClusterStatus{ClusterArn: arn, DeprecatedClusterARN: "arn:aws:ecs:us-east-1:000000000000:cluster/old"}, ClusterStatus{ClusterArn: arn}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			if changed := got.MoveDeprecatedMembers(); changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeprecatedMembersDecodeApart: members whose names differ only in case decode each into its
// own field, with the codec that clients and the informer cache use (apimachinery's, case-sensitive)
// and with encoding/json (which matches a name case-insensitively only when no field has it exactly),
// and encode under their own names.
func TestDeprecatedMembersDecodeApart(t *testing.T) {
	const stored = `{"apiVersion":"ecs.nodeless.dev/v1alpha1","kind":"Task","metadata":{"name":"job"},"spec":{},` +
		`"status":{"taskARN":"old","clusterARN":"old-cluster","taskDefinitionARN":"old-td","taskArn":"new"}}`
	want := TaskStatus{DeprecatedTaskARN: "old", DeprecatedClusterARN: "old-cluster", DeprecatedTaskDefinitionARN: "old-td", TaskArn: "new"}

	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	obj, _, err := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer().Decode([]byte(stored), nil, nil)
	if err != nil {
		t.Fatalf("strict decoding: %v", err)
	}
	if diff := cmp.Diff(want, obj.(*Task).Status); diff != "" {
		t.Errorf("apimachinery codec (-want +got):\n%s", diff)
	}
	var task Task
	if err := json.Unmarshal([]byte(stored), &task); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, task.Status); diff != "" {
		t.Errorf("encoding/json (-want +got):\n%s", diff)
	}

	task.Status.MoveDeprecatedMembers()
	got, err := json.Marshal(task.Status)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"taskArn":"new","clusterArn":"old-cluster","taskDefinitionArn":"old-td"}`, string(got)); diff != "" {
		t.Errorf("encoded after the move (-want +got):\n%s", diff)
	}
}
