package translate

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// disposition says what nodeless does with a field of the Kubernetes API.
type disposition int

const (
	// descend: a struct whose own fields are classified one by one.
	descend disposition = iota + 1
	// translated: honoured; the rule's note says where it goes.
	translated
	// checked: honoured for some values, refused by name for others (the note says which).
	checked
	// refused: any value other than the zero value is refused by name.
	refused
	// ignored: meaningful to something else than a node (the scheduler, admission, the API
	// server), so a task has nothing to do with it; the note says why.
	ignored
)

// fieldRule classifies one field: key "Type.jsonName" (Container.securityContext).
type fieldRule struct {
	what disposition
	// note: where it goes (translated, checked), why (ignored), what to do (refused).
	note string
	// reason of the Problem for a refused field.
	reason string
}

// rootType is where the classification starts; every field reachable through descend rules is
// classified (TestEveryPodFieldIsClassified).
var rootType = reflect.TypeFor[corev1.PodSpec]()

const (
	volumeNote    = "not available to an ECS task; use emptyDir, configMap, secret, downwardAPI or projected volumes, or keep the Pod off the virtual node"
	schedulerNote = "the scheduler's: it decided to bind the Pod to the virtual node; a task has nothing to do with it"
)

// fieldRules returns the classification of every field of a PodSpec nodeless knows about.
var fieldRules = sync.OnceValue(func() map[string]fieldRule {
	r := map[string]fieldRule{}
	add := func(typ string, what disposition, note string, fields ...string) {
		for _, f := range fields {
			r[typ+"."+f] = fieldRule{what: what, note: note}
		}
	}
	refuse := func(typ, reason, note string, fields ...string) {
		for _, f := range fields {
			r[typ+"."+f] = fieldRule{what: refused, note: note, reason: reason}
		}
	}
	podSpecRules(add, refuse)
	containerRules(add, refuse)
	securityRules(add, refuse)
	volumeRules(add, refuse)
	return r
})

type addFunc func(typ string, what disposition, note string, fields ...string)
type refuseFunc func(typ, reason, note string, fields ...string)

func podSpecRules(add addFunc, refuse refuseFunc) {
	add("PodSpec", descend, "", "volumes", "initContainers", "containers", "securityContext", "affinity", "resources")
	add("PodSpec", checked, "restartPolicy: container restartPolicy (Always: enabled; OnFailure: enabled, ignoredExitCodes [0]; Never: none) and the node's re-runs; several containers under OnFailure or Never are refused", "restartPolicy")
	add("PodSpec", checked, "containers' stopTimeout, clamped to ECS's 2..120 with a warning; the node's StopTask grace", "terminationGracePeriodSeconds")
	add("PodSpec", translated, "the node stops the task after it (NodePlan.ActiveDeadlineSeconds; reason DeadlineExceeded)", "activeDeadlineSeconds")
	add("PodSpec", translated, "RunTask tags nodeless.dev/dns-* (kubelet rules: ClusterFirst search list and ndots:5, dnsConfig merged) from which the local data plane writes resolv.conf (ADR 0010); ECS dnsServers/dnsSearchDomains are not available in awsvpc mode, so on AWS the task keeps the VPC resolver", "dnsPolicy", "dnsConfig")
	add("PodSpec", checked, "checked against the virtual node's labels (NodeLabels); refused when they do not match", "nodeSelector")
	add("PodSpec", translated, "the downward API value spec.serviceAccountName; the token itself arrives as the projected volume admission added", "serviceAccountName")
	add("PodSpec", ignored, "deprecated alias of serviceAccountName, which the API server keeps equal", "serviceAccount")
	add("PodSpec", ignored, "the ServiceAccount admission plugin already turned it into (or kept out) the projected token volume, which is translated", "automountServiceAccountToken")
	add("PodSpec", checked, "must be the virtual node's name (else refused); the downward API value spec.nodeName (per pod, in RunTask overrides)", "nodeName")
	refuse("PodSpec", ReasonHostNamespace, "a task has no host whose namespace it could share; remove it", "hostNetwork", "hostPID", "hostIPC")
	add("PodSpec", translated, "pidMode task", "shareProcessNamespace")
	add("PodSpec", translated, "StartPlan.ImagePullSecrets, resolved when the task starts (ECS repositoryCredentials)", "imagePullSecrets")
	add("PodSpec", translated, "per pod: NodePlan.Hostname/Subdomain and HOSTNAME in RunTask overrides (ECS hostname is not available in awsvpc mode)", "hostname", "subdomain", "setHostnameAsFQDN", "hostnameOverride")
	add("PodSpec", ignored, schedulerNote, "schedulerName", "tolerations", "priorityClassName", "priority", "preemptionPolicy", "topologySpreadConstraints", "schedulingGates", "schedulingGroup")
	add("PodSpec", ignored, "who answers an eviction request (alpha EvictionRequest API) is the business of the eviction-request controller and the responders, not of the task", "evictionResponders")
	add("PodSpec", translated, "the node writes them into /etc/hosts (NodePlan.HostAliases); ECS extraHosts is not available in awsvpc mode", "hostAliases")
	add("PodSpec", translated, "Ready waits for them (NodePlan.ReadinessGates, PodStatus)", "readinessGates")
	refuse("PodSpec", ReasonFieldNotSupported, "a RuntimeClass selects a node's container runtime handler; ECS picks its own: remove it", "runtimeClassName")
	add("PodSpec", translated, "StartPlan.ServiceLinks: Service link variables at start", "enableServiceLinks")
	add("PodSpec", translated, "added to the task's size (Kubernetes counts it in the Pod's requests)", "overhead")
	add("PodSpec", checked, "linux: runtimePlatform.operatingSystemFamily LINUX; windows is refused", "os")
	add("PodSpec", checked, "true or unset: the default; false (a user namespace) is refused", "hostUsers")
	refuse("PodSpec", ReasonResources, "dynamic resource allocation hands a node's devices to the Pod; an ECS task has none: remove it", "resourceClaims")
	add("PodSpec", checked, "ephemeral containers (kubectl debug) are not run: a task cannot gain a container; a warning says so", "ephemeralContainers")

	add("Affinity", descend, "", "nodeAffinity")
	add("Affinity", ignored, schedulerNote, "podAffinity", "podAntiAffinity")
	add("NodeAffinity", checked, "checked against the virtual node's labels (NodeLabels); refused when no term matches", "requiredDuringSchedulingIgnoredDuringExecution")
	add("NodeAffinity", ignored, schedulerNote, "preferredDuringSchedulingIgnoredDuringExecution")
}

