// Package integration tests the ECS controllers on the real kube-apiserver (internal/testenv)
// against real ECS endpoints: moto_server (an independent ECS mock) and, when available, the
// local data plane. It holds tests only; they link the embedded control plane, so they live apart
// from the fast unit tests of each controller package.
package integration
