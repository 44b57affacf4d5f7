package controlplane

// controllerChoice is the decision for one kube-controller-manager controller: whether `nodeless
// up` runs it, and why. Every controller of the release is listed (a test holds the list equal to
// kcmapp.KnownControllers()), so an upgrade that brings a new controller fails until someone
// decides it (docs/upgrading-kubernetes.md).
type controllerChoice struct {
	name string
	run  bool
	why  string
}

// controllerChoices decides every controller of kube-controller-manager 1.37 for a control plane
// whose Pods run as ECS tasks on one virtual node (DESIGN.md §4.2): the upstream workload and API
// controllers run unchanged; those that manage nodes, node-local devices or storage stay off.
var controllerChoices = []controllerChoice{
	// Workloads: upstream semantics, unchanged (DESIGN.md §4.2).
	{"deployment-controller", true, "Deployments: rollouts, revision history, rollout undo"},
	{"replicaset-controller", true, "ReplicaSets make the Pods of Deployments"},
	{"replicationcontroller-controller", true, "ReplicationControllers are still core/v1 and in old charts"},
	{"statefulset-controller", true, "stable names and ordered rollouts; volumeClaimTemplates make PVCs that stay Pending (no storage, DESIGN.md §6)"},
	{"job-controller", true, "Jobs: completions, parallelism, indexes, backoff"},
	{"cronjob-controller", true, "CronJobs make Jobs on schedule"},
	{"ttl-after-finished-controller", true, "deletes finished Jobs after ttlSecondsAfterFinished"},
	{"horizontal-pod-autoscaler-controller", true, "HPA scaling on metrics.k8s.io (served by nodeless from task statistics); without it HPAs report FailedGetResourceMetric as on any cluster without metrics-server"},
	{"disruption-controller", true, "PodDisruptionBudget status, which the eviction API reads"},
	{"pod-garbage-collector-controller", true, "deletes terminated Pods above --terminated-pod-gc-threshold and Pods bound to a node that no longer exists (after 40 s): the virtual node must stay registered while it has Pods"},

	// Services.
	{"endpointslice-controller", true, "EndpointSlices from ready Pod IPs: Service names resolve to them"},
	{"endpointslice-mirroring-controller", true, "EndpointSlices for selector-less Services whose Endpoints a user writes"},
	{"endpoints-controller", true, "v1 Endpoints: deprecated since 1.33 for EndpointSlices, still read by older tools and charts"},
	{"service-cidr-controller", true, "ServiceCIDR finalizers and Ready condition; ClusterIPs are allocated from them"},

	// API objects and their life cycle.
	{"namespace-controller", true, "empties and removes deleted namespaces"},
	{"garbage-collector-controller", true, "ownerReferences: Deployment → ReplicaSet → Pod, Job → Pod, foreground and orphan deletion"},
	{"resourcequota-controller", true, "ResourceQuota usage"},
	{"serviceaccount-controller", true, "the default ServiceAccount of every namespace, which Pod admission needs"},
	{"serviceaccount-token-controller", true, "fills Secrets of type kubernetes.io/service-account-token"},
	{"legacy-serviceaccount-token-cleaner-controller", true, "cleans up legacy service-account token Secrets unused for a year"},
	{"root-ca-certificate-publisher-controller", true, "publishes kube-root-ca.crt in every namespace, mounted by every Pod's token volume"},
	{"kube-apiserver-serving-clustertrustbundle-publisher-controller", true, "publishes the API server's CA as a ClusterTrustBundle, for clusterTrustBundle projected volumes"},
	{"clusterrole-aggregation-controller", true, "the aggregated ClusterRoles admin, edit and view pick up the rules of CRDs' roles"},
	{"validatingadmissionpolicy-status-controller", true, "type-checks ValidatingAdmissionPolicies (nodeless installs one) and reports it in their status"},
	{"storage-version-migrator-controller", true, "rewrites stored objects to the current storage version on request (StorageVersionMigration), e.g. after a CRD upgrade"},
	{"certificatesigningrequest-signing-controller", true, "signs approved CSRs of the kubernetes.io/kube-apiserver-client signer with the cluster CA (user client certificates, the documented way); the kubelet signers are left unconfigured"},
	{"certificatesigningrequest-cleaner-controller", true, "deletes old CSRs"},

	// Storage: only what keeps objects deletable. The StorageObjectInUseProtection admission
	// plugin (on by default) puts a finalizer on every PV, PVC and VolumeAttributesClass; without
	// these controllers none of them could ever be deleted.
	{"persistentvolume-protection-controller", true, "removes the pv-protection finalizer once a PV is unused"},
	{"persistentvolumeclaim-protection-controller", true, "removes the pvc-protection finalizer once no Pod uses the PVC"},
	{"volumeattributesclass-protection-controller", true, "removes the vac-protection finalizer once no PVC uses the class"},
	{"persistentvolume-binder-controller", false, "no storage (DESIGN.md §6): nothing to bind or provision; a Pod with an unbound PVC stays Pending and the scheduler says why"},
	{"persistentvolume-expander-controller", false, "no storage (DESIGN.md §6)"},
	{"persistentvolume-attach-detach-controller", false, "node-bound: attaches volumes to nodes"},
	{"ephemeral-volume-controller", false, "generic ephemeral volumes are PVCs and there is no storage; the Pod translation refuses them"},

	// Nodes: there is one virtual node and no kubelet.
	{"daemonset-controller", false, "one Pod per node means nothing without nodes; DaemonSets are refused at admission (ValidatingAdmissionPolicy nodeless-no-daemonsets), and the controller would otherwise put a Pod of a DaemonSet created before the policy on the virtual node"},
	// node-lifecycle-controller (pkg/controller/nodelifecycle/node_lifecycle_controller.go,
	// monitorNodeHealth) marks a node Unknown when its lease is older than
	// --node-monitor-grace-period (50 s), then sets Ready=False on every Pod of the node
	// (MarkPodsNotReady: they leave their Services' EndpointSlices) and taints the node
	// node.kubernetes.io/unreachable:NoExecute (processTaintBaseEviction), after which
	// taint-eviction-controller deletes the Pods once their tolerationSeconds (300 s, added by the
	// DefaultTolerationSeconds admission plugin) run out. The virtual node and its lease live in this
	// process, beside the controller-manager: when the process stalls (a laptop resumed from sleep,
	// a loaded 2-core machine, a long GC pause) the controller sees a lease it did not see renewed
	// and would mark Pods whose tasks run fine NotReady, and evict them; the Pod controller alone
	// writes Pod status from the tasks. Its other duty, removing the not-ready taint that the
	// TaintNodesByCondition admission plugin puts on a new node, is not needed: the plugin is off
	// (apiServerArgs).
	{"node-lifecycle-controller", false, "node-bound: marks the Pods of a node whose lease it did not see renewed NotReady and taints the node NoExecute for eviction; the virtual node's lease lives in this process, so a stall of the process would evict Pods whose tasks run (see the comment above)"},
	{"taint-eviction-controller", true, "evicts Pods from a node a user taints NoExecute (kubectl taint node nodeless ...), honouring tolerationSeconds, as on any cluster; node-lifecycle, which taints nodes on its own, is off. Run beside kube-controller-manager on informers of its own (ControllerManager.runTaintEviction): it needs the Pod index by node that only node-lifecycle adds"},
	{"node-ipam-controller", false, "node-bound: Pod CIDRs per node; the local VPC gives every task its address (ADR 0008)"},
	{"ttl-controller", false, "node-bound: sets the TTL of kubelets' ConfigMap and Secret caches on nodes; no kubelet"},
	{"certificatesigningrequest-approving-controller", false, "approves only kubelet client-certificate CSRs (node bootstrap and rotation); no kubelet"},
	{"bootstrap-signer-controller", false, "node bootstrap tokens (kubeadm join); off by default upstream; no node joins"},
	{"token-cleaner-controller", false, "node bootstrap tokens; off by default upstream"},
	{"selinux-warning-controller", false, "off by default upstream; SELinux label conflicts of volumes on one node"},
	{"podcertificaterequest-cleaner-controller", false, "PodCertificateRequests are made by kubelets for podCertificate projected volumes, which the virtual node does not serve"},
	{"resourceclaim-controller", false, "Dynamic Resource Allocation hands node-local devices to Pods through kubelet plugins; there are none (the Pod translation refuses resourceClaims)"},
	{"resourcepoolstatusrequest-controller", false, "Dynamic Resource Allocation (alpha gate, off)"},
	{"device-taint-eviction-controller", false, "Dynamic Resource Allocation: evicts Pods from tainted devices; no devices"},
	{"podgroup-protection-controller", false, "workload-aware (gang) scheduling API, behind the GenericWorkload gate (beta, off by default in 1.37)"},
	{"storageversion-garbage-collector-controller", false, "needs the StorageVersionAPI gate (alpha, off); one API server"},
}

// DefaultControllers returns the kube-controller-manager controllers `nodeless up` runs (a new
// slice on each call): every one of controllerChoices that is on. The reasons, and why the others
// stay off, are written next to each in controllers.go.
func DefaultControllers() []string {
	var names []string
	for _, c := range controllerChoices {
		if c.run {
			names = append(names, c.name)
		}
	}
	return names
}
