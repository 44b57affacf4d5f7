// Package service reconciles Service objects onto ECS services, as the Steps of the reconcile
// skeleton (internal/controller/reconciler).
//
// A Service that references a TaskDefinition object follows its newest revision: the controller
// calls UpdateService once per revision (status.appliedTaskDefinition remembers what it asked
// for, so a circuit-breaker rollback is reported, not fought). Members the spec leaves out are
// whatever ECS defaults them to and are never compared, so a late-initialised default causes no
// write; at steady state the controller makes no ECS write and, thanks to the batched poller,
// no per-object read either. The poller also wakes a Service whenever what ECS reports about it
// changes, so a Service needs no periodic requeue of its own.
package service