func containerRules(add addFunc, refuse refuseFunc) {
	add("Container", translated, "containerDefinitions[].name", "name")
	add("Container", checked, "image; an empty image is refused", "image")
	add("Container", checked, "entryPoint and command, $(VAR) expanded; per-pod expansions in RunTask's command override; a Secret in them is refused", "command", "args")
	add("Container", translated, "workingDirectory", "workingDir")
	add("Container", descend, "", "ports", "env", "resources", "volumeMounts", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "securityContext")
	add("Container", translated, "StartPlan.Containers[].EnvFrom and StartPlan.Objects, resolved at start", "envFrom")
	add("Container", ignored, "in-place resize of a running task is not possible; the node answers a resize as infeasible, so how one would be applied does not matter", "resizePolicy")
	add("Container", checked, "Always on an init container: a sidecar (non-essential, dependsOn START, restartPolicy enabled); any other value, or on a regular container, is refused", "restartPolicy")
	refuse("Container", ReasonFieldNotSupported, "per-exit-code restart rules are an alpha feature ECS cannot express; remove them", "restartPolicyRules")
	refuse("Container", ReasonVolumeType, "raw block devices cannot be given to an ECS task; remove it", "volumeDevices")
	add("Container", translated, "NodePlan: the node reads the termination message from the file (or the log on error)", "terminationMessagePath", "terminationMessagePolicy")
	add("Container", ignored, "the data plane pulls as it must: Fargate pulls every time (Always), the local data plane uses its image store first (IfNotPresent, and Never for images loaded into it)", "imagePullPolicy")
	add("Container", translated, "interactive", "stdin")
	add("Container", translated, "NodePlan: stdin closes after the first attach", "stdinOnce")
	add("Container", translated, "pseudoTerminal", "tty")

	add("ContainerPort", translated, "portMappings[].name (prefixed with the container's name when two containers use it)", "name")
	add("ContainerPort", checked, "0 or equal to containerPort (awsvpc: hostPort = containerPort); anything else is refused", "hostPort")
	add("ContainerPort", translated, "portMappings[].containerPort and hostPort", "containerPort")
	add("ContainerPort", checked, "portMappings[].protocol tcp or udp; SCTP is refused", "protocol")
	refuse("ContainerPort", ReasonHostPort, "binds a port on a node's address; a task has no node: remove it", "hostIP")

	add("EnvVar", translated, "environment (template), RunTask overrides (per pod), or resolved at start", "name", "value")
	add("EnvVar", descend, "", "valueFrom")
	add("EnvVarSource", checked, "metadata.* and spec.*: RunTask overrides; status.podIP(s)/hostIP(s): at start", "fieldRef")
	add("EnvVarSource", translated, "computed from the template's resources and the task size: environment", "resourceFieldRef")
	add("EnvVarSource", translated, "resolved at start (StartPlan); Secret values never in the task definition or overrides", "configMapKeyRef", "secretKeyRef")
	refuse("EnvVarSource", ReasonFieldNotSupported, "env files (alpha) read a file another container wrote into an emptyDir; nodeless cannot do that before the container starts: use a configMapKeyRef or secretKeyRef", "fileKeyRef")

	add("ResourceRequirements", checked, "cpu (units, 1024 per vCPU), memory and memoryReservation (MiB), the task's Fargate size and ephemeralStorage; other resources (GPUs, hugepages, extended) are refused", "limits", "requests")
	refuse("ResourceRequirements", ReasonResources, "dynamic resource allocation hands a node's devices to a container; an ECS task has none: remove it", "claims")

	add("VolumeMount", translated, "mountPoints[].sourceVolume", "name")
	add("VolumeMount", translated, "mountPoints[].readOnly (always for configMap, secret, downwardAPI and projected volumes)", "readOnly")
	add("VolumeMount", checked, "Disabled or IfPossible (read-only as readOnly says); Enabled is refused", "recursiveReadOnly")
	add("VolumeMount", translated, "mountPoints[].containerPath", "mountPath")
	add("VolumeMount", checked, "of a configMap, secret, downwardAPI or projected volume: a task volume holding only that path (VolumeFiles.SubPath); of an emptyDir: refused", "subPath")
	add("VolumeMount", checked, "None; HostToContainer and Bidirectional (mounts shared with a host) are refused", "mountPropagation")
	refuse("VolumeMount", ReasonFieldNotSupported, "ECS mountPoints take no mount options (noexec, nodev, nosuid); remove them", "bindMountOptions")
	refuse("VolumeMount", ReasonFieldNotSupported, "a per-pod sub-path cannot be part of a task definition shared by the Pods of a template; use subPath or one volume per path", "subPathExpr")

	add("Probe", translated, "NodePlan: the node runs the probe, with the Kubernetes defaults", "initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold", "terminationGracePeriodSeconds")
	add("ProbeHandler", translated, "NodePlan: run in the container by the node", "exec")
	add("ProbeHandler", checked, "NodePlan: run by the node against the task's address; a named port the container does not declare is refused", "httpGet", "tcpSocket", "grpc")
	add("Lifecycle", descend, "", "postStart", "preStop")
	add("Lifecycle", checked, "SIGTERM (what ECS sends); any other signal is refused", "stopSignal")
	add("LifecycleHandler", translated, "NodePlan: run by the node (in the container)", "exec")
	add("LifecycleHandler", translated, "NodePlan: the node waits", "sleep")
	add("LifecycleHandler", checked, "NodePlan: run by the node against the task's address; a named port the container does not declare is refused", "httpGet")
	refuse("LifecycleHandler", ReasonFieldNotSupported, "Kubernetes does not run tcpSocket hooks either (the hook fails); use exec, httpGet or sleep", "tcpSocket")
}

