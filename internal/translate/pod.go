package translate

import (
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
)

const (
	// defaultGracePeriod is Kubernetes' terminationGracePeriodSeconds when a Pod gives none.
	defaultGracePeriod = 30
	// minStopTimeout and maxStopTimeout bound ECS's stopTimeout on Fargate (seconds).
	minStopTimeout = 2
	maxStopTimeout = 120
	// maxContainers is the most container definitions an ECS task definition holds.
	maxContainers = 10
	// maxTaskDefinitionBytes is the largest task definition ECS registers ("Amazon ECS service
	// quotas": task definition size 64 KiB).
	maxTaskDefinitionBytes = 64 << 10
	// maxOverrides is the most characters RunTask's overrides may have, JSON included (RunTask
	// "overrides" in the ECS API reference).
	maxOverrides = 8192
	// restartAttemptPeriod is the shortest run (seconds) after which ECS restarts a container in
	// its task (ECS's minimum); quicker exits stop the task, and the node re-runs it with back-off.
	restartAttemptPeriod = 60
)

// Translate turns a Pod bound to the virtual node into what ECS runs: a content-addressed task
// definition, a RunTask request with the per-pod values, what is resolved at start and what the
// node does itself. It does no I/O and reads nothing but pod and opts.
//
// A Pod that asks for anything nodeless cannot honour is refused with a *RefusedError listing
// every such field (its path as Kubernetes prints it, a CamelCase reason, what to do). Other
// errors are bad Options.
func Translate(pod *corev1.Pod, opts Options) (*Translation, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("translating pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	t := &translator{pod: pod, opts: &o, ps: &problems{}, volumes: map[string]podVolume{}, ports: map[string]bool{}}
	t.run()
	t.checkSizes()
	if len(t.ps.refused) > 0 {
		return nil, &RefusedError{Pod: pod.Namespace + "/" + pod.Name, Problems: t.ps.refused}
	}
	hash, err := specHash(t.td)
	if err != nil {
		return nil, err
	}
	t.td.Tags = []ecstypes.Tag{{Key: aws.String(TagSpecHash), Value: aws.String(hash)}}
	return &Translation{
		Revision:       Revision{Family: aws.ToString(t.td.Family), Hash: hash},
		TaskDefinition: t.td,
		RunTask:        t.runTask(),
		Start:          t.start,
		Node:           t.node,
		Warnings:       t.ps.warnings,
	}, nil
}

// podVolume is what a Pod volume became: a task volume, filled at start (files, for configMap,
// secret, downwardAPI and projected volumes) or empty (emptyDir).
type podVolume struct {
	task  string
	files *VolumeFiles // nil for an emptyDir
}

type translator struct {
	pod  *corev1.Pod
	opts *Options
	ps   *problems
	size resourceSize

	td    *ecs.RegisterTaskDefinitionInput
	start StartPlan
	node  NodePlan
	// dns are the resolv.conf tags of the Pod's task (dnsTags).
	dns       []ecstypes.Tag
	overrides []ecstypes.ContainerOverride
	objects   objectRefs

	volumes     map[string]podVolume
	ports       map[string]bool // "port/protocol" already mapped
	portNames   map[string]int  // how many containers declare a port name
	stopTimeout int32
	sysctls     []ecstypes.SystemControl
	podChecked  map[string]bool // pod-level paths already refused through a container
}

func (t *translator) run() {
	spec := &t.pod.Spec
	checkPlacement(t.pod, t.opts, t.ps)
	checkRefusedFields(spec, t.ps)
	t.checkPod()
	size, err := taskSize(t.pod)
	if err != nil {
		t.ps.refuse("spec", ReasonResources, "%v", err)
	}
	t.size = size
	t.td = &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(FamilyName(t.opts.FamilyPrefix, t.pod.Namespace, familyOwner(t.pod, t.opts))),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		RuntimePlatform: &ecstypes.RuntimePlatform{
			OperatingSystemFamily: ecstypes.OSFamilyLinux,
			CpuArchitecture:       ecstypes.CPUArchitecture(cpuArchitectures[t.opts.Arch]),
		},
	}
	cpu, mem := size.strings()
	t.td.Cpu, t.td.Memory = aws.String(cpu), aws.String(mem)
	if size.ephemeralGiB > 0 {
		t.td.EphemeralStorage = &ecstypes.EphemeralStorage{SizeInGiB: int32(size.ephemeralGiB)}
	}
	if isTrue(spec.ShareProcessNamespace) {
		t.td.PidMode = ecstypes.PidModeTask
	}
	t.podLevel()
	t.dns = t.dnsTags()
	t.translateVolumes()
	t.translateContainers()
	t.start.Objects = t.objects.list()
	t.start.ImagePullSecrets = imagePullSecrets(spec)
	t.start.ServiceLinks = spec.EnableServiceLinks == nil || *spec.EnableServiceLinks
}

