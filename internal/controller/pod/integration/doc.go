// Package integration tests the Pod controller (internal/controller/pod) black-box on the real
// kube-apiserver (internal/testenv) with the in-memory ECS (internal/dataplane/ecsmem: the data
// plane's own API server, scheduler and secret store, a fake container runtime, fault
// injection): Pods are created bound to a node directly (no scheduler), the controller manager
// runs as `nodeless up` runs it, and the assertions are on the Pods' status and Events and on the
// calls counted at the wire. It holds tests only.
package integration
