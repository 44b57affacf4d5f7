// Package core holds what the ECS controllers (cluster, taskdefinition, service, task) share:
// their options, Ready/Synced conditions with CamelCase reasons, resolution of clusterRef and
// taskDefinitionRef, deletion policy and adoption annotations, deterministic client tokens, the
// status patch, and a batched poller that describes ECS resources per cluster in as few calls as
// the ECS batch limits allow and wakes up only the objects whose ECS state changed.
package core
