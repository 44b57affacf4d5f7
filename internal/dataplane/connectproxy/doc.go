// Package connectproxy is the local data plane's Service Connect proxy: what ECS's Envoy sidecar
// does for a client task, done once for the whole local VPC (docs/adr/0016-cloud-map-locally.md).
//
// Each Service Connect client alias name has a virtual address (VIP) of its own, from the alias
// range (cloudmap.DefaultAliasCIDR unless configured), kept with the alias in the data plane's
// store. The range is made local to the VPC's network namespace with one AnyIP route, exactly as
// the Kubernetes Services' ClusterIP range is (vpc.VPC.ServeAddresses), and for each port of each
// alias the proxy listens on VIP:port from a socket inside that namespace (vpc.VPC.ListenInVPC):
// a task that resolves the alias (the VPC's DNS server answers its VIP) and connects reaches the
// listener through its default route. Every connection is balanced by a serviceproxy.Pool — the
// one balancer of Kubernetes Services and local load balancers — over the healthy instances of the
// alias's Cloud Map service (the Service Connect registrations of the ECS service's RUNNING, and
// if health-checked HEALTHY, tasks), at their AWS_INSTANCE_PORT, the containerPort of portName,
// which may differ from the alias's port.
//
// The registrations change in the scheduler's transactions, and a task's containers are signalled
// only after the transaction that deregistered it committed. The proxy re-reads the alias's
// registrations before it balances a connection whenever the store committed anything since it
// last read them, so a connection accepted after that commit never goes to the stopping task; its
// open connections drain for the deregistration delay (the Pool's rules). Listeners follow the
// aliases within resyncPeriod (aliases made or given up by CreateService, UpdateService and
// DeleteService). Everything listens inside the VPC's namespace only; nothing is left when the
// process ends.
package connectproxy