// checkSizes refuses a task definition or RunTask overrides larger than ECS takes.
func (t *translator) checkSizes() {
	if b, err := canonicalJSON(t.td); err == nil && len(b) > maxTaskDefinitionBytes {
		t.ps.refuse("spec", ReasonFieldNotSupported,
			"the task definition would be %d bytes and ECS registers at most %d; move large values (env, command) into a ConfigMap, which is resolved at start", len(b), maxTaskDefinitionBytes)
	}
	ov := &ecstypes.TaskOverride{ContainerOverrides: t.overrides}
	if b, err := canonicalJSON(ov); err == nil && len(b) > maxOverrides {
		t.ps.refuse("spec.containers", ReasonFieldNotSupported,
			"the per-pod environment and command (fieldRef values and what expands them) need %d characters of RunTask overrides and ECS takes at most %d; reference fewer or shorter Pod fields", len(b), maxOverrides)
	}
}

// checkPod refuses what no single field rule covers.
func (t *translator) checkPod() {
	spec := &t.pod.Spec
	if t.pod.UID == "" {
		t.ps.refuse("metadata.uid", ReasonInvalid, "the Pod has no UID; translate Pods as the API server returns them")
	}
	if spec.OS != nil && spec.OS.Name != corev1.Linux {
		t.ps.refuse("spec.os.name", ReasonValueNotSupported, "%s: ECS tasks on the virtual node run Linux; use linux or remove it", spec.OS.Name)
	}
	if spec.HostUsers != nil && !*spec.HostUsers {
		t.ps.refuse("spec.hostUsers", ReasonValueNotSupported, "false asks for a user namespace, which ECS cannot give a task; remove it")
	}
	if len(spec.EphemeralContainers) > 0 {
		t.ps.warn("spec.ephemeralContainers", ReasonEphemeralContainers,
			"an ECS task cannot gain a container after it started; %d ephemeral container(s) will not run (use kubectl exec instead)", len(spec.EphemeralContainers))
	}
	if n := len(spec.InitContainers) + len(spec.Containers); n > maxContainers {
		t.ps.refuse("spec.containers", ReasonFieldNotSupported, "%d containers (init containers included); an ECS task holds at most %d", n, maxContainers)
	}
	if rp := restartPolicy(spec); rp != corev1.RestartPolicyAlways && len(spec.Containers) > 1 {
		t.ps.refuse("spec.containers", ReasonMultipleContainers,
			"%d containers under restartPolicy %s: Kubernetes completes the Pod when all of them have, ECS stops the task when the first one exits; "+
				"make the helpers init containers with restartPolicy: Always (sidecars), or run them as separate Pods", len(spec.Containers), rp)
	}
	if spec.Resources != nil {
		checkResourceNames("spec.resources", spec.Resources, t.ps)
	}
	t.checkPodSecurity()
}