func securityRules(add addFunc, refuse refuseFunc) {
	const seLinux = "SELinux labels are set by a node's runtime; ECS offers none: remove it"
	add("SecurityContext", checked, "linuxParameters.capabilities: drop as given; add only what Docker's default set holds (expressed as fewer drops) or SYS_PTRACE; others refused", "capabilities")
	add("SecurityContext", checked, "false: nothing to do; true is refused", "privileged")
	refuse("SecurityContext", ReasonFieldNotSupported, seLinux, "seLinuxOptions")
	add("SecurityContext", ignored, "Windows-only, and Linux containers ignore it, as the kubelet does on Linux", "windowsOptions")
	add("SecurityContext", translated, "user uid[:gid] (over the Pod's runAsUser)", "runAsUser")
	add("SecurityContext", checked, "user uid:gid; without a runAsUser (container or Pod) it is refused", "runAsGroup")
	add("SecurityContext", translated, "checked against runAsUser; without one, the node checks the image's user (NodePlan.RequireNonRoot)", "runAsNonRoot")
	add("SecurityContext", translated, "readonlyRootFilesystem", "readOnlyRootFilesystem")
	add("SecurityContext", ignored, "ECS cannot set no_new_privs on Fargate; the container still cannot gain what the task lacks (privileged and added capabilities are refused)", "allowPrivilegeEscalation")
	add("SecurityContext", checked, "Default; Unmasked is refused", "procMount")
	add("SecurityContext", checked, "RuntimeDefault (ECS's default profile); Unconfined and Localhost are refused", "seccompProfile", "appArmorProfile")

	refuse("PodSecurityContext", ReasonFieldNotSupported, seLinux, "seLinuxOptions")
	add("PodSecurityContext", ignored, "Windows-only, and Linux containers ignore it, as the kubelet does on Linux", "windowsOptions")
	add("PodSecurityContext", translated, "user of every container without its own", "runAsUser")
	add("PodSecurityContext", checked, "user uid:gid of every container without its own; without a runAsUser it is refused", "runAsGroup")
	add("PodSecurityContext", translated, "as the container's runAsNonRoot", "runAsNonRoot")
	refuse("PodSecurityContext", ReasonFieldNotSupported, "ECS sets a container's user and group, not supplementary groups: make the files readable by runAsGroup or fsGroup instead", "supplementalGroups")
	add("PodSecurityContext", checked, "Merge (what ECS does); Strict is refused", "supplementalGroupsPolicy")
	add("PodSecurityContext", translated, "VolumeFiles.FSGroup: group of the materialised files", "fsGroup")
	add("PodSecurityContext", ignored, "it says when a node re-owns existing volume contents; materialised files are always written owned by fsGroup", "fsGroupChangePolicy")
	add("PodSecurityContext", translated, "systemControls of every container; the local data plane refuses them, and the Pod waits naming this field (DataPlaneRefusal)", "sysctls")
	add("PodSecurityContext", checked, "as the container's: RuntimeDefault only", "seccompProfile", "appArmorProfile")
	add("PodSecurityContext", ignored, "only meaningful with SELinux labels, which are refused", "seLinuxChangePolicy")
}

