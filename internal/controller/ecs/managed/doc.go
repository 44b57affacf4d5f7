// Package managed holds what the four ecs.nodeless.dev kinds (Cluster, TaskDefinition, Service,
// Task) share as managed resources (Kubernetes objects standing for ECS resources; the term is
// crossplane's) and that no other controller needs: their Options and defaults, the status
// accessors of their CommonStatus for the reconcile skeleton (internal/controller/reconciler),
// their condition reasons, the resolution of clusterRef and taskDefinitionRef, the deletion
// policy, adoption and read-only annotations, and the translation of their CRD types (tags,
// key/value pairs) into SDK types.
//
// What any ECS caller needs (error → Problem, client tokens, owner tags) is in
// internal/controller/ecscall; what any controller needs is in internal/controller/reconciler
// and internal/controller/poller.
package managed
