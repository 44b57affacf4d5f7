// Package controlplane embeds a real Kubernetes control plane in the nodeless binary: etcd
// (go.etcd.io/etcd/server/v3/embed), the kube-apiserver and a node-free subset of the
// kube-controller-manager (k8s.io/kubernetes), each behind component.Component.
//
// Why embedded and not separate binaries: one `nodeless up` command, one version of everything,
// nothing to download (see docs/adr/0001-embedded-control-plane.md).
//
// Layout of a state dir (default ~/.nodeless):
//
//	pki/          CA, serving and client certificates, service-account key pair
//	etcd/         etcd's data dir: every Kubernetes object lives here
//	kubeconfig    admin kubeconfig (system:masters), printed by `nodeless kubeconfig`
//	logs/         the API server's, controller-manager's and etcd's logs
//
// Up starts everything in order (etcd, kube-apiserver, CRDs, kube-controller-manager, then the
// caller's extra components) and stops it in reverse order.
//
// The kube-apiserver and kube-controller-manager keep process-wide state (feature gates, the
// component globals registry, metrics, klog). One control plane can therefore run once per
// process; Up refuses a second start in the same process rather than misbehave.
package controlplane