func volumeRules(add addFunc, refuse refuseFunc) {
	add("Volume", translated, "volumes[].name (a task volume)", "name")
	add("VolumeSource", translated, "a task volume (medium Memory is task storage on Fargate; sizeLimit adds to ephemeralStorage)", "emptyDir")
	add("VolumeSource", translated, "a task volume filled at start (StartPlan.Volumes, StartPlan.Objects)", "configMap", "secret", "downwardAPI")
	add("VolumeSource", checked, "a task volume filled at start; configMap, secret, downwardAPI and serviceAccountToken sources; clusterTrustBundle and podCertificate are refused", "projected")
	refuse("VolumeSource", ReasonVolumeType, "a task has no host whose files it could mount; use an emptyDir, configMap or secret volume", "hostPath")
	refuse("VolumeSource", ReasonVolumeType, volumeNote,
		"gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "persistentVolumeClaim",
		"rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
		"photonPersistentDisk", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image")
}

// jsonName is a struct field's JSON name; "" for an inline (embedded) field.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if f.Anonymous {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// elemStruct is the struct type a field holds, through pointers and slices; nil if none.
func elemStruct(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

// checkRefusedFields walks spec and refuses every field whose rule is `refused` and whose value
// is set, naming it as Kubernetes does (spec.containers[0].volumeDevices).
func checkRefusedFields(spec *corev1.PodSpec, ps *problems) {
	walkRefused("spec", reflect.ValueOf(spec).Elem(), fieldRules(), ps)
}

func walkRefused(path string, v reflect.Value, rules map[string]fieldRule, ps *problems) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		name := jsonName(f)
		if name == "" { // inline: its fields are the parent's
			walkRefused(path, fv, rules, ps)
			continue
		}
		p := path + "." + name
		rule := rules[t.Name()+"."+name]
		switch rule.what {
		case refused:
			if !fv.IsZero() {
				ps.refuse(p, rule.reason, "%s", rule.note)
			}
		case descend:
			walkValue(p, fv, rules, ps)
		}
	}
}

// walkValue descends into a pointer, slice or struct value.
func walkValue(path string, v reflect.Value, rules map[string]fieldRule, ps *problems) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkValue(path, v.Elem(), rules, ps)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkValue(fmt.Sprintf("%s[%d]", path, i), v.Index(i), rules, ps)
		}
	case reflect.Struct:
		walkRefused(path, v, rules, ps)
	}
}
