// Package scheduler is the local data plane's task lifecycle and ECS service scheduler.
//
// The API server stores what clients ask for (a PROVISIONING task, a service and its deployments)
// and tells the scheduler (TaskCreated, TaskStopRequested, ServiceChanged); the container runtime
// tells it what containers do (Observe). The scheduler turns both into the ECS lifecycle in the
// store: it starts and stops tasks through the runtime, moves lastStatus along PROVISIONING →
// PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED with a new
// version on every change, keeps each service at its desiredCount, rolls deployments within
// minimumHealthyPercent/maximumPercent, trips the deployment circuit breaker, and writes service
// events.
//
// It is level-triggered: every piece of work re-reads the store and acts on what it finds, so a
// notification may be lost or repeated, and a restart (even kill -9) only has to Attach to the
// containers that are still running and look at everything again. Work is keyed per task and per
// service in a work queue, so one task or service is never handled by two workers at once, and no
// store transaction is ever held across a runtime call.
//
// Crash safety rests on one ordering: a task's record (with its ID) is stored before
// runtime.Start is called, and runtime.Start is idempotent by task ID. A crash before Start leaves a
// PROVISIONING record that the next process starts; a crash after Start leaves a record whose
// Start, repeated, finds the same containers. Neither produces a second task for a slot nor a
// container that no record tracks.
package scheduler
