// Package servicedns is the DNS server of the local VPC: it answers the names of Kubernetes
// Services inside the cluster domain, as the Kubernetes DNS specification defines them
// (github.com/kubernetes/dns, docs/specification.md), and forwards every other name to the host's
// resolvers. Under `nodeless up` every task's resolv.conf names it (docs/adr/0010-service-names.md).
//
// Names (NAMESPACE and NAME of a Service; cluster domain cluster.local):
//   - NAME.NAMESPACE.svc.cluster.local: A/AAAA of a ClusterIP Service's cluster IPs; of a headless
//     Service, the addresses of its ready endpoints (EndpointSlices); a CNAME for an ExternalName
//     Service, followed to addresses for A/AAAA questions.
//   - HOST.NAME.NAMESPACE.svc.cluster.local: a ready endpoint of a headless Service by its hostname
//     (StatefulSet Pods, Pods with hostname and subdomain) or by its address written with dashes.
//   - _PORT._PROTO.NAME.NAMESPACE.svc.cluster.local: SRV of a named port: the Service for a
//     ClusterIP Service, each ready endpoint for a headless one; addresses in the additional section.
//   - A-B-C-D.NAMESPACE.pod.cluster.local: the address it spells (kube-dns's Pod records).
//   - PTR of cluster IPs and of headless endpoints.
//
// A name of the zone that does not exist is NXDOMAIN; an existing name without records of the
// asked type is NODATA (NOERROR, no answer); both carry the zone's SOA, whose minimum TTL (the
// answers' TTL, 5 s by default) bounds negative caching. Not-ready endpoints are never answered,
// nor an address withdrawn by the Pod controller before it stops the Pod's task (View.Withdraw).
//
// Forwarded questions go to the host's resolvers over UDP (TCP when truncated, or when the client
// asked over TCP), each try bounded by 2 s and all by 5 s, then SERVFAIL.
package servicedns
