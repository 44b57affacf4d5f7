// Package ipam hands out the local VPC's IPv4 addresses to tasks and keeps every assignment in the
// data plane's store, keyed by task ID and idempotent: a restarted data plane, even after kill -9,
// finds each task's address where it left it, and an address comes free only when the scheduler
// records, in the same transaction, that the task's runtime was removed.
//
// The VPC has one subnet (Subnet, default DefaultCIDR). Its first address is the gateway (the
// bridge in the VPC's namespace); the network and broadcast addresses are never handed out. Free
// addresses are handed out round-robin from the last one assigned, so an address a stopped task
// just gave back is reused as late as possible (stale ARP and conntrack entries of other tasks
// then point nowhere rather than at a new task). A task's MAC address is derived from its IPv4
// address (MAC), so it too survives restarts without being stored.
package ipam
