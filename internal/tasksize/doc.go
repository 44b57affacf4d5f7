// Package tasksize holds the size of an ECS task in one place: the grammar RegisterTaskDefinition
// accepts for task-level cpu and memory (ParseCPU, ParseMemory), and the cpu/memory pairs Fargate
// runs (the Fargate* functions). The data plane validates with it, the runtime sizes containers
// with it, and a test of the CRD types holds their CEL rule equal to its table.
//
// Source of both: the ECS API reference of RegisterTaskDefinition (members cpu and memory, as in
// the ECS service model, service-2.json) and the "Task size" table of the ECS Developer Guide.
//
// It is a leaf package (standard library only), so that api/ecs/v1alpha1's tests and any part of
// nodeless can use it without pulling in the data plane.
package tasksize
