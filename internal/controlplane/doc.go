// Package controlplane embeds a real Kubernetes control plane in the nodeless binary: etcd
// (go.etcd.io/etcd/server/v3/embed), the kube-apiserver, the kube-controller-manager with the
// upstream workload controllers, and the kube-scheduler (k8s.io/kubernetes), each behind
// component.Component.
//
// Why embedded and not separate binaries: one `nodeless up` command, one version of everything,
// nothing to download (see docs/adr/0001-embedded-control-plane.md). Why the upstream workload
// controllers and scheduler: Deployments, Jobs, CronJobs, StatefulSets, HPAs and PDBs then mean
// exactly what they mean on any cluster, and nodeless only contributes what a node does (DESIGN.md
// §4.2). controllers.go decides every controller of the release, with the reason next to each;
// node-lifecycle-controller is off, and so is the TaintNodesByCondition admission plugin whose
// not-ready taint only that controller removes (options.go).
//
// Layout of a state dir (default ~/.nodeless):
//
//	pki/          CA, serving and client certificates, service-account key pair, the
//	              components' kubeconfigs, and the virtual node's kubelet API certificates
//	              (CAFile, KubeletServingCert, APIServerKubeletClientCert)
//	etcd/         etcd's data dir: every Kubernetes object lives here
//	kubeconfig    admin kubeconfig (system:masters), printed by `nodeless kubeconfig`
//	logs/         the API server's, controller-manager's, scheduler's and etcd's logs
//
// Up starts everything in order (etcd, kube-apiserver, the cluster objects — the DaemonSet
// refusal policy and an RBAC binding —, CRDs, kube-controller-manager, kube-scheduler, the
// renewal of the kubelet API's certificates, then the caller's extra components) and stops it in
// reverse order. No node is needed for Up to be ready: Pods wait, unscheduled, with
// FailedScheduling events, until a node is registered.
//
// The virtual node's kubelet API (logs, exec, attach, port-forward) is called by the API server
// at the node's InternalIP with the client certificate APIServerKubeletClientCert, and verified
// with CAFile; the node serves it with KubeletAPITLSConfig, which reloads the serving certificate
// that Up keeps valid.
//
// The kube-apiserver, kube-controller-manager and kube-scheduler keep process-wide state (feature
// gates, the component globals registry, metrics, klog, informer names). One control plane can
// therefore run once per process; Up refuses a second start in the same process rather than
// misbehave.
package controlplane