// podLevel translates the Pod-wide values every container shares.
func (t *translator) podLevel() {
	spec := &t.pod.Spec
	grace := int64(defaultGracePeriod)
	if spec.TerminationGracePeriodSeconds != nil {
		grace = *spec.TerminationGracePeriodSeconds
	}
	t.stopTimeout = int32(min(max(grace, minStopTimeout), maxStopTimeout))
	if int64(t.stopTimeout) != grace {
		t.ps.warn("spec.terminationGracePeriodSeconds", ReasonGracePeriodClamped,
			"%d seconds is outside the 2..120 ECS allows for stopTimeout; containers get SIGKILL %d seconds after SIGTERM", grace, t.stopTimeout)
	}
	if sc := spec.SecurityContext; sc != nil {
		for _, s := range sc.Sysctls {
			t.sysctls = append(t.sysctls, ecstypes.SystemControl{Namespace: aws.String(s.Name), Value: aws.String(s.Value)})
		}
	}
	t.node = NodePlan{
		RestartPolicy:                 restartPolicy(spec),
		ActiveDeadlineSeconds:         spec.ActiveDeadlineSeconds,
		TerminationGracePeriodSeconds: grace,
		Hostname:                      hostname(t.pod),
		Subdomain:                     spec.Subdomain,
		HostnameIsFQDN:                isTrue(spec.SetHostnameAsFQDN),
		HostAliases:                   spec.HostAliases,
		DNSPolicy:                     spec.DNSPolicy,
		DNSConfig:                     spec.DNSConfig,
	}
	if t.node.DNSPolicy == "" {
		t.node.DNSPolicy = corev1.DNSClusterFirst
	}
	for _, g := range spec.ReadinessGates {
		t.node.ReadinessGates = append(t.node.ReadinessGates, g.ConditionType)
	}
}

func restartPolicy(spec *corev1.PodSpec) corev1.RestartPolicy {
	if spec.RestartPolicy == "" {
		return corev1.RestartPolicyAlways
	}
	return spec.RestartPolicy
}

// hostname is the kubelet's: hostnameOverride, else spec.hostname, else the Pod's name, cut to
// 63 characters without a trailing '-' or '.'.
func hostname(pod *corev1.Pod) string {
	h := pod.Name
	switch {
	case pod.Spec.HostnameOverride != nil && *pod.Spec.HostnameOverride != "":
		h = *pod.Spec.HostnameOverride
	case pod.Spec.Hostname != "":
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = h[:63]
		for len(h) > 0 && (h[len(h)-1] == '-' || h[len(h)-1] == '.') {
			h = h[:len(h)-1]
		}
	}
	return h
}

func imagePullSecrets(spec *corev1.PodSpec) []string {
	var out []string
	for _, s := range spec.ImagePullSecrets {
		if s.Name != "" {
			out = append(out, s.Name)
		}
	}
	return out
}

// objectRefs collects the ConfigMaps and Secrets a task reads at start.
type objectRefs struct {
	refs []ObjectRef
	all  map[int]bool // index → every key is read
}

// add records a read of key ("" for every key) of a ConfigMap or Secret.
func (o *objectRefs) add(kind, name, key string, optional bool) {
	if o.all == nil {
		o.all = map[int]bool{}
	}
	for i := range o.refs {
		r := &o.refs[i]
		if r.Kind != kind || r.Name != name {
			continue
		}
		r.Optional = r.Optional && optional
		if key == "" {
			o.all[i] = true
		} else if !slices.Contains(r.Keys, key) {
			r.Keys = append(r.Keys, key)
		}
		return
	}
	r := ObjectRef{Kind: kind, Name: name, Optional: optional}
	if key == "" {
		o.all[len(o.refs)] = true
	} else {
		r.Keys = []string{key}
	}
	o.refs = append(o.refs, r)
}

func (o *objectRefs) list() []ObjectRef {
	out := slices.Clone(o.refs)
	for i := range out {
		if o.all[i] {
			out[i].Keys = nil
		}
		slices.Sort(out[i].Keys)
	}
	return out
}
