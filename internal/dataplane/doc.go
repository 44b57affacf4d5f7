// Package dataplane assembles nodeless's local data plane: an ECS-compatible API (package api) on
// 127.0.0.1, the service scheduler (package scheduler) and tasks as real containers on a private
// containerd (package runtime), each with its own address in a local VPC (packages vpc and ipam),
// all sharing one store (package store) under the state dir.
//
// Layout of the state dir:
//
//	credentials   the data plane's AWS credentials, profile nodeless (0600)
//	state.db      clusters, task definitions, services, tasks, idempotency tokens, VPC addresses (bbolt)
//	containerd/   the private containerd's config, socket and data; netns/, logs/: the runtime's
//	netns/vpc     the VPC's network namespace; vpc/: its uplink's (slirp4netns) pid file and log
//	dataplane.json  while it serves: its pid, endpoint and region (for `nodeless status`)
//
// New opens the store, loads or generates the credentials and binds the listener (so a port in
// use fails at once, and Endpoint is known before Run); a --vpc-cidr that tasks' addresses do not fit
// fails there too. Run starts the VPC and the runtime, then the scheduler (which re-attaches to
// running tasks), then serves the API; Ready closes when requests are served. Dial reaches tasks'
// addresses from the nodeless process.
//
// Down (`nodeless down`) stops and removes everything a stopped data plane left running under a
// state dir; ReadStatus (`nodeless status`) says what runs there.
package dataplane
