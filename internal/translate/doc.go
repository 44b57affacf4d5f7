// Package translate turns a Pod bound to the virtual node into what ECS runs, and an ECS task
// back into the Pod's status. It holds pure functions: no I/O, no clients, no clock (callers pass
// the time). docs/adr/0005-pods-as-ecs-tasks.md records the decisions.
//
// Pod → task (Translate):
//
//   - a RegisterTaskDefinitionInput that is content-addressed: everything per pod is left out of
//     it, so the Pods of one ReplicaSet, or of one Job, produce byte-identical inputs and share one
//     revision. Revision names it: a family (FamilyName: namespace and owner; a Deployment's
//     ReplicaSets share their Deployment's) and a content hash, also in the nodeless.dev/spec-hash
//     tag, by which a controller finds a revision to reuse;
//   - a RunTaskInput with the per-pod values: clientToken (ClientToken, from the Pod's UID),
//     startedBy (StartedBy), tags naming the Pod, and containerOverrides with the environment and
//     command that expand the Pod's own fields (name, namespace, UID, labels, annotations, node
//     name, service account) and HOSTNAME;
//   - a StartPlan: what is resolved when the task starts — the ConfigMaps and Secrets to read,
//     the variables they become, the files of configMap, secret, downwardAPI and projected volumes
//     (the service-account token included), image pull secrets. Never a value: no ConfigMap or
//     Secret data is in a Translation, and ResolveContainer computes a container's environment
//     and command at start with the kubelet's semantics ($(VAR) expansion, optional references,
//     envFrom prefixes, Service link variables);
//   - a NodePlan: what the virtual node does itself because ECS has no member for it — probes
//     (httpGet, tcpSocket and grpc run from outside the container, so images without curl work),
//     lifecycle hooks, activeDeadlineSeconds, hostname, /etc/hosts and DNS, readiness gates, the
//     termination message.
//
// Anything the Pod asks for that nodeless cannot honour is refused, never dropped: Translate
// returns a *RefusedError with every problem (the field's path as Kubernetes prints it, a
// CamelCase reason, what to do). fields.go classifies every field of PodSpec and what hangs off it
// as translated, checked (some values refused), refused or ignored-because (the scheduler's or
// admission's business); a test walks the Go types of k8s.io/api/core/v1 and fails on any field
// that is not classified, so a new Kubernetes release cannot add a silently dropped field.
//
// Task → Pod status (PodStatus): phase, conditions, container statuses with the kubelet's
// reasons, addresses and start time, from a DescribeTasks task and what the node keeps (probe
// results, restart counts, back-off).
//
// Sizes: a container's cpu is its request (else limit) in ECS units (1024 per vCPU, rounded up),
// memory its limit and memoryReservation its request in MiB (rounded up); the task's cpu and
// memory are the smallest Fargate size holding every container at its limit (else request) by
// the Kubernetes rules for init containers, sidecars, Pod-level resources and overhead.
package translate
