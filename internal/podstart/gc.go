package podstart

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/secretsapi"
)

// ownerKinds are the kinds that own mirror entries: the mirrored objects themselves, and the
// Pods and workload controllers that own Env entries.
var ownerKinds = map[string]schema.GroupVersionKind{
	"Secret":                {Version: "v1", Kind: "Secret"},
	"ConfigMap":             {Version: "v1", Kind: "ConfigMap"},
	"Pod":                   {Version: "v1", Kind: "Pod"},
	"ReplicationController": {Version: "v1", Kind: "ReplicationController"},
	"ReplicaSet":            {Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	"StatefulSet":           {Group: "apps", Version: "v1", Kind: "StatefulSet"},
	"DaemonSet":             {Group: "apps", Version: "v1", Kind: "DaemonSet"},
	"Job":                   {Group: "batch", Version: "v1", Kind: "Job"},
	"CronJob":               {Group: "batch", Version: "v1", Kind: "CronJob"},
}

// OwnerAlive is the predicate secretsapi.Mirror.Orphans needs: whether an entry's owner exists
// with the UID the entry was made for (an object deleted and made again under its name is another
// owner). It reads metadata only. An owner of a kind it does not know is reported alive: an entry
// is never deleted on a guess.
func OwnerAlive(r client.Reader) func(context.Context, secretsapi.Owner) (bool, error) {
	return func(ctx context.Context, o secretsapi.Owner) (bool, error) {
		gvk, ok := ownerKinds[o.Kind]
		if !ok || o.Name == "" {
			return true, nil
		}
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(gvk)
		err := r.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}, obj)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading %s %s/%s: %w", o.Kind, o.Namespace, o.Name, err)
		}
		return obj.UID == o.UID, nil
	}
}
