package managed

// NormalizeAliases is the ECS kinds' part of the controllers' informer transform
// (k8s.io/client-go/tools/cache.TransformFunc): an object that has aliases (Cluster, Service,
// TaskDefinition, Task: the spellings of AWS's ECS controller for Kubernetes, see
// api/ecs/v1alpha1/aliases.go) has them moved into the ECS members they stand for before the cache
// stores it. So every reader of the cache — reconcilers, reference indexers, watch handlers,
// reference resolution — sees one spelling, and no controller code knows the aliases. Other
// objects pass unchanged. It never fails.
//
// Writes are unaffected: the reconcile loop writes finalizers and status with merge patches
// computed between two copies of the cached object, which never carry the spec, so the stored
// spec keeps the spelling its author wrote.
func NormalizeAliases(obj any) (any, error) {
	if a, ok := obj.(interface{ NormalizeAliases() }); ok {
		a.NormalizeAliases()
	}
	return obj, nil
}
