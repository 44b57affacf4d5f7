package translate

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	podresource "k8s.io/kubernetes/pkg/api/v1/resource"
)

// The Fargate task sizes, as ECS documents them ("Task CPU and memory" in the ECS developer
// guide) and as the local data plane checks them (internal/dataplane/api/taskdef_validate.go's
// fargateMemory) and the TaskDefinition CRD's CEL rule encodes them. Until those are one package
// this is a third copy; TestFargateSizesMatchTheDataPlane registers every size with the data
// plane, so the copies cannot drift apart unnoticed.
var fargateCPUs = [...]int{256, 512, 1024, 2048, 4096, 8192, 16384}

// fargateMemories returns the task memory values (MiB) Fargate accepts with cpu units.
func fargateMemories(cpu int) []int {
	steps := func(from, to, step int) []int {
		var out []int
		for v := from; v <= to; v += step {
			out = append(out, v)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return steps(1024, 4096, 1024)
	case 1024:
		return steps(2048, 8192, 1024)
	case 2048:
		return steps(4096, 16384, 1024)
	case 4096:
		return steps(8192, 30720, 1024)
	case 8192:
		return steps(16384, 61440, 4096)
	case 16384:
		return steps(32768, 122880, 8192)
	}
	return nil
}

// fargateSize returns the smallest Fargate size with at least cpu units and mem MiB: the
// smallest cpu that offers enough memory, then the smallest memory of it.
func fargateSize(cpu, mem int) (int, int, bool) {
	for _, c := range fargateCPUs {
		if c < cpu {
			continue
		}
		for _, m := range fargateMemories(c) {
			if m >= mem {
				return c, m, true
			}
		}
	}
	return 0, 0, false
}

const (
	// cpuUnitsPerCore: ECS counts 1024 units per vCPU.
	cpuUnitsPerCore = 1024
	mib             = 1 << 20
	gib             = 1 << 30
	// fargateFreeEphemeralGiB is the ephemeral storage every Fargate task has without asking;
	// ephemeralStorage.sizeInGiB can raise it to 21..200.
	fargateFreeEphemeralGiB = 20
	maxEphemeralGiB         = 200
	// minContainerMiB is the least memory or memoryReservation ECS accepts for a container.
	minContainerMiB = 6
)

// resourceSize is a task's size: cpu units, memory MiB, ephemeral storage GiB (0: Fargate's 20).
type resourceSize struct {
	cpu, memory, ephemeralGiB int
}

// cpuUnits converts a Kubernetes cpu quantity to ECS units, rounded up (100m → 103).
func cpuUnits(q resource.Quantity) int {
	m := q.MilliValue()
	return int((m*cpuUnitsPerCore + 999) / 1000)
}

// mebibytes converts a Kubernetes memory quantity to MiB, rounded up.
func mebibytes(q resource.Quantity) int {
	return int((q.Value() + mib - 1) / mib)
}

// podNeeds is what the Pod needs at most, by the Kubernetes rules for init containers, sidecars,
// pod-level resources and overhead (k8s.io/component-helpers/resource.PodRequests), counting
// each container at its limit where it has one and at its request otherwise: the task must hold
// every container at the limit Kubernetes lets it reach.
func podNeeds(pod *corev1.Pod) corev1.ResourceList {
	cp := pod.DeepCopy()
	raise := func(r *corev1.ResourceRequirements) {
		for name, lim := range r.Limits {
			if req, ok := r.Requests[name]; !ok || req.Cmp(lim) < 0 {
				if r.Requests == nil {
					r.Requests = corev1.ResourceList{}
				}
				r.Requests[name] = lim
			}
		}
	}
	for i := range cp.Spec.InitContainers {
		raise(&cp.Spec.InitContainers[i].Resources)
	}
	for i := range cp.Spec.Containers {
		raise(&cp.Spec.Containers[i].Resources)
	}
	if cp.Spec.Resources != nil {
		raise(cp.Spec.Resources)
	}
	return resourcehelper.PodRequests(cp, resourcehelper.PodResourcesOptions{})
}

// taskSize sizes the task: the smallest Fargate size that holds podNeeds, and ephemeral storage
// for the ephemeral-storage needs plus every emptyDir's sizeLimit (emptyDirs are task storage).
func taskSize(pod *corev1.Pod) (resourceSize, error) {
	needs := podNeeds(pod)
	cpu, mem := 0, 0
	if q, ok := needs[corev1.ResourceCPU]; ok {
		cpu = cpuUnits(q)
	}
	if q, ok := needs[corev1.ResourceMemory]; ok {
		mem = mebibytes(q)
	}
	// ECS also wants the containers' own cpu and memory to add up within the task's, which
	// Pod-level resources smaller than the containers' sum would not give.
	sumCPU, sumMem := containerSums(pod)
	cpu, mem = max(cpu, sumCPU), max(mem, sumMem)
	c, m, ok := fargateSize(cpu, mem)
	if !ok {
		return resourceSize{}, fmt.Errorf("the Pod needs %d cpu units and %d MiB (its limits, or requests where it has no limit); the largest Fargate task has 16384 units (16 vCPU) and 122880 MiB: lower them", cpu, mem)
	}
	eph := needs[corev1.ResourceEphemeralStorage]
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
			eph.Add(*v.EmptyDir.SizeLimit)
		}
	}
	size := resourceSize{cpu: c, memory: m}
	if g := int((eph.Value() + gib - 1) / gib); g > fargateFreeEphemeralGiB {
		if g > maxEphemeralGiB {
			return resourceSize{}, fmt.Errorf("the Pod needs %d GiB of ephemeral storage (ephemeral-storage limits or requests and emptyDir sizeLimits); a Fargate task has at most %d GiB: lower them", g, maxEphemeralGiB)
		}
		size.ephemeralGiB = g
	}
	return size, nil
}

