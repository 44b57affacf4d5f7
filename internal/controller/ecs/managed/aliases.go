package managed

// NormalizeAliases moves the aliases of an ECS kind's members (Cluster, Service, TaskDefinition,
// Task: the spellings of AWS's ECS controller for Kubernetes, see api/ecs/v1alpha1/aliases.go)
// into the members they stand for; other objects pass unchanged. It never fails.
//
// It runs in two places, so that no controller code knows the aliases: as part of the
// controllers' informer transform (k8s.io/client-go/tools/cache.TransformFunc), so every reader
// of the cache — reconcilers, reference indexers, watch handlers, reference resolution — sees one
// spelling; and as the reconcile loop's Prepare (Config), since a write's response (the finalizer
// patch) replaces the object a step is given with what the API server stores.
//
// Writes are unaffected: the reconcile loop writes finalizers and status with merge patches
// computed between two copies of the object, which never carry the spec, so the stored spec keeps
// the spelling its author wrote.
func NormalizeAliases(obj any) (any, error) {
	if a, ok := obj.(interface{ NormalizeAliases() }); ok {
		a.NormalizeAliases()
	}
	return obj, nil
}
