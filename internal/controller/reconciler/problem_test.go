package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestProblemResult(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		p       *Problem
		want    ctrl.Result
		wantErr error
	}{
		{"nil is done", nil, ctrl.Result{}, nil},
		{"delay", &Problem{Reason: "Throttled", RequeueAfter: 10 * time.Second}, ctrl.Result{RequeueAfter: 10 * time.Second}, nil},
		{"delay wins over the error", &Problem{RequeueAfter: time.Second, Err: boom}, ctrl.Result{RequeueAfter: time.Second}, nil},
		{"error backs off", &Problem{Err: boom}, ctrl.Result{}, boom},
		{"neither waits for an event", &Problem{Reason: "InvalidSpec"}, ctrl.Result{}, nil},
		{"waiting has a safety net", Waiting("ClusterNotReady", "x"), ctrl.Result{RequeueAfter: time.Minute}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Result()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestAsProblem(t *testing.T) {
	if AsProblem(nil) != nil {
		t.Error("AsProblem(nil) is not nil")
	}
	p := &Problem{Reason: "X"}
	if got := AsProblem(fmt.Errorf("wrapped: %w", p)); got != p {
		t.Errorf("AsProblem of a wrapped Problem = %v, want it", got)
	}
	got := AsProblem(errors.New("boom"))
	if got.Reason != ReasonError || got.Err == nil {
		t.Errorf("AsProblem of a plain error = %+v, want reason %s and the error kept for backoff", got, ReasonError)
	}
}

type nopSteps[T client.Object] struct{}

func (nopSteps[T]) Sync(context.Context, T) *Problem     { return nil }
func (nopSteps[T]) Readiness(T) (Readiness, bool)        { return Readiness{}, false }
func (nopSteps[T]) Finalize(context.Context, T) *Problem { return nil }
func (nopSteps[T]) Forget(types.NamespacedName)          {}

// TestNewNamesWhatIsMissing: a Config without a required field is refused with its name.
func TestNewNamesWhatIsMissing(t *testing.T) {
	status := Status[*corev1.Pod, corev1.PodStatus]{Of: func(p *corev1.Pod) *corev1.PodStatus { return &p.Status }}
	var c client.Client = struct{ client.Client }{}
	tests := []struct {
		name string
		cfg  Config[*corev1.Pod, corev1.PodStatus]
		want string
	}{
		{"no client", Config[*corev1.Pod, corev1.PodStatus]{Finalizer: "f", Status: status}, "Config.Client"},
		{"no finalizer", Config[*corev1.Pod, corev1.PodStatus]{Client: c, Status: status}, "Config.Finalizer"},
		{"no status", Config[*corev1.Pod, corev1.PodStatus]{Client: c, Finalizer: "f"}, "Config.Status.Of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New[*corev1.Pod](nopSteps[*corev1.Pod]{}, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error naming %s", err, tt.want)
			}
		})
	}
	if _, err := New[*corev1.Pod](nopSteps[*corev1.Pod]{}, Config[*corev1.Pod, corev1.PodStatus]{Client: c, Finalizer: "f", Status: status}); err != nil {
		t.Errorf("New with a complete Config: %v", err)
	}
}
