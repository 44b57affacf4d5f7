package pod

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// Finalize runs while the Pod is being deleted (it has a deletionTimestamp; the API server keeps
// a Pod bound to a node until the node deletes it with grace period 0): the Pod's address is
// withdrawn from the Services' answers (Withdrawers), the preStop hooks run (when a Hooks runs
// them), then StopTask naming the Pod, so that the containers get SIGTERM and, after
// their stopTimeout, SIGKILL. It returns nil once the task is STOPPED (or there is none); the
// skeleton then calls release. The status follows the task meanwhile. A controller restarted
// mid-deletion sees the task's desiredStatus STOPPED and does not stop it again.
//
// No finalizer is held (as a kubelet holds none): a force delete removes the Pod at once, and
// the sweeper stops its task (Forget hands it over at once; the periodic sweep catches what a
// restart lost).
func (r *Reconciler) Finalize(ctx context.Context, pod *corev1.Pod) *reconciler.Problem {
	st := r.pods.of(pod)
	if _, ok := st.record(); !ok {
		return nil
	}
	if r.opts.Probes != nil {
		// The kubelet never restarts a container of a Pod being deleted; readiness goes on.
		r.opts.Probes.Terminating(client.ObjectKeyFromObject(pod))
	}
	task, p := r.observe(ctx, pod, st)
	if p != nil {
		return p
	}
	tr := st.tr
	if tr == nil {
		tr, _ = r.translation(ctx, st, pod)
	}
	if task == nil || isStopped(task) {
		if task != nil {
			r.writeStatus(pod, st, tr, task, false)
		}
		return nil
	}
	// The address leaves the Services' answers before preStop and SIGTERM, as an endpoint of a
	// Pod being deleted stops being ready at once on a cluster.
	r.withdraw(pod, task)
	if hooks := r.opts.Hooks; hooks != nil && tr != nil && st.stopRequested == "" && pod.DeletionTimestamp.After(r.now()) {
		if !hooks.PreStop(client.ObjectKeyFromObject(pod), st.uid, hostTask(task), &tr.Node) {
			r.writeStatus(pod, st, tr, task, false)
			return requeue(time.Second)
		}
	}
	r.writeStatus(pod, st, tr, task, false)
	if stopping := aws.ToString(task.DesiredStatus) == statusStopped || st.stopRequested != ""; !stopping && !r.drained(pod) {
		return requeue(drainPoll)
	}
	if p := r.stopTask(ctx, pod, st, task, fmt.Sprintf("Pod %s/%s deleted in Kubernetes", pod.Namespace, pod.Name)); p != nil && p.Err != nil {
		return p
	}
	return &reconciler.Problem{Reason: "Stopping", Message: "waiting for the task to stop", RequeueAfter: r.opts.PollInterval}
}

// drained reports whether every Options.Withdrawers says the Pod gets no new traffic, or the wait
// is over: DrainTimeout since the deletion began (deletionTimestamp minus the grace period),
// bounded by the grace period itself.
func (r *Reconciler) drained(pod *corev1.Pod) bool {
	if len(r.opts.Withdrawers) == 0 || pod.DeletionTimestamp == nil {
		return true
	}
	limit := r.opts.DrainTimeout
	began := pod.DeletionTimestamp.Time
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		grace := time.Duration(*g) * time.Second
		began = began.Add(-grace)
		limit = min(limit, grace)
	}
	if !r.now().Before(began.Add(limit)) {
		return true
	}
	for _, w := range r.opts.Withdrawers {
		if !w.Drained(pod) {
			return false
		}
	}
	return true
}

// release completes the Pod's deletion once its task stopped, as the kubelet does: a delete
// with grace period 0, for this Pod's UID only.
func (r *Reconciler) release(ctx context.Context, pod *corev1.Pod) error {
	uid := pod.UID
	err := r.client.Delete(ctx, pod, client.GracePeriodSeconds(0), client.Preconditions{UID: &uid})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or another Pod under the name
	}
	return err
}

// Forget drops what the controller remembers of the Pod, which is gone: its poller entry, its
// probes, and its family is marked for revision collection. A Pod removed while its task still
// ran (a force delete) hands the task to the sweeper, which stops it once the API server confirms
// the Pod is gone.
func (r *Reconciler) Forget(key types.NamespacedName) {
	r.poller.Untrack(key)
	if r.opts.Probes != nil {
		r.opts.Probes.Remove(key)
	}
	st := r.pods.remove(key)
	if st == nil {
		return
	}
	if st.family != "" {
		r.registry.Touch(st.family)
	}
	st.mu.Lock()
	rec, has, live := st.rec, st.hasRec, st.live
	st.mu.Unlock()
	if has && live {
		select {
		case r.suspects <- suspect{key: key, uid: st.uid, taskArn: rec.TaskArn}:
		default: // the periodic sweep finds it
		}
	}
}

var _ = corev1.PodRunning
