// Package virtualnode is the virtual node "nodeless" (DESIGN.md §4.2, docs/virtual-node.md): the one Node that
// the scheduler binds Pods to, kept Ready with a Lease, and the kubelet API served on it (logs,
// exec, attach, port-forward), built on the virtual-kubelet library
// (github.com/virtual-kubelet/virtual-kubelet: node.NodeController with the v1 lease controller,
// node/api for the kubelet's HTTP routes, node/nodeutil for the API server's authentication).
//
// Two parts, each a component.Component:
//
//   - Node registers the Node and keeps it current: labels from translate.NodeLabels, the taint
//     translate.NodeTaint on an existing cluster, capacity and allocatable from Options, nodeInfo,
//     addresses and the kubelet endpoint's port; conditions Ready (KubeletReady, or
//     DataPlaneUnreachable while Options.Health fails) and MemoryPressure, DiskPressure and
//     PIDPressure False, as a kubelet reports them. The Lease in kube-node-lease is renewed every
//     10 s (40 s duration), the status every 5 minutes or on a change, as the kubelet does. A
//     clean stop leaves the Node and its Lease: the Node goes NotReady when the Lease expires, as a
//     stopped kubelet's does.
//   - Server is the kubelet API over TLS. Every request is authenticated by the API server (client
//     certificates of the cluster CA; bearer tokens by TokenReview) and authorized by it
//     (SubjectAccessReview on nodes/proxy, nodes/log, ...), as the kubelet's webhook mode does;
//     anonymous requests are refused (401). Each request names a Pod and a container; PodTasks
//     says which ECS task runs that Pod (the Pod controller implements it) and taskhost.Host
//     reaches the task (the local data plane, or AWS).
//
// On an existing cluster Pods opt in to the tainted node by toleration and node selector, or by
// the namespace label NamespaceOptInLabel, which EnsureNamespaceOptIn turns into a
// MutatingAdmissionPolicy. Under `nodeless up` (Options.NotReadyTaint) the node keeps the
// not-ready taint in step with Ready itself, as no node lifecycle controller runs there.
package virtualnode
