package integration

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// podSteps is a recording Steps for Pods: what a Pod controller would do, with no
// metav1.Condition list to report into (Status.Conditions nil): Sync writes the Pod's status
// itself.
type podSteps struct {
	syncs, finalizes int
	forgotten        []types.NamespacedName
}

func (s *podSteps) Sync(_ context.Context, pod *corev1.Pod) *reconciler.Problem {
	s.syncs++
	pod.Status.Message = "task starting"
	return nil
}

func (s *podSteps) Readiness(*corev1.Pod) (reconciler.Readiness, bool) {
	return reconciler.Readiness{}, true
}

func (s *podSteps) Finalize(context.Context, *corev1.Pod) *reconciler.Problem {
	s.finalizes++
	return nil
}

func (s *podSteps) Forget(key types.NamespacedName) { s.forgotten = append(s.forgotten, key) }

// TestPodKind: the skeleton reconciles a core kind whose status has no Ready/Synced conditions.
func TestPodKind(t *testing.T) {
	e := start(t)
	st := &podSteps{}
	r, err := reconciler.New[*corev1.Pod](st, reconciler.Config[*corev1.Pod, corev1.PodStatus]{
		Client: e.rc, Reader: e.direct, Finalizer: finalizer,
		Status: reconciler.Status[*corev1.Pod, corev1.PodStatus]{Of: func(p *corev1.Pod) *corev1.PodStatus { return &p.Status }},
	})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: e.ns}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}},
		// No scheduler serves this name: kube-scheduler would otherwise write PodScheduled=False
		// (no node) at any moment, and a status patch racing it conflicts and is made again.
		SchedulerName: unscheduled,
	}}
	createPod(e, pod)
	for range 2 {
		if _, err := e.reconcile(r, pod); err != nil {
			t.Fatal(err)
		}
	}
	e.fetch(pod)
	if pod.Status.Message != "task starting" || !cmp.Equal(pod.Finalizers, []string{finalizer}) {
		t.Errorf("pod status message %q, finalizers %v; want the message and the finalizer", pod.Status.Message, pod.Finalizers)
	}
	if _, sp := e.writes.counts(); sp != 1 {
		t.Errorf("status patches = %d, want 1", sp)
	}
	if err := e.direct.Delete(e.ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reconcile(r, pod); err != nil {
		t.Fatal(err)
	}
	if err := e.direct.Get(e.ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod still there after Finalize: %v", err)
	}
	if st.finalizes != 1 || len(st.forgotten) != 1 {
		t.Errorf("finalizes %d, forgotten %v; want 1 and the pod", st.finalizes, st.forgotten)
	}
}

// unscheduled is a schedulerName no scheduler serves: the Pods of these tests are written by the
// Reconciler under test only.
const unscheduled = "nodeless.dev/no-scheduler"

// createPod creates pod, waiting for the namespace's default ServiceAccount that the
// ServiceAccount admission plugin requires (the controller manager creates it right after the
// namespace).
func createPod(e *env, pod *corev1.Pod) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := e.direct.Create(e.ctx, pod.DeepCopy())
		if err == nil {
			e.fetch(pod)
			return
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			e.t.Fatalf("creating pod: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// releaseSteps finalizes a Pod in two passes: the first reports the task still stopping (and
// writes it into the status), the second is done.
type releaseSteps struct {
	podSteps
	stopping bool
}

func (s *releaseSteps) Finalize(_ context.Context, pod *corev1.Pod) *reconciler.Problem {
	s.finalizes++
	if s.stopping {
		s.stopping = false
		pod.Status.Message = "stopping"
		return &reconciler.Problem{Reason: "Stopping", Message: "the task is stopping", RequeueAfter: time.Second}
	}
	return nil
}

// TestPodRelease: a kind configured with Release holds no finalizer; a Pod bound to a node stays
// through its graceful deletion, Finalize runs until it is done (its status written meanwhile),
// and Release deletes it with grace period 0.
func TestPodRelease(t *testing.T) {
	e := start(t)
	st := &releaseSteps{stopping: true}
	release := func(ctx context.Context, pod *corev1.Pod) error {
		err := e.direct.Delete(ctx, pod, client.GracePeriodSeconds(0), client.Preconditions{UID: &pod.UID})
		return client.IgnoreNotFound(err)
	}
	if _, err := reconciler.New[*corev1.Pod](st, reconciler.Config[*corev1.Pod, corev1.PodStatus]{
		Client: e.rc, Finalizer: finalizer, Release: release,
		Status: reconciler.Status[*corev1.Pod, corev1.PodStatus]{Of: func(p *corev1.Pod) *corev1.PodStatus { return &p.Status }},
	}); err == nil {
		t.Error("New accepted both a Finalizer and Release")
	}
	r, err := reconciler.New[*corev1.Pod](st, reconciler.Config[*corev1.Pod, corev1.PodStatus]{
		Client: e.rc, Reader: e.direct, Release: release,
		Status: reconciler.Status[*corev1.Pod, corev1.PodStatus]{Of: func(p *corev1.Pod) *corev1.PodStatus { return &p.Status }},
	})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bound", Namespace: e.ns}, Spec: corev1.PodSpec{
		NodeName:   "some-node",
		Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}},
	}}
	createPod(e, pod)
	if _, err := e.reconcile(r, pod); err != nil {
		t.Fatal(err)
	}
	e.fetch(pod)
	if len(pod.Finalizers) != 0 {
		t.Errorf("finalizers %v, want none", pod.Finalizers)
	}
	if err := e.direct.Delete(e.ctx, pod); err != nil {
		t.Fatal(err)
	}
	res, err := e.reconcile(r, pod)
	if err != nil || res.RequeueAfter != time.Second {
		t.Fatalf("first pass: %+v, %v; want a requeue after a second", res, err)
	}
	e.fetch(pod)
	if pod.DeletionTimestamp == nil || pod.Status.Message != "stopping" {
		t.Errorf("during deletion: deletionTimestamp %v, status message %q; want both set", pod.DeletionTimestamp, pod.Status.Message)
	}
	if _, err := e.reconcile(r, pod); err != nil {
		t.Fatal(err)
	}
	if err := e.direct.Get(e.ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod still there after Release: %v", err)
	}
	if st.finalizes != 2 || len(st.forgotten) != 1 {
		t.Errorf("finalizes %d, forgotten %v; want 2 and the pod", st.finalizes, st.forgotten)
	}

	// The cache has not seen the deletion yet: a reconcile of the copy it still holds neither
	// finalizes (a second StopTask) nor releases again.
	e.get = func(_ client.ObjectKey, obj client.Object) error {
		pod.DeepCopyInto(obj.(*corev1.Pod))
		return nil
	}
	defer func() { e.get = nil }()
	if res, err := e.reconcile(r, pod); err != nil || res != (reconcile.Result{}) {
		t.Errorf("reconcile of the stale copy = %+v, %v; want done", res, err)
	}
	if st.finalizes != 2 {
		t.Errorf("finalizes %d after a reconcile of the stale copy, want still 2", st.finalizes)
	}
}
