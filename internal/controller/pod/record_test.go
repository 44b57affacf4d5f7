package pod

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	arn1 = "arn:aws:ecs:us-east-1:000000000000:task/nodeless/0123456789abcdef0123456789abcdef"
	arn2 = "arn:aws:ecs:us-east-1:000000000000:task/nodeless/fedcba9876543210fedcba9876543210"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, rec := range []Record{
		{TaskArn: arn1},
		{TaskArn: arn2, Run: 3, PreviousTaskArn: arn1},
	} {
		got, err := parseRecord(rec.String())
		if err != nil {
			t.Fatalf("%v: %v", rec, err)
		}
		if diff := cmp.Diff(rec, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestParseRecordRefuses(t *testing.T) {
	for _, msg := range []string{
		"", "run=1", arn1, arn1 + " run=x", arn1 + " run=-1", arn1 + " run=1 color=blue", "task run=1",
	} {
		if _, err := parseRecord(msg); err == nil {
			t.Errorf("parseRecord(%q) accepted", msg)
		}
	}
}

// TestSetRecord: the condition is added once, replaced when the task changes, and keeps its
// transition time while it does not.
func TestSetRecord(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	st := corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	setRecord(&st, Record{TaskArn: arn1}, t0)
	setRecord(&st, Record{TaskArn: arn1}, t1)
	if len(st.Conditions) != 2 || !st.Conditions[1].LastTransitionTime.Equal(&t0) {
		t.Fatalf("after the same record twice: %+v", st.Conditions)
	}
	setRecord(&st, Record{TaskArn: arn2, Run: 1, PreviousTaskArn: arn1}, t1)
	rec, ok, err := recordOf(&st)
	if err != nil || !ok || rec.TaskArn != arn2 || rec.Run != 1 || !st.Conditions[1].LastTransitionTime.Equal(&t1) {
		t.Errorf("after a new task: %+v (%v %v), conditions %+v", rec, ok, err, st.Conditions)
	}
}

func TestClusterAndID(t *testing.T) {
	for arn, want := range map[string][2]string{
		arn1: {"nodeless", "0123456789abcdef0123456789abcdef"},
		"arn:aws:ecs:eu-west-1:1:task/my-cluster/abc": {"my-cluster", "abc"},
		"arn:aws:ecs:eu-west-1:1:task/abc":            {"", "abc"},
	} {
		if got := [2]string{clusterOf(arn), taskID(arn)}; got != want {
			t.Errorf("%s: cluster, id = %q, want %q", arn, got, want)
		}
	}
}
