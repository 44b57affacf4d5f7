// Package prober runs the readiness, liveness and startup probes of the Pods on the virtual node,
// as the kubelet's prober does (k8s.io/kubernetes/pkg/kubelet/prober), against ECS tasks.
//
// ECS has no member for Kubernetes probes (ADR 0005, "What the node does itself"), so the node runs
// them: httpGet, tcpSocket and grpc from outside the container, through taskhost.Host.Dial to the
// task's address (locally that enters the local VPC, on AWS it dials the task's private IP), so
// they work for images that have no curl; exec inside the container through taskhost.Host.Exec.
//
// # Who does what
//
// The Pod controller (internal/controller/pod) calls Manager.Ensure on every reconcile with the
// Pod's current task, its translate.NodePlan and the start time of every running container, reads
// Manager.Results into translate.NodeState (Ready, Started), watches Manager.Source so that a
// changed result reconciles the Pod, and calls Manager.Remove when the Pod is gone. A liveness or
// startup probe that fails failureThreshold times in a row calls Options.OnLivenessFailure and
// sets Result.Kill; the Pod controller then kills the container (taskhost.Host.Signal: SIGTERM,
// SIGKILL after Kill.GracePeriodSeconds) and records the kubelet's Killing event. With
// Options.Recorder, the Manager records the kubelet's per-probe events itself (Warning
// Unhealthy "Readiness probe failed: ...", Warning ProbeWarning) on the Pod's container, as the
// kubelet's prober does; the Pod controller must then not record Unhealthy events of its own.
//
// # Semantics (the kubelet's, Kubernetes 1.37)
//
//   - A probe is not run before initialDelaySeconds have passed since the container started, then
//     every periodSeconds, each attempt bounded by timeoutSeconds. Its result changes only after
//     successThreshold successes or failureThreshold failures in a row. A probe that could not be
//     run at all (an error, not a failure: say, exec where the Host cannot exec) is tried three
//     times, then its outcome is thrown away: it counts neither way (kubelet's
//     runProbeWithRetries), and Result.Message says why.
//   - httpGet succeeds on a status in 200..399 (kubelet's probe/http, used as a library: a
//     redirect is followed only to the same host; a redirect elsewhere is a success with a
//     ProbeWarning event; the body is read up to 10 KiB; TLS is not verified); User-Agent
//     kube-probe/<major.minor>, Accept */*, unless the probe's headers set them; a Host header
//     sets the request's host. tcpSocket succeeds when the connection opens. grpc calls
//     grpc.health.v1.Health/Check and succeeds on SERVING. exec succeeds on exit code 0 (output
//     up to 10 KiB); a command still running after timeoutSeconds fails.
//   - Readiness and liveness probes do not run until the startup probe succeeded. Startup and
//     liveness probes stop after their result is reached (success for startup, failure for
//     either) until the container's next run.
//   - Readiness is false from the start of a run until successThreshold successes; a container
//     without a readiness probe is ready once it runs and has started. Liveness is healthy until
//     failureThreshold failures.
//   - Results reset when a container runs again: a new task, or a new start time.
//   - A Pod's probes stop with Remove (the Pod is gone). Terminating stops its liveness and
//     startup probes (the kubelet never restarts a container of a Pod being deleted); readiness
//     goes on until Remove.
//   - After a restart of the Manager (the controller restarted), a container that was already
//     running more than 10 s before reports Ready and Started nil until its probes conclude: the
//     Pod controller keeps what the Pod's status said (the kubelet's rule after its own restart,
//     so that a controller restart does not take every Pod out of its Services).
//   - The first probe of every worker waits a random part of its period when the Manager started
//     less than one period ago, so that a restarted controller does not probe every Pod at once
//     (kubelet's worker.run).
//
// # Goroutines
//
// Each probe of each container has one worker goroutine (at most 3 per container: 30 for a Pod
// of ECS's 10 containers), started by Ensure and ended by Ensure (a probe gone), Terminating,
// Remove or the end of Start's context; a probe in flight holds the goroutines of its connection
// until it ends (HTTP: two; gRPC: its client's). Workers never block beyond their probe's timeout
// and stop when told, so Remove returns at once and nothing outlives Start.
package prober
