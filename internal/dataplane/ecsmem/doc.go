// Package ecsmem is an ECS endpoint for tests that needs neither root, containerd nor moto: the local
// data plane's own API server and service scheduler (no second ECS implementation), over a store in
// a temporary directory and the fake container runtime, served by net/http/httptest on 127.0.0.1 with
// SigV4 verified, and the aws-sdk-go-v2 ECS client pointed at it. It runs in plain `go test`, -short
// included.
//
//	e := ecsmem.Start(t, ecsmem.Options{})
//	api := ecsapi.NewCounting(e.Client)            // what the controllers are given
//	e.Inject(ecsmem.Throttle(ecsapi.OpUpdateService, 2)) // the next 2 UpdateService are throttled
//	e.Requests(ecsapi.OpUpdateService)              // requests that reached the wire
//	e.Wire().Calls()                                // requests the API server handled, by operation
//
// Options.Clock drives the scheduler (a fake clock makes the wait before a task counts as healthy,
// resync and retention step with the test); Options.HealthyAfterRunning (ECS: 40 s) is short by
// default, so Services are Ready in a second.
//
// Faults, programmed per operation and optionally narrowed by a predicate on the request, as
// karpenter's fake cloud provider programs NextCreateErr, and counted:
//   - on the wire (Inject): an error answer instead of the response (throttling, conflicts, a
//     refused RunTask), optionally after the request took effect (Fault.Land: the write landed, its
//     answer was lost); a synthetic response (RunTask's failures member); a delay (a slow describe).
//     They are real HTTP answers, so the SDK's retryer and nodeless's error mapping see what they
//     would see from ECS.
//   - in the fake runtime (InjectStart): a task that never starts (stays PENDING), a task that
//     fails to start (STOPPED, stopCode TaskFailedToStart, the given stoppedReason).
//
// A fault applies to the next Times matching requests (0: until removed). Of the faults matching a
// request, in the order they were injected, every delay applies (they add up, bounded by MaxDelay)
// and the first that answers (an error or a response) answers; a later one that would answer too
// is left for the next matching request.
//
// Choice of place: the package assembles the data plane's parts (api, scheduler, store,
// fakeruntime) the way package dataplane does with containerd, so it lives beside them; ecsapi,
// the controllers' seam, stays free of any dependency on an ECS implementation. It is importable by
// the tests of every package (internal/controller/..., bench/, test/).
package ecsmem
