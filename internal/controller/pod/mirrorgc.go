package pod

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nodeless-dev/nodeless/internal/secretsapi"
)

// mirrorGC deletes the mirror entry of a ConfigMap or Secret as soon as the manager's cache
// sees the object deleted (and so when its namespace is deleted): a deleted Secret's value does
// not stay in Secrets Manager until the next sweep. Its requests are the deleted objects
// (kind, namespace, name, UID), not their names, so that an object made again under the name
// keeps its entry; Mirror.DeleteOf makes no call for an object it never mirrored.
//
// A task that has not started yet when the entry goes fails to start (ECS's
// ResourceInitializationError: the task cannot fetch its secrets); the Pod shows
// CreateContainerConfigError and, run again, waits with `secret "x" not found`, as a kubelet
// fails a container whose Secret was deleted before it was created. A running task keeps the
// values it started with, as a running container keeps its environment. A delete missed while
// no controller ran is the sweeper's (Mirror.Orphans).
type mirrorGC struct {
	mirror Mirror
}

// registerMirrorGC adds the mirror collector of the node's Pod controller to mgr. It watches the
// ConfigMaps and Secrets the manager's cache already holds for the Pod controller (no watch of
// its own, and only the namespaces the cache holds: entries are made only for the Pods there).
func registerMirrorGC(mgr ctrl.Manager, opts Options) error {
	gc := &mirrorGC{mirror: opts.Mirror}
	err := builder.TypedControllerManagedBy[secretsapi.Owner](mgr).
		Named("mirror-gc-" + opts.NodeName).
		WithOptions(controller.TypedOptions[secretsapi.Owner]{MaxConcurrentReconciles: 1}).
		WithLogConstructor(func(o *secretsapi.Owner) logr.Logger {
			log := mgr.GetLogger().WithValues("controller", "mirror-gc-"+opts.NodeName)
			if o != nil {
				log = log.WithValues("kind", o.Kind, "namespace", o.Namespace, "name", o.Name, "uid", o.UID)
			}
			return log
		}).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), client.Object(&corev1.ConfigMap{}), onDelete(secretsapi.ObjectConfigMap))).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), client.Object(&corev1.Secret{}), onDelete(secretsapi.ObjectSecret))).
		Complete(gc)
	if err != nil {
		return fmt.Errorf("building the mirror collector: %w", err)
	}
	return nil
}

// onDelete enqueues a deleted object of kind as its owner key; other events are ignored.
func onDelete(kind string) handler.TypedEventHandler[client.Object, secretsapi.Owner] {
	return handler.TypedFuncs[client.Object, secretsapi.Owner]{
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[secretsapi.Owner]) {
			if e.Object == nil {
				return
			}
			q.Add(secretsapi.Owner{Kind: kind, Namespace: e.Object.GetNamespace(), Name: e.Object.GetName(), UID: e.Object.GetUID()})
		},
	}
}

// Reconcile deletes the entry of the deleted object o; an error is retried with back-off.
func (gc *mirrorGC) Reconcile(ctx context.Context, o secretsapi.Owner) (reconcile.Result, error) {
	deleted, err := gc.mirror.DeleteOf(ctx, o)
	if err != nil {
		return reconcile.Result{}, err
	}
	if deleted {
		ctrl.LoggerFrom(ctx).Info("deleted the mirror entry of a deleted object")
	}
	return reconcile.Result{}, nil
}
