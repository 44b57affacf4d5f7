package pod

import (
	"context"
	"errors"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/podstart"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// keepCurrent keeps the files of a running task's configMap, secret, downwardAPI and projected
// volumes current, as the kubelet does (ADR 0007, "Keeping files current"): when an object they
// read changed (or is not known to be unchanged: after a restart), or a service-account token
// nears its expiry, it computes the files again (podstart.Refresh) and writes each volume into
// the task volume's host directory (Host.VolumeDir, podfiles.Write: the kubelet's atomic layout).
// Without a Host, or where the Host cannot reach a task's volumes (AWS), the files stay as they
// were at start. It returns when to look again (a token's renewal; 0: only on a change).
func (r *Reconciler) keepCurrent(ctx context.Context, pod *corev1.Pod, st *podState, tr *translate.Translation, task *ecstypes.Task) time.Duration {
	if r.opts.Host == nil || tr == nil || st.noVolumeDir || !followsChanges(tr) || !containerRunningAny(task) {
		return 0
	}
	now := r.now()
	current, err := r.objectVersions(ctx, pod.Namespace, tr)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "reading the objects of a pod's files")
		return time.Minute
	}
	due := !st.tokenRefreshAt.IsZero() && !now.Before(st.tokenRefreshAt)
	if st.objects != nil && sameVersions(st.objects, current) && !due {
		return untilPositive(st.tokenRefreshAt, now)
	}
	if err := r.refresh(ctx, pod, st, tr, task); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "keeping a pod's files current")
		return time.Minute
	}
	st.objects = current
	return untilPositive(st.tokenRefreshAt, now)
}

// refresh writes the volumes' current files.
func (r *Reconciler) refresh(ctx context.Context, pod *corev1.Pod, st *podState, tr *translate.Translation, task *ecstypes.Task) error {
	out, err := podstart.Refresh(ctx, pod, tr, r.deps(pod, st))
	var waiting *podstart.Waiting
	if errors.As(err, &waiting) {
		// As the kubelet: a volume whose object went away keeps its files.
		ctrl.LoggerFrom(ctx).Info("files not updated", "reason", waiting.EventReason, "message", waiting.EventMessage)
		return nil
	}
	if err != nil {
		return err
	}
	ht := hostTask(task)
	for _, v := range out.Volumes {
		dir, err := r.opts.Host.VolumeDir(ht, v.Volume)
		if taskhost.IsUnsupported(err) {
			st.noVolumeDir = true
			ctrl.LoggerFrom(ctx).Info("files stay as they were at start: the host cannot reach the task's volumes", "reason", err.Error())
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := podfiles.Write(dir, v.Files, v.FSGroup); err != nil {
			return err
		}
	}
	st.tokenRefreshAt = refreshAt(r.now(), out.TokenExpiry)
	return nil
}

// objectVersions are the resourceVersions of the objects the Pod's files read ("" for a
// missing one), from the cache.
func (r *Reconciler) objectVersions(ctx context.Context, namespace string, tr *translate.Translation) (map[string]string, error) {
	out := map[string]string{}
	for _, ref := range tr.Start.Objects {
		var obj client.Object = &corev1.ConfigMap{}
		if ref.Kind == "Secret" {
			obj = &corev1.Secret{}
		}
		err := r.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, obj)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		out[ref.Kind+"/"+ref.Name] = obj.GetResourceVersion()
	}
	return out, nil
}

func sameVersions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// followsChanges reports whether a volume of the Pod follows its objects' changes.
func followsChanges(tr *translate.Translation) bool {
	for _, v := range tr.Start.Volumes {
		if v.Update {
			return true
		}
	}
	return false
}

func containerRunningAny(task *ecstypes.Task) bool {
	for _, c := range task.Containers {
		if c.LastStatus != nil && *c.LastStatus == statusRunning {
			return true
		}
	}
	return false
}

func untilPositive(t, now time.Time) time.Duration {
	if t.IsZero() || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}
