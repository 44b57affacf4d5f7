package managed

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// TestDeletesECSResource: deletion policy (annotation, then the controller's default) and
// read-only (annotation or controller) decide whether Finalize touches ECS.
func TestDeletesECSResource(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		opts        Options
		want        bool
	}{
		{"default delete", nil, Options{}.WithDefaults(), true},
		{"controller retains", nil, Options{DeletionPolicy: ecsv1alpha1.DeletionPolicyRetain}, false},
		{"annotation retains", map[string]string{ecsv1alpha1.AnnotationDeletionPolicy: "Retain"}, Options{}.WithDefaults(), false},
		{"annotation deletes despite the controller", map[string]string{ecsv1alpha1.AnnotationDeletionPolicy: "delete"},
			Options{DeletionPolicy: ecsv1alpha1.DeletionPolicyRetain}, true},
		{"unknown annotation value: the controller's", map[string]string{ecsv1alpha1.AnnotationDeletionPolicy: "orphan"}, Options{}.WithDefaults(), true},
		{"the other controllers' annotation retains", map[string]string{ecsv1alpha1.AnnotationACKDeletionPolicy: "retain"}, Options{}.WithDefaults(), false},
		{"the other controllers' annotation deletes despite the controller", map[string]string{ecsv1alpha1.AnnotationACKDeletionPolicy: "delete"},
			Options{DeletionPolicy: ecsv1alpha1.DeletionPolicyRetain}, true},
		{"the two annotations disagree: retain wins", map[string]string{ecsv1alpha1.AnnotationDeletionPolicy: "delete",
			ecsv1alpha1.AnnotationACKDeletionPolicy: "retain"}, Options{}.WithDefaults(), false},
		{"read-only object", map[string]string{ecsv1alpha1.AnnotationReadOnly: "true"}, Options{}.WithDefaults(), false},
		{"read-only controller", nil, Options{ReadOnly: true}.WithDefaults(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: tt.annotations}}
			if got := DeletesECSResource(obj, tt.opts); got != tt.want {
				t.Errorf("DeletesECSResource = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOptionsWithDefaults(t *testing.T) {
	want := Options{DeletionPolicy: ecsv1alpha1.DeletionPolicyDelete, KeepRevisions: 3, PollInterval: 5 * time.Second,
		StablePollInterval: time.Minute, Workers: 4}
	if diff := cmp.Diff(want, Options{KeepRevisions: -1}.WithDefaults()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	set := Options{DeletionPolicy: ecsv1alpha1.DeletionPolicyRetain, KeepRevisions: 1, PollInterval: time.Second,
		StablePollInterval: time.Second, Workers: 1, ReadOnly: true}
	if diff := cmp.Diff(set, set.WithDefaults()); diff != "" {
		t.Errorf("set fields changed (-want +got):\n%s", diff)
	}
}
