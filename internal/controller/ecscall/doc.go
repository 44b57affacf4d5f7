// Package ecscall holds what every controller that calls ECS needs, whatever it reconciles (the
// ecs.nodeless.dev kinds today, Pods on the virtual node next): how an ECS error becomes a
// reconciler.Problem (condition reason, a message that says what to do, when to retry),
// deterministic client tokens, the tags nodeless puts on what it creates (owner, spec hash), and
// small SDK conversions. It imports no CRD types.
package ecscall