// containerSums adds up the cpu units and memory (MiB) ECS counts for the containers that run
// together (regular containers and sidecars), as containerResources sets them.
func containerSums(pod *corev1.Pod) (cpu, mem int) {
	add := func(c *corev1.Container) {
		c32, m, r := containerResources("", &c.Resources, &problems{})
		cpu += int(c32)
		switch {
		case m != nil:
			mem += int(*m)
		case r != nil:
			mem += int(*r)
		}
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	return cpu, mem
}

// allocatable is what the task offers, as the kubelet's node allocatable for the downward API:
// a resourceFieldRef to a limit the container does not set reads this.
func (s resourceSize) allocatable() corev1.ResourceList {
	eph := s.ephemeralGiB
	if eph == 0 {
		eph = fargateFreeEphemeralGiB
	}
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewMilliQuantity(int64(s.cpu)*1000/cpuUnitsPerCore, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(int64(s.memory)*mib, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(int64(eph)*gib, resource.BinarySI),
	}
}

// resourceFieldValue is the kubelet's value of a resourceFieldRef of container c: limits it does
// not set read the task's size (or the Pod-level limit), as they read node allocatable on a node.
func resourceFieldValue(pod *corev1.Pod, c *corev1.Container, fs *corev1.ResourceFieldSelector, size resourceSize) (string, error) {
	alloc := size.allocatable()
	if pod.Spec.Resources != nil {
		for name, q := range pod.Spec.Resources.Limits {
			if _, ok := alloc[name]; ok && !q.IsZero() {
				alloc[name] = q
			}
		}
	}
	name := fs.ContainerName
	if name == "" {
		name = c.Name
	}
	v, err := podresource.ExtractResourceValueByContainerNameAndNodeAllocatable(fs, pod, name, alloc)
	if err != nil {
		return "", fmt.Errorf("resourceFieldRef %s of container %s: %w", fs.Resource, name, err)
	}
	return v, nil
}

// checkResourceNames refuses resources a task cannot have: anything but cpu, memory and
// ephemeral-storage (GPUs and other extended resources, hugepages), and resource claims.
func checkResourceNames(path string, r *corev1.ResourceRequirements, ps *problems) {
	for _, list := range []struct {
		name string
		l    corev1.ResourceList
	}{{"limits", r.Limits}, {"requests", r.Requests}} {
		for name := range list.l {
			switch name {
			case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
				continue
			}
			ps.refuse(fmt.Sprintf("%s.%s[%s]", path, list.name, name), ReasonResources,
				"%s cannot be given to an ECS task on Fargate (cpu, memory and ephemeral-storage can); remove it or keep the Pod off the virtual node", name)
		}
	}
}

// containerResources sets cpu (request, else limit, in units), memory (limit, MiB) and
// memoryReservation (request, MiB) of a container that runs alongside the others (a regular
// container or a sidecar). Init containers get none: they run before the others, and the task
// (sized for the largest of them) bounds them.
func containerResources(path string, r *corev1.ResourceRequirements, ps *problems) (cpu int32, memory, reservation *int32) {
	if q, ok := r.Requests[corev1.ResourceCPU]; ok {
		cpu = int32(cpuUnits(q))
	} else if q, ok := r.Limits[corev1.ResourceCPU]; ok {
		cpu = int32(cpuUnits(q))
	}
	mem := func(field string, l corev1.ResourceList) *int32 {
		q, ok := l[corev1.ResourceMemory]
		if !ok || q.IsZero() {
			return nil
		}
		v := mebibytes(q)
		if v < minContainerMiB {
			ps.warn(path+"."+field+".memory", ReasonMemoryRaised,
				"%s is below the %d MiB ECS accepts for a container; the container gets %d MiB", q.String(), minContainerMiB, minContainerMiB)
			v = minContainerMiB
		}
		n := int32(v)
		return &n
	}
	return cpu, mem("limits", r.Limits), mem("requests", r.Requests)
}

// strings renders a task size as RegisterTaskDefinition takes it: cpu units and MiB.
func (s resourceSize) strings() (cpu, memory string) {
	return strconv.Itoa(s.cpu), strconv.Itoa(s.memory)
}
