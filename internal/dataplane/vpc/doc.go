// Package vpc is the local data plane's VPC: a network namespace that nodeless creates and owns
// (StateDir/netns/vpc), holding a Linux bridge with the gateway address of the VPC's subnet. Every
// task's namespace joins it through a veth pair (eth0 in the task, with the address, MAC and default
// route the scheduler assigned), so tasks reach each other directly by IP, as awsvpc tasks in one
// subnet do.
//
// Outbound traffic leaves through a userspace network stack, slirp4netns, attached to the VPC's
// namespace by a tap device: the subnet is masqueraded (nftables, inside the VPC's namespace only)
// to the tap's address, and slirp4netns opens ordinary sockets on the host for it. From inside the
// VPC, HostLoopback (10.0.2.2) is the host's 127.0.0.1 and Nameserver (10.0.2.3) forwards to the
// host's DNS resolver. Nothing on the host changes: no interface, route, sysctl or firewall rule
// outside nodeless's own namespaces.
//
// Lifecycle: Run creates what is missing and keeps what exists (the namespace, bridge, NAT table
// and veth pairs outlive the process, as the task namespaces do), and adopts a slirp4netns that
// is still running for this namespace (after kill -9) or starts one; when ctx ends it stops
// slirp4netns, so outbound access pauses while nodeless is stopped and resumes when it starts again.
// The VPC's namespace stays while a task is attached to it; Run removes it when it ends with none
// (a kill -9 leaves it, and the next Run adopts it).
//
// Spares is a pool of ready task namespaces, already joined to the VPC by a veth pair, that a
// task's start takes instead of making its own (StateDir/netns/spare-*; never reused across
// processes: a new pool first removes what an earlier one left).
//
// Dial opens connections from inside the VPC's namespace to task addresses: probes, port
// forwarding and load balancers of the nodeless process reach tasks this way, and tasks see the
// connection come from the gateway address.
package vpc
